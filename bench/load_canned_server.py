"""A minimal keep-alive HTTP/1.1 server answering every request with one canned 200 JSON body, so the load
generator, not the server, is the bottleneck in bench/load_efficiency.py.

    python bench/load_canned_server.py PORT BODY_FILE
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


class _Canned(asyncio.Protocol):
    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            i = head.find(b"content-length:")
            length = int(head[i + 15 :].split(b"\r\n", 1)[0]) if i >= 0 else 0
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length :]
            self.transport.write(self.response)  # type: ignore[attr-defined]


async def main(port: int, body: bytes) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    server = await asyncio.get_running_loop().create_server(lambda: _Canned(response), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2]).read_bytes()))
