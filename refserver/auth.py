"""Authentication (D2): none, `Authorization: ApiKey-v1 <key>`, and/or the v1 HMAC Content-Signature.

`authenticate` returns None when the request may proceed. With both schemes configured either one is
accepted. Errors: Unauthorized (401, parameter Authorization) for a missing/wrong API key when no
signature was sent; Unauthorized (401, parameter Content-Signature) for a missing signature in HMAC-only
mode; SignatureMismatch (400, "HMAC signature mismatch.") for a malformed header, wrong signer or wrong
digest. Keys are compared with hmac.compare_digest and never appear in errors or logs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from .config import ServerConfig
from .errors import SignatureMismatch, Unauthorized

__all__ = ["authenticate", "content_signature"]

_API_KEY_PREFIX = b"ApiKey-v1 "


def content_signature(body: bytes, *, hmac_key: str, application_id: int) -> str:
    """The header value a v1 client sends: "signer=<applicationId>; signature=<hex HMAC-MD5>"."""
    digest = hmac.new(bytes.fromhex(hmac_key), body, hashlib.md5).hexdigest()
    return f"signer={application_id}; signature={digest}"


def _api_key_ok(header: bytes | None, api_key: str) -> bool:
    if header is None or not header.startswith(_API_KEY_PREFIX):
        return False
    return hmac.compare_digest(header[len(_API_KEY_PREFIX) :].strip(), api_key.encode())


def _verify_signature(header: bytes, body: bytes, config: ServerConfig) -> None:
    assert config.hmac_key is not None
    fields: dict[bytes, bytes] = {}
    for part in header.split(b";"):
        name, sep, value = part.strip().partition(b"=")
        if not sep:
            raise SignatureMismatch("Expected 'signer=<applicationId>; signature=<hex digest>'.")
        fields[name.strip().lower()] = value.strip()
    if set(fields) != {b"signer", b"signature"}:
        raise SignatureMismatch("Expected exactly the fields 'signer' and 'signature'.")
    if fields[b"signer"] != str(config.application_id).encode():
        raise SignatureMismatch("The signer is not this server's application id.")
    expected = hmac.new(bytes.fromhex(config.hmac_key), body, hashlib.md5).hexdigest().encode()
    if not hmac.compare_digest(fields[b"signature"].lower(), expected):
        raise SignatureMismatch("The signature does not match the HMAC-MD5 of the request body.")


def authenticate(headers: Mapping[bytes, bytes], body: bytes, config: ServerConfig) -> None:
    """Check the request's credentials against `config` (see module docstring). Header names lowercase."""
    if config.api_key is None and config.hmac_key is None:
        return
    if config.api_key is not None and _api_key_ok(headers.get(b"authorization"), config.api_key):
        return
    signature = headers.get(b"content-signature")
    if config.hmac_key is not None and signature is not None:
        _verify_signature(signature, body, config)
        return
    if config.api_key is not None:
        missing = b"authorization" not in headers
        raise Unauthorized(
            "Authorization",
            "Missing 'Authorization: ApiKey-v1 <key>' header." if missing else "The API key is not valid.",
        )
    raise Unauthorized("Content-Signature", "Missing 'Content-Signature' header.")
