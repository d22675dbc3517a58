"""The one place that touches HdrHistogram internals: a fast ``record_value`` for our histogram layout.

``hdrh``'s ``record_value`` costs several Python calls per value; on the load generator's hot path we
write the counts array directly (``counts``, ``sub_bucket_half_count_magnitude``, ``sub_bucket_mask``,
``sub_bucket_half_count``, ``total_count``, ``min_value``, ``max_value``). At import the fast path is
checked against ``record_value`` on our layout (lowest value 1 us, 2 and 3 significant digits); if a
release changed the internals, :data:`FAST_PATH` is False and :func:`record` is the public
``record_value`` (slower, same numbers). ``tests/loadtests/test_load_adapters.py`` fails loudly then.
Everything else the recorder uses (``encode``, ``decode_and_add``, ``add``, percentiles) is public API.
"""

from __future__ import annotations

from collections.abc import Callable

from hdrh.histogram import HdrHistogram

__all__ = ["FAST_PATH", "HIGHEST_US", "LOWEST_US", "new_histogram", "record"]

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
_PROBE_VALUES = (1, 2, 1023, 1024, 2047, 2048, 4095, 4096, 99_999, 123_456_789, HIGHEST_US)


def new_histogram(digits: int = 3) -> HdrHistogram:
    """An empty histogram of our layout: 1 us .. 1 h with ``digits`` significant digits."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, digits)


def _fast_record(h: HdrHistogram, v: int) -> None:
    """``h.record_value(v)`` inlined for our layout (lowest value 1, so unit magnitude 0; ``v`` already in
    range): the same counts index, total, min and max, at a fraction of the cost."""
    shm = h.sub_bucket_half_count_magnitude
    b = (v | h.sub_bucket_mask).bit_length() - shm - 1
    h.counts[((b + 1) << shm) + (v >> b) - h.sub_bucket_half_count] += 1
    h.total_count += 1
    if v < h.min_value:  # noqa: PLR1730 - hot path, no calls
        h.min_value = v
    if v > h.max_value:  # noqa: PLR1730 - hot path, no calls
        h.max_value = v


def fast_path_matches(values: tuple[int, ...] = _PROBE_VALUES) -> bool:
    """True when :func:`_fast_record` leaves exactly the state ``record_value`` leaves, for ``values``."""
    try:
        for digits in (2, 3):
            public, fast = new_histogram(digits), new_histogram(digits)
            for v in values:
                public.record_value(v)
                _fast_record(fast, v)
            if list(fast.counts) != list(public.counts) or fast.encode() != public.encode():
                return False
            if (fast.get_total_count(), fast.get_min_value(), fast.get_max_value()) != (
                public.get_total_count(),
                public.get_min_value(),
                public.get_max_value(),
            ):
                return False
    except (AttributeError, IndexError, TypeError):
        return False
    return True


FAST_PATH: bool = fast_path_matches()
record: Callable[[HdrHistogram, int], None] = _fast_record if FAST_PATH else HdrHistogram.record_value
