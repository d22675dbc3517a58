"""The bad-input catalogue: seeded, deterministic hostile requests, each with the answer it must get.

``catalogue(n, seed=..., auth=...)`` returns ``n`` ``Hostile`` requests spread over the kinds in
``KINDS`` (malformed/truncated JSON, invalid UTF-8, BOMs, duplicate keys, deep nesting, 1 MiB+1 bodies,
huge numbers, wrong content types, chunked and slow bodies, ids with control characters, encoded
slashes, dot segments, overlong ids, methods other than PUT, missing/bad credentials, schema and state
machine violations). Every request is one the server MUST reject: ``status`` is the exact status and
``source`` the exact ``errors[0].source`` of the ErrorResponse naming the problem. The few requests
broken at the HTTP framing level (``kind == "bad_framing"``) are answered by uvicorn before the app: for
them ``source is None`` and ``plain`` is uvicorn's exact answer (400, ``text/plain``, ``FRAMING_BODY``).

The requests assume the server was seeded with ``SEED_REQUESTS`` (sent with valid credentials first).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from talon_harness.strategies.wire import Credentials, auth_headers, encode_body

__all__ = ["FRAMING_BODY", "KINDS", "SEED_REQUESTS", "Hostile", "catalogue"]

SESSIONS = b"/v1/customer_sessions/"
PROFILES = b"/v1/customer_profiles/"
LIMIT = 1024 * 1024
_JSON = ("Content-Type", "application/json")
#: uvicorn's body for a request it cannot parse (400, text/plain; charset=utf-8), sent before the app runs.
FRAMING_BODY = b"Invalid HTTP request received."

#: Sent (valid credentials, in order) before the catalogue, so that state-machine cases have targets.
SEED_REQUESTS: tuple[tuple[bytes, dict[str, Any]], ...] = (
    (PROFILES + b"P-seed", {"attributes": {"tier": "gold"}}),
    (SESSIONS + b"S-open", {"profileId": "P-seed", "total": 5, "cartItems": []}),
    (SESSIONS + b"S-closed", {"profileId": "P-seed", "total": 10, "state": "closed", "coupon": "SUMMER10"}),
    (SESSIONS + b"S-cancelled", {"profileId": "P-seed", "total": 3}),
    (SESSIONS + b"S-cancelled", {"state": "cancelled"}),
    (SESSIONS + b"S-big", {"profileId": "P-big", "total": 1.7e308, "state": "closed"}),
)


@dataclass(frozen=True)
class Hostile:
    """One hostile request and the rejection it must get (see module docstring)."""

    kind: str
    method: str
    path: bytes
    headers: tuple[tuple[str, str | bytes], ...]
    body: bytes = b""
    status: int = 400
    source: dict[str, str] | None = field(default_factory=lambda: {"pointer": ""})  # None: not an ErrorResponse
    plain: bytes | None = None  # the exact text/plain body when there is no ErrorResponse (bad framing)
    chunks: tuple[bytes, ...] | None = None
    pause: float = 0.0
    content_length: int | None = None
    raw_head: bytes | None = None  # the whole request head, verbatim (bad framing)
    close_after: bool = False  # the connection cannot be reused afterwards

    def describe(self) -> str:
        body = self.body[:80] + (b"..." if len(self.body) > 80 else b"")
        return f"[{self.kind}] {self.method} {self.path[:100]!r} body={body!r} ({len(self.body)} bytes)"


class _Gen:
    """Draws hostile requests of each kind from one seeded Random."""

    def __init__(self, rng: random.Random, creds: Credentials) -> None:
        self.rng = rng
        self.creds = creds

    # -- building blocks ---------------------------------------------------------------------------
    def auth(self, body: bytes) -> tuple[tuple[str, str], ...]:
        return tuple(auth_headers(Credentials(api_key=self.creds.api_key), body).items())

    def put(self, kind: str, path: bytes, body: bytes, *, headers: tuple = (_JSON,), **kw: Any) -> Hostile:
        return Hostile(kind, "PUT", path, headers + self.auth(body), body, **kw)

    def fresh_id(self) -> bytes:
        return b"h-%d" % self.rng.randrange(10**12)

    def target(self) -> tuple[bytes, str]:
        """(path, operation) of a fresh or seeded entity."""
        if self.rng.random() < 0.5:
            seeded = self.rng.choice((b"S-open", b"S-closed", b"S-cancelled", b"S-big"))
            return SESSIONS + (seeded if self.rng.random() < 0.5 else self.fresh_id()), "session"
        return PROFILES + (b"P-seed" if self.rng.random() < 0.5 else self.fresh_id()), "profile"

    def item(self, i: int) -> dict[str, Any]:
        r = self.rng
        return {"name": r.choice(("Widget", "Gadget", "ü")), "sku": f"sku-{i}", "quantity": r.randint(1, 5),
                "price": round(r.uniform(0, 100), 2)}

    def attr_value(self) -> Any:
        return self.rng.choice((1, "x", [1, 2], {"a": None}, 2.5, True, None, "日本"))

    def valid_body(self, op: str) -> dict[str, Any]:
        r = self.rng
        if op == "profile":
            return {"attributes": {f"k{i}": self.attr_value() for i in range(r.randint(1, 4))}}
        return {"profileId": f"p-{r.randrange(1000)}", "coupon": r.choice(("SUMMER10", "", "ZZZ")),
                "cartItems": [self.item(i) for i in range(r.randint(1, 3))], "total": r.randint(0, 500),
                "attributes": {"k": self.attr_value()}}

    def valid(self) -> tuple[bytes, bytes]:
        path, op = self.target()
        return path, encode_body(self.valid_body(op))

    # -- kinds -------------------------------------------------------------------------------------
    def malformed_json(self) -> Hostile:
        tokens = ("{", "}", "[", "]", ":", ",", '"a"', "1", "true", "null", '"', "'x'", "01", "-", "1.", ".5",
                  "nul", "\\", '"\\x"', "//", "\t", '"\n"')
        while True:
            text = "".join(self.rng.choice(tokens) for _ in range(self.rng.randint(1, 12)))
            try:
                json.loads(text)
            except ValueError:
                break
        path, _ = self.target()
        return self.put("malformed_json", path, text.encode())

    def truncated_json(self) -> Hostile:
        path, body = self.valid()
        return self.put("truncated_json", path, body[: self.rng.randint(1, len(body) - 1)])

    def invalid_utf8(self) -> Hostile:
        path, body = self.valid()
        quotes = [i for i, b in enumerate(body) if b == ord('"')]
        at = self.rng.choice(quotes[1:])  # inside or right after a string: a lone byte >= 0x80 before '"'
        bad = bytes([self.rng.randrange(0x80, 0x100)])
        return self.put("invalid_utf8", path, body[:at] + bad + body[at:])

    def bom(self) -> Hostile:
        path, body = self.valid()
        return self.put("bom", path, b"\xef\xbb\xbf" + body)

    def duplicate_key(self) -> Hostile:
        r = self.rng
        where = r.choice(("top", "item", "attr", "profile"))
        if where == "profile":
            body = b'{"attributes":{"a":{"b":1,"c":2,"b":3}}}'
            return self.put("duplicate_key", PROFILES + self.fresh_id(), body, source={"pointer": "/attributes/a/b"})
        if where == "top":
            key = r.choice(("state", "coupon", "total", "profileId", "cartItems", "attributes"))
            value = {"state": b'"open"', "coupon": b'"A"', "total": b"1", "profileId": b'"p"', "cartItems": b"[]",
                     "attributes": b"{}"}[key]
            member = b'"' + key.encode() + b'":' + value
            body = b"{" + member + b',"referral":"r",' + member + b"}"
            pointer = "/" + key
        elif where == "item":
            key = r.choice(("name", "sku", "quantity", "price"))
            body = (b'{"cartItems":[{"name":"a","sku":"b","quantity":1,"price":1},'
                    b'{"name":"a","sku":"b","quantity":1,"price":1,"' + key.encode() + b'":"x"}]}')
            pointer = "/cartItems/1/" + key
        else:
            body = b'{"attributes":{"x/y":1,"k":[{"m":1,"m":2}],"x/y":2}}'
            pointer = "/attributes/x~1y"  # the first member (document order) that was repeated
        return self.put("duplicate_key", SESSIONS + self.fresh_id(), body, source={"pointer": pointer})

    def deep_nesting(self) -> Hostile:
        r = self.rng
        if r.random() < 0.5:  # too deep to parse at all
            n = r.randint(5_000, 100_000)
            open_, close = r.choice(((b"[", b"]"), (b'{"a":', b"}")))
            body = b'{"attributes":{"k":' + open_ * n + b"1" + close * n + b"}}"
            path, _ = self.target()
            return self.put("deep_nesting", path, body)
        depth = r.randint(11, 300)  # parses, but an attribute value deeper than 10
        value: Any = 1
        for _ in range(depth):
            value = [value] if r.random() < 0.5 else {"d": value}
        if r.random() < 0.5:
            return self.put("deep_nesting", PROFILES + self.fresh_id(), encode_body({"attributes": {"k": value}}),
                            source={"pointer": "/attributes/k"})
        item = {**self.item(0), "attributes": {"k": value}}
        return self.put("deep_nesting", SESSIONS + self.fresh_id(), encode_body({"cartItems": [item]}),
                        source={"pointer": "/cartItems/0/attributes/k"})

    def too_large(self) -> Hostile:
        r = self.rng
        path, _op = self.target()
        style = r.choice(("body", "chunked", "declared", "absurd"))
        pad = b'{"attributes":{"k":"' + b"x" * (LIMIT + 1 - 23) + b'"}}'
        assert len(pad) == LIMIT + 1
        if style == "body":
            return self.put("too_large", path, pad, status=413, close_after=True)
        if style == "chunked":
            pieces = tuple(pad[i : i + 65536] for i in range(0, len(pad), 65536))
            return Hostile("too_large", "PUT", path, (_JSON, *self.auth(b"")), status=413, chunks=pieces,
                           close_after=True)
        declared = LIMIT + 1 if style == "declared" else r.choice((10**12, 10**18 - 1, 2**63 - 1))
        return Hostile("too_large", "PUT", path, (_JSON, *self.auth(b"")), status=413, content_length=declared,
                       close_after=True)

    def huge_number(self) -> Hostile:
        r = self.rng
        literal = r.choice((b"1e400", b"-1e400", b"1E999", b"1" + b"0" * 400 + b".0", b"9" * 5000,
                            b"-" + b"9" * 4301, b"2e308"))
        where = r.choice(("total", "quantity", "attr"))
        if where == "total":
            body, path = b'{"total":' + literal + b"}", SESSIONS + self.fresh_id()
        elif where == "quantity":
            body = b'{"cartItems":[{"name":"a","sku":"b","price":1,"quantity":' + literal + b"}]}"
            path = SESSIONS + self.fresh_id()
        else:
            body, path = b'{"attributes":{"n":' + literal + b"}}", PROFILES + self.fresh_id()
        return self.put("huge_number", path, body)

    def sales_overflow(self) -> Hostile:
        body = encode_body({"profileId": "P-big", "state": "closed", "total": self.rng.uniform(1e308, 1.7e308)})
        return self.put("sales_overflow", SESSIONS + self.fresh_id(), body, source={"pointer": "/total"})

    def wrong_content_type(self) -> Hostile:
        r = self.rng
        path, body = self.valid()
        choice = r.choice((None, "text/plain", "application/xml", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x", "text/json", "application/jsonx", "json", "",
                           "application/+json", "application/json-seq", "*/*", "application/*",
                           "text/html; charset=utf-8", "application/javascript", "application/jsonp"))
        headers = () if choice is None else (("Content-Type", choice),)
        return self.put("wrong_content_type", path, body, headers=headers, status=415,
                        source={"parameter": "Content-Type"})

    def chunked(self) -> Hostile:
        r = self.rng
        bad = self.malformed_json() if r.random() < 0.7 else self.truncated_json()
        body = bad.body
        cuts = sorted({r.randint(1, max(1, len(body) - 1)) for _ in range(r.randint(0, 4))})
        pieces = tuple(body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)]) if body[a:b])
        return Hostile("chunked", "PUT", bad.path, (_JSON, *self.auth(b"")), chunks=pieces)

    def slow_body(self) -> Hostile:
        bad = self.truncated_json()
        body = bad.body
        pieces = tuple(body[i : i + max(1, len(body) // 4)] for i in range(0, len(body), max(1, len(body) // 4)))
        return Hostile("slow_body", "PUT", bad.path, (_JSON, *self.auth(b"")), chunks=pieces, pause=0.05)

    def _bad_id(self, kind: str, segment: bytes, op: str | None = None) -> Hostile:
        op = op or self.rng.choice(("session", "profile"))
        prefix, param = (SESSIONS, "customerSessionId") if op == "session" else (PROFILES, "integrationId")
        path, body = prefix + segment, encode_body(self.valid_body(op))
        return self.put(kind, path, body, source={"parameter": param})

    def control_char_id(self) -> Hostile:
        r = self.rng
        code = r.choice((*range(0x20), 0x7F, *range(0x80, 0xA0)))
        escaped = "".join(f"%{b:02X}" for b in chr(code).encode())
        base = self.fresh_id().decode()
        at = r.randint(0, len(base))
        return self._bad_id("control_char_id", (base[:at] + escaped + base[at:]).encode())

    def undecodable_id(self) -> Hostile:
        seg = self.rng.choice((b"%FF", b"abc%C3", b"%E2%82", b"%ED%A0%80", b"%C0%AF", b"%F8%88%80%80%80",
                               b"a%80", b"%F4%90%80%80", b"x%C3%28"))
        return self._bad_id("undecodable_id", seg)

    def overlong_id(self) -> Hostile:
        r = self.rng
        char = r.choice(("a", "é", "日", "😀"))
        escaped = "".join(f"%{b:02X}" for b in char.encode())
        n = r.randint(1001, 1800)
        return self._bad_id("overlong_id", (escaped * n).encode() if char != "a" else b"a" * n)

    def empty_id(self) -> Hostile:
        return self._bad_id("empty_id", b"")

    def bad_path(self) -> Hostile:
        """Encoded slashes, dot segments, extra or missing segments, wrong case: all 404."""
        r = self.rng
        i = self.fresh_id()
        path = r.choice((
            b"/v1/customer_sessions%2F" + i, b"/v1%2Fcustomer_sessions/" + i, b"/v1/customer_sessions/" + i + b"/x",
            b"//v1/customer_sessions/" + i, b"/v1/customer_sessions/" + i + b"/", b"/v1/customer_sessions",
            b"/v1/", b"/", b"/v3/customer_sessions/" + i, b"/V1/customer_sessions/" + i,  # /v2/ is served
            b"/v1/Customer_Sessions/" + i, b"/v1/customer_sessions%2f/" + i, b"/v1/customer_profiles%2F" + i,
            b"/v1/customer_sessions/../customer_profiles/" + i, b"/v1/./customer_sessions/" + i,
            b"/v1/customer_sessions/./" + i, b"/v1/customer_sessions/" + i + b"/..", b"/../v1/customer_sessions/" + i,
            b"/v1/customer_sessions/%2E%2E/" + i, b"/v1/%2E/customer_sessions/" + i, b"/v1/customer_profiles/.././" + i,
            b"/v1/customer_sessions\\" + i, b"/v1/customer_sessions;/" + i, b"/v1/customers/" + i,
        ))
        body = encode_body(self.valid_body("session"))
        return self.put("bad_path", path, body, status=404)

    def bad_method(self) -> Hostile:
        r = self.rng
        method = r.choice(("GET", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "MKCOL",
                           "LOCK", "COPY", "MOVE", "PURGE"))
        path, body = self.valid()
        if method in ("GET", "HEAD", "DELETE", "OPTIONS", "TRACE") and r.random() < 0.5:
            body = b""
        return Hostile("bad_method", method, path, (_JSON, *self.auth(body)), body, status=405)

    def missing_auth(self) -> Hostile:
        path, body = self.valid()
        return Hostile("missing_auth", "PUT", path, (_JSON,), body, status=401,
                       source={"parameter": "Authorization"})

    def wrong_key(self) -> Hostile:
        r = self.rng
        key = self.creds.api_key or ""
        value = r.choice((f"ApiKey-v1 {key}x", f"ApiKey-v1 x{key}", f"ApiKey-v1 {key[:-1]}", f"ApiKey-v1 {key.upper()}",
                          f"Bearer {key}", f"apikey-v1 {key}", f"ApiKey-v2 {key}", key, "ApiKey-v1", "ApiKey-v1 ",
                          f"ApiKey-v1 {key[::-1]}", "", f"ApiKey-v1 {key}\u00e9", f"ApiKey-v1\t{key}"))
        path, body = self.valid()
        return Hostile("wrong_key", "PUT", path, (_JSON, ("Authorization", value.encode("utf-8"))), body,
                       status=401, source={"parameter": "Authorization"})

    def bad_signature(self) -> Hostile:
        r = self.rng
        path, body = self.valid()
        app_id, key = self.creds.hmac_application_id or 1, self.creds.hmac_key or ""
        other = body + b" "
        style = r.randrange(6)
        if style == 0:  # a signature over a different body (replayed from another request)
            header = auth_headers(Credentials(hmac_application_id=app_id, hmac_key=key), other)["Content-Signature"]
        elif style == 1:  # wrong signer
            header = auth_headers(Credentials(hmac_application_id=app_id + 1, hmac_key=key), body)["Content-Signature"]
        elif style == 2:  # wrong key
            header = auth_headers(Credentials(hmac_application_id=app_id, hmac_key="f" * 16), body)["Content-Signature"]
        else:
            header = r.choice(("garbage", "signer=1", f"signer={app_id}; signature=zz", "signature=00",
                               f"signer={app_id}; signature=; extra=1", ";;;", "=", f"signer={app_id};signature="))
        return Hostile("bad_signature", "PUT", path, (_JSON, ("Content-Signature", header)), body,
                       source={"parameter": "Content-Signature"})

    def schema_violation(self) -> Hostile:
        r = self.rng
        i = r.randint(0, 2)
        items = [self.item(k) for k in range(i + 1)]
        cases: list[tuple[Any, str]] = [
            ({"total": r.choice(("1", True, [], {}, "NaN"))}, "/total"),
            ({"state": r.choice(("bogus", "OPEN", "", 1, True))}, "/state"),
            ({"foo": 1}, "/foo"),
            ({"a/b~c": 1}, "/a~1b~0c"),
            ({"profileId": r.choice((5, [], {}, False))}, "/profileId"),
            ({"coupon": r.choice((5, [], {}))}, "/coupon"),
            ({"attributes": r.choice(([], "x", 1))}, "/attributes"),
            ({"cartItems": r.choice(("x", {}, 1))}, "/cartItems"),
            ({"cartItems": [self.item(0)] * 1001}, "/cartItems"),
            (r.choice(([], "x", 1, None, True)), ""),
        ]
        for key, bad in (("quantity", r.choice((0, -1, 1.5, "1", True))), ("price", r.choice(("1", None, True))),
                         ("name", r.choice(("", 5, None))), ("sku", r.choice(("", 5, None)))):
            broken = [dict(it) for it in items]
            broken[i][key] = bad
            cases.append(({"cartItems": broken}, f"/cartItems/{i}/{key}"))
        dropped = [dict(it) for it in items]
        missing = r.choice(("name", "sku", "quantity", "price"))
        del dropped[i][missing]
        cases.append(({"cartItems": dropped}, f"/cartItems/{i}/{missing}"))
        adj = [dict(it) for it in items]
        adj[i]["adjustment"] = {"payFromLoyaltyProgram": 1, "pointPayment": 0}
        cases.append(({"cartItems": adj}, f"/cartItems/{i}/adjustment/pointPayment"))
        body, pointer = r.choice(cases)
        if r.random() < 0.25:  # the profile endpoint: attributes must be an object, the body an object
            body, pointer = r.choice((({"attributes": r.choice(([], "x", 1))}, "/attributes"), ([], "")))
            return self.put("schema_violation", PROFILES + r.choice((b"P-seed", self.fresh_id())), encode_body(body),
                            source={"pointer": pointer})
        target = r.choice((b"S-open", self.fresh_id()))
        return self.put("schema_violation", SESSIONS + target, encode_body(body), source={"pointer": pointer})

    def state_machine(self) -> Hostile:
        r = self.rng
        closed = [({"state": "open"}, "/state"), ({"coupon": "OTHER"}, "/coupon"), ({"total": 11}, "/total"),
                  ({"cartItems": [self.item(0)]}, "/cartItems"), ({"referral": "R"}, "/referral"),
                  ({"attributes": {"new": 1}}, "/attributes/new"), ({"profileId": "someone-else"}, "/profileId")]
        cancelled = [({"state": r.choice(("open", "closed"))}, "/state"), ({"total": 4}, "/total"),
                     ({"coupon": "X"}, "/coupon"), ({"cartItems": [self.item(1)]}, "/cartItems")]
        sid, (body, pointer) = r.choice(((b"S-closed", r.choice(closed)), (b"S-cancelled", r.choice(cancelled))))
        return self.put("state_machine", SESSIONS + sid, encode_body(body), source={"pointer": pointer})

    def bad_framing(self) -> Hostile:
        r = self.rng
        path = SESSIONS + self.fresh_id()
        auth = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in self.auth(b""))
        head = r.choice((
            b"PUT " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n" + auth + b"\r\n",
            b"PUT " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n" + auth + b"\r\n",
            b"PUT " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n" + auth + b"\r\n",
            b"PUT " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + auth + b"\r\nzz\r\n{}\r\n0\r\n\r\n",
            b"PUT " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n" + auth + b"\r\n{}",
            b"PUT " + path + b"\x00 HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
            b"PUT " + path + b"\n\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
            b"PUT  HTTP/1.1\r\nHost: x\r\n\r\n",
            b"PUT " + path + b" HTTP/9.9\r\nHost: x\r\n\r\n",
        ))
        return Hostile("bad_framing", "PUT", path, (), status=400, source=None, plain=FRAMING_BODY, raw_head=head,
                       close_after=True)


#: kind -> (weight, cap): how the catalogue is spread; caps bound the expensive kinds.
KINDS: dict[str, tuple[float, int | None]] = {
    "malformed_json": (10, None), "truncated_json": (10, None), "invalid_utf8": (8, None), "bom": (4, None),
    "duplicate_key": (8, None), "deep_nesting": (5, 400), "too_large": (1, 24), "huge_number": (5, None),
    "sales_overflow": (2, None), "wrong_content_type": (8, None), "chunked": (6, None), "slow_body": (1, 6),
    "control_char_id": (8, None), "undecodable_id": (3, None), "overlong_id": (3, None), "empty_id": (1, None),
    "bad_path": (6, None), "bad_method": (6, None), "missing_auth": (4, None), "wrong_key": (5, None),
    "bad_signature": (5, None), "schema_violation": (12, None), "state_machine": (6, None),
    "bad_framing": (1, 40),
}


def catalogue(n: int, *, seed: int, creds: Credentials) -> list[Hostile]:
    """``n`` hostile requests (deterministic for ``seed``); ``creds`` are the server's valid credentials
    (an API key and an HMAC application id + key), used so that only the named problem is wrong."""
    rng = random.Random(seed)
    gen = _Gen(rng, creds)
    makers: dict[str, Callable[[], Hostile]] = {kind: getattr(gen, kind) for kind in KINDS}
    counts = dict.fromkeys(KINDS, 0)
    out: list[Hostile] = []
    # every kind at least once, then weighted draws within the caps
    for kind in KINDS:
        out.append(makers[kind]())
        counts[kind] += 1
    while len(out) < n:
        kinds = [k for k, (_, cap) in KINDS.items() if cap is None or counts[k] < cap]
        kind = rng.choices(kinds, weights=[KINDS[k][0] for k in kinds])[0]
        out.append(makers[kind]())
        counts[kind] += 1
    return out
