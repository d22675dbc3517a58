"""Issue 26, item 3: ``summary.json`` has one reader, ``loadtests.outcome.read_summary``, and every module that
reads the file goes through it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from talon_harness.loadtests.outcome import SUMMARY_FILE, read_summary

ROOT = Path(__file__).resolve().parents[2]


def test_read_summary_returns_the_document(tmp_path: Path) -> None:
    doc = {"passed": True, "duration_s": 3.0, "replay": {"sent": 2}}
    (tmp_path / SUMMARY_FILE).write_text(json.dumps(doc), encoding="utf-8")
    assert read_summary(tmp_path) == doc


def test_a_document_that_is_not_an_object_is_a_value_error(tmp_path: Path) -> None:
    (tmp_path / SUMMARY_FILE).write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"summary\.json is not a JSON object$"):
        read_summary(tmp_path)


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        read_summary(tmp_path)


#: A direct read of the file: ``(dir / SUMMARY_FILE).read_text``, ``(dir / "summary.json").read_text``,
#: ``summary_path.read_text``.
_DIRECT_READ = re.compile(r'(/ (SUMMARY_FILE|"summary\.json")\)|summary_path)\.read_(text|bytes)\(')


def test_no_other_module_reads_summary_json() -> None:
    readers = [path.name for folder in ("harness", "loadtests") for path in sorted((ROOT / folder).glob("*.py"))
               if path.name != "outcome.py" and _DIRECT_READ.search(path.read_text(encoding="utf-8"))]
    assert readers == []
