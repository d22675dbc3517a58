"""`python -m talon_harness.refserver`: the process entry `ServerProcess` starts (people use `talon-harness
serve`, which reads the CLI's TALON_API_KEY / TALON_HMAC).

This hop takes keys from REFSERVER_API_KEY / REFSERVER_HMAC_KEY (set by `ServerProcess`, never on the
command line), so a TALON_* variable in a user's shell never changes an embedded server. A bad argument
is one line ``Error: ...`` and exit 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print("Error: " + " ".join(message.split()), file=sys.stderr)
        sys.exit(2)

from .config import API_REVISIONS, RuleSet, ServerConfig
from .server import serve


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m talon_harness.refserver", description="Talon.One v1 reference server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (see --port-file)")
    p.add_argument("--db", default=None, help="SQLite file (default: fresh temporary file)")
    p.add_argument(
        "--api-key",
        default=os.environ.get("REFSERVER_API_KEY"),
        help="accept 'Authorization: ApiKey-v1 <key>' (env REFSERVER_API_KEY: keeps it off the command line)",
    )
    p.add_argument(
        "--hmac-key",
        default=os.environ.get("REFSERVER_HMAC_KEY"),
        help="16 hex digits: accept the v1 Content-Signature (env REFSERVER_HMAC_KEY)",
    )
    p.add_argument("--application-id", type=int, default=1)
    p.add_argument("--account-id", type=int, default=1)
    p.add_argument(
        "--api", choices=API_REVISIONS, default="v1-2021", help="v1 revision to speak (D16; default: v1-2021)"
    )
    p.add_argument("--rules", default=None, metavar="FILE", help="JSON rule set (default: built-in)")
    p.add_argument(
        "--fault", action="append", default=[], metavar="NAME", help="fault to inject (repeatable)"
    )
    p.add_argument(
        "--port-file", default=None, metavar="PATH", help="write the bound port here once listening"
    )
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = ServerConfig(
            application_id=args.application_id,
            account_id=args.account_id,
            api_key=args.api_key,
            hmac_key=args.hmac_key,
            rules=RuleSet.from_file(args.rules) if args.rules else RuleSet.default(),
            faults=frozenset(args.fault),
            api=args.api,
        )
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    stopped_by = serve(
        host=args.host,
        port=args.port,
        db=args.db,
        config=config,
        port_file=args.port_file,
        log=not args.quiet,
    )
    sys.exit(130 if stopped_by == signal.SIGINT else 0)  # Ctrl-C is an interruption; SIGTERM a normal stop


if __name__ == "__main__":
    main()
