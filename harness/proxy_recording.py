"""The proxy's recording: exchanges appended as NDJSON lines (format: ``loadtests.replay``), bounded in lines
and bytes; once a bound is reached recording stops and proxying goes on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

__all__ = ["Recording"]


class Recording:
    """Appends recording lines to ``path`` until ``max_exchanges`` lines or ``max_bytes`` bytes."""

    def __init__(self, path: Path, *, max_exchanges: int, max_bytes: int) -> None:
        self.path, self.max_exchanges, self.max_bytes = path, max_exchanges, max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] | None = path.open("wb")
        self.exchanges = 0
        self.bytes = 0
        self.stopped: str | None = None  # why recording stopped early

    def write(self, record: dict[str, Any]) -> str | None:
        """Append one line; returns the reason when this call stopped the recording, else None."""
        if self._fh is None:
            return None
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        if self.bytes + len(line) > self.max_bytes:
            return self._stop(f"--max-bytes {self.max_bytes} reached after {self.exchanges} exchanges")
        self._fh.write(line)
        self._fh.flush()
        self.exchanges += 1
        self.bytes += len(line)
        if self.exchanges >= self.max_exchanges:
            return self._stop(f"--max-exchanges {self.max_exchanges} reached")
        return None

    def _stop(self, reason: str) -> str:
        self.stopped = reason
        self.close()
        return reason

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
