"""The wrong-target preflight over real HTTP: an HTML web app is not a v1 server (exit 2 in check and load);
a v1 document under a wrong content type is a contract failure for the check, not a wrong target."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from talon_harness.harness.preflight import wrong_target


@contextmanager
def _answering(body: bytes, content_type: str) -> Iterator[str]:
    """A loopback server that answers every PUT with 200, ``body`` and ``content_type``."""

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_html_page_is_not_a_v1_server() -> None:
    with _answering(b"<html><body>shop</body></html>", "text/html; charset=utf-8") as url:
        assert wrong_target(url) == (f"target {url} is not a Talon.One Integration API v1 server: no answer is "
                                     "JSON (profiles 200 text/html, sessions 200 text/html)")


def test_a_json_document_under_a_wrong_content_type_is_left_to_the_check() -> None:
    with _answering(b'{"profile": null, "session": null, "event": null}', "text/plain") as url:
        assert wrong_target(url) is None
