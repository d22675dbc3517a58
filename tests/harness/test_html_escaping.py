"""The report pages are Jinja2 templates with autoescaping: text from the target or the run never becomes markup."""

from __future__ import annotations

from pathlib import Path

from talon_harness.harness.check_config import CheckResult
from talon_harness.harness.html_report import write_check_report


def test_a_message_and_target_with_markup_are_escaped_text(tmp_path: Path) -> None:
    result = CheckResult(2, 7, 0.5, None, tmp_path, "target said <script>alert('x')</script> & left")
    page = write_check_report(result, base_url="http://127.0.0.1:9/'><b>").read_text(encoding="utf-8")
    assert ("<p class='fail verdict'>target said &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; left</p>"
            in page)
    assert "target http://127.0.0.1:9/&#x27;&gt;&lt;b&gt; &middot; seed 7" in page
    assert "<script>" not in page and "<b>" not in page
    assert "<span class='verdict fail' id='verdict'>ERROR</span>" in page
