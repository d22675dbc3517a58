from talon_harness.harness.cli import main

main()
