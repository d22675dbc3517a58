"""A tiny HTTP/1.1 client on raw sockets, for requests no well-behaved client library will send.

httpx normalises dot segments, refuses control characters and always frames bodies correctly; the
bad-input catalogue needs the request line, headers and body bytes exactly as written. Guarantees:
every call is bounded by ``timeout`` seconds (connect, each send and each read); a connection is reused
(keep-alive) until the server says ``Connection: close`` or an error occurs, then reopened. A request
that times out raises ``Hang``; a connection the server drops before answering raises ``Dropped``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

__all__ = ["Dropped", "Hang", "RawClient", "RawResponse"]


class Hang(Exception):
    """No complete response within the per-request timeout."""


class Dropped(Exception):
    """The server closed the connection without a complete response."""


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes
    seconds: float


class RawClient:
    """Keep-alive raw HTTP/1.1 client for one host:port (see module docstring)."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buffer = b""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buffer = b""
        return self._sock

    def request(
        self,
        method: str,
        path: bytes | str,
        *,
        headers: Iterable[tuple[str, str | bytes]] = (),
        body: bytes = b"",
        chunks: list[bytes] | None = None,
        pause: float = 0.0,
        content_length: int | None = None,
    ) -> RawResponse:
        """Send one request and read its response.

        ``chunks`` sends the body with ``Transfer-Encoding: chunked``, one chunk per item (for broken
        framing use ``send_raw``). ``pause`` sleeps between body pieces (a slow client).
        ``content_length`` overrides the declared length.
        """
        raw_path = path.encode("latin-1") if isinstance(path, str) else path
        lines = [method.encode("latin-1") + b" " + raw_path + b" HTTP/1.1", f"Host: {self.host}".encode()]
        for name, value in headers:
            lines.append(name.encode("latin-1") + b": " + (value if isinstance(value, bytes) else value.encode()))
        pieces: list[bytes]
        if chunks is not None:
            lines.append(b"Transfer-Encoding: chunked")
            pieces = [b"%x\r\n%s\r\n" % (len(c), c) for c in chunks] + [b"0\r\n\r\n"]
        else:
            length = len(body) if content_length is None else content_length
            if body or content_length is not None or method in ("PUT", "POST", "PATCH"):
                lines.append(b"Content-Length: " + str(length).encode())
            pieces = [body] if body else []
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        return self.send_raw(head, pieces, pause=pause, head_only=method == "HEAD")

    def send_raw(
        self, head: bytes, pieces: list[bytes], *, pause: float = 0.0, head_only: bool = False
    ) -> RawResponse:
        """Write ``head`` then each piece (sleeping ``pause`` between them); read one response."""
        started = time.monotonic()
        sock = self._connect()
        try:
            sock.sendall(head)
            for piece in pieces:
                if pause:
                    time.sleep(pause)
                sock.sendall(piece)
        except TimeoutError:
            self.close()
            raise Hang(f"send timed out after {self.timeout} s") from None
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may have answered early (413) and closed: read what it said
        try:
            response = self._read_response(started, head_only)
        except TimeoutError:
            self.close()
            raise Hang(f"no response within {self.timeout} s") from None
        except (ConnectionResetError, BrokenPipeError) as exc:
            self.close()
            raise Dropped(str(exc)) from None
        if response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    def _recv(self) -> bytes:
        assert self._sock is not None
        data = self._sock.recv(65536)
        if not data:
            raise Dropped("connection closed by the server")
        return data

    def _read_response(self, started: float, head_only: bool) -> RawResponse:
        while b"\r\n\r\n" not in self._buffer:
            try:
                self._buffer += self._recv()
            except Dropped:
                self.close()
                raise
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(rest) < length:
            try:
                rest += self._recv()
            except Dropped:
                self.close()
                raise
        self._buffer = rest[length:]
        return RawResponse(status, headers, rest[:length], time.monotonic() - started)
