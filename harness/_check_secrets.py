"""Secrets out of everything a check leaves behind: report files scrubbed, curl lines with the API key left to
``$TALON_API_KEY`` and the HMAC signature recomputed."""

from __future__ import annotations

import shlex
from pathlib import Path

from talon_harness.strategies.wire import Credentials, auth_headers, redact


def scrub(directory: Path, creds: Credentials | None) -> None:
    """Remove every secret from every report file (binary-safe)."""
    if creds is None or not creds.secrets():
        return
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in sorted(creds.secrets(), key=len, reverse=True):
                data = data.replace(secret.encode(), b"[REDACTED]")
            path.write_bytes(data)


def curl_for(method: str, url: str, headers: dict[str, str], body: bytes | None, creds: Credentials | None) -> str:
    """A ready-to-run curl line; the API key is left to ``$TALON_API_KEY``, the HMAC signature recomputed."""
    parts = ["curl", "-sS", "-X", method]
    shown = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "content-signature",
                                                                  "content-length", "user-agent", "accept",
                                                                  "accept-encoding", "connection")}
    signed = auth_headers(creds, body or b"") if creds else {}
    for name, value in shown.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if creds is not None and creds.api_key:
        parts += ["-H", '"Authorization: ApiKey-v1 $TALON_API_KEY"']
    if "Content-Signature" in signed:
        parts += ["-H", shlex.quote(f"Content-Signature: {signed['Content-Signature']}")]
    if body:
        parts += ["--data-binary", _shell_bytes(body)]
    parts.append(shlex.quote(url))
    return redact(" ".join(parts), creds)


def _shell_bytes(data: bytes) -> str:
    """Shell-quote bytes exactly: plain quoting for printable UTF-8, bash ``$'...'`` escapes otherwise."""
    try:
        text = data.decode("utf-8")
        if text.isprintable():
            return shlex.quote(text)
    except UnicodeDecodeError:
        pass
    escaped = "".join(chr(b) if 32 <= b < 127 and b not in (39, 92) else f"\\x{b:02x}" for b in data)
    return f"$'{escaped}'"
