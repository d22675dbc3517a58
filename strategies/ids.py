"""Profile and session ids: realistic ones, edge cases within D12, and ids outside D12.

D12: an id is 1 to 1000 Unicode code points, none of them a control character (category Cc, i.e.
U+0000-U+001F and U+007F-U+009F). Ids are str; ``wire.path_for`` percent-encodes them.
"""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

__all__ = [
    "EDGE_PATH_IDS",
    "INVALID_PATH_IDS",
    "MAX_ID_LENGTH",
    "edge_ids",
    "entity_ids",
    "invalid_ids",
    "invalid_raw_id_segments",
    "profile_ids",
    "realistic_ids",
    "session_ids",
    "valid_id",
]

MAX_ID_LENGTH = 1000


def valid_id(entity_id: str) -> bool:
    """D12 (the one home of the rule): 1..1000 code points, none in Unicode category Cc."""
    return 1 <= len(entity_id) <= MAX_ID_LENGTH and not any(unicodedata.category(ch) == "Cc" for ch in entity_id)


#: Every character D12 allows (surrogates cannot be encoded as UTF-8, so they are not characters here).
_ID_CHARS = st.characters(exclude_categories=("Cc", "Cs"))
_CONTROL_CHARS = st.characters(categories=["Cc"])

#: Characters that stress routing, encoding and rendering; all allowed by D12.
_AWKWARD = (
    " ",
    "/",
    "%",
    "?",
    "#",
    "+",
    "&",
    "=",
    ";",
    "~",
    ".",
    "..",
    "%2F",
    "%25",
    "\\",
    '"',
    "'",
    "é",
    "ß",
    "日本",
    "😀",
    "👩‍💻",
    "𝔘",
    "שלום",
    "مرحبا",
    "\u200b",
    "\u200d",
    "\u200e",
    "\u202e",
    "\ufeff",
    "\u2028",
    "\ufffd",
    "\U0010fffd",
)


#: Fixed valid ids that stress routing and encoding, safe to put unescaped into a URL template (the
#: contract checks send them through schemathesis, which does not escape path values). Not here: "/",
#: "?", "#", "%" and dot segments; ``edge_ids`` covers those through ``wire.path_for``.
EDGE_PATH_IDS: tuple[str, ...] = (
    " ", " lead", "trail ", "a b", "é", "日本語", "😀", "👩‍💻", "+", "a+b", "~", "\u200b", "\u202eRTL",
    "\ufeffBOM", "e\u0301", "x" * MAX_ID_LENGTH, "😀" * MAX_ID_LENGTH, "\U0010fffd", "C-10023", "'\"", "<tag>",
)
#: Fixed ids outside D12 (control characters, one code point too many), for cases already invalid at the path.
INVALID_PATH_IDS: tuple[str, ...] = (
    "\x00", "a\x00b", "\x1f", "\x7f", "\x85", "x" * (MAX_ID_LENGTH + 1), "tab\there",
)


def realistic_ids() -> st.SearchStrategy[str]:
    """Ids integrations really use. Always within D12 and printable ASCII; varies between database
    ids (``"48213"``), UUIDs, e-mail-like ids, ``C156902``-like and prefixed ids (``cust_9f3a``);
    never empty and never over 64 characters."""
    return st.one_of(
        st.integers(min_value=1, max_value=10**12).map(str),
        st.uuids().map(str),
        st.from_regex(r"[a-z]{1,10}\.[a-z]{1,10}@example\.(com|org)", fullmatch=True),
        st.integers(min_value=0, max_value=999_999).map(lambda n: f"C{n:06d}"),
        st.tuples(st.sampled_from(("cust", "sess", "user", "order")), st.uuids()).map(
            lambda t: f"{t[0]}_{t[1].hex[:12]}"
        ),
    )


def edge_ids() -> st.SearchStrategy[str]:
    """Ids at D12's limits. Always 1..1000 code points with no control character; varies: 1 char,
    exactly 1000 chars (astral ones too), spaces, ``/ % ? #``, percent-escape look-alikes, non-ASCII,
    emoji (astral plane, ZWJ sequences), RTL text, zero-width characters, BOM, arbitrary Unicode.
    Never a surrogate and never empty. Shrinks towards short ASCII ids."""
    awkward = st.sampled_from(_AWKWARD)
    return st.one_of(
        _ID_CHARS.map(str),
        st.lists(st.one_of(awkward, st.text(_ID_CHARS, min_size=1, max_size=4)), min_size=1, max_size=8)
        .map("".join)
        .filter(lambda s: 1 <= len(s) <= MAX_ID_LENGTH),
        st.tuples(_ID_CHARS, st.integers(min_value=MAX_ID_LENGTH - 2, max_value=MAX_ID_LENGTH)).map(
            lambda t: t[0] * t[1]
        ),
        st.sampled_from(("😀", "𝔘", "a")).map(lambda c: c * MAX_ID_LENGTH),
        st.text(_ID_CHARS, min_size=1, max_size=40),
    )


def entity_ids() -> st.SearchStrategy[str]:
    """Any id D12 accepts: realistic ids or edge ids (see both). Never outside D12."""
    return st.one_of(realistic_ids(), edge_ids())


def profile_ids() -> st.SearchStrategy[str]:
    """Customer profile integration ids (``integrationId``); the same guarantees as ``entity_ids``."""
    return entity_ids()


def session_ids() -> st.SearchStrategy[str]:
    """Customer session ids (``customerSessionId``); the same guarantees as ``entity_ids``."""
    return entity_ids()


def invalid_ids() -> st.SearchStrategy[str]:
    """Ids D12 rejects. Always one of: empty, 1001+ code points, or holding a control character
    (U+0000-U+001F, U+007F-U+009F) somewhere. Never a valid id. ``path_for`` still encodes them."""
    too_long = st.tuples(_ID_CHARS, st.integers(MAX_ID_LENGTH + 1, MAX_ID_LENGTH + 50)).map(
        lambda t: t[0] * t[1]
    )
    with_control = st.tuples(
        st.text(_ID_CHARS, max_size=10), _CONTROL_CHARS, st.text(_ID_CHARS, max_size=10)
    ).map("".join)
    return st.one_of(st.just(""), too_long, with_control)


def invalid_raw_id_segments() -> st.SearchStrategy[str]:
    """Already percent-encoded path segments that decode to no valid id: invalid UTF-8 (``%FF``,
    truncated sequences, encoded surrogates, overlong forms) or an encoded control character.
    Use them verbatim after the path prefix (do NOT pass them through ``path_for``)."""
    return st.sampled_from(
        ("%FF", "abc%C3", "%E2%82", "%ED%A0%80", "%C0%AF", "%F8%88%80%80%80", "x%00y", "%7F", "%C2%85", "%0A")
    )
