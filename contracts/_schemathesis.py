"""The one adapter to schemathesis internals the contract hooks and checks rely on (tested for 4.32.x).

Everything here reads or sets something schemathesis does not document as API: a case's generation
metadata (phase, per-location mode, coverage scenario), a failure's code, and the loaded schema object
every case points to: schemathesis calls hooks and checks as plain functions, so a run's state is found by
its schema, in this module's table of runs keyed by schema identity (nothing is set on schemathesis'
objects; an entry goes when its schema is collected). :func:`assert_supported` fails loudly, naming what changed, when a
release moves any of it; ``tests/contract/test_schemathesis_adapter.py`` calls it on real cases.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["RUN_ATTRIBUTE", "assert_supported", "attach", "attach_once", "attached", "case_key", "coverage_description",
           "detach", "failure_code", "is_negative_at", "phase_of"]

#: The key of a run's ``CheckRuntime`` in its schema's entry.
RUN_ATTRIBUTE = "runtime"
_RUNS: dict[int, dict[str, Any]] = {}  # id(schema) -> that run's state, by name
_RUNS_LOCK = threading.Lock()


def _entry(schema: Any) -> dict[str, Any]:
    """The state of the run of ``schema`` (created empty on first use, dropped when the schema is collected)."""
    key = id(schema)
    with _RUNS_LOCK:
        entry = _RUNS.get(key)
        if entry is None:
            entry = _RUNS[key] = {}
            weakref.finalize(schema, _RUNS.pop, key, None)
        return entry


def phase_of(case: Any) -> str:
    """The generation phase of a case (``examples``, ``coverage``, ``fuzzing``, ``stateful``), "" if unknown
    (a case built by hand)."""
    meta = getattr(case, "meta", None)
    return str(meta.phase.name.value) if meta is not None else ""


def is_negative_at(case: Any, location: str) -> bool:
    """The case was generated invalid at ``location`` (``path``, ``query``, ``header``, ``cookie``, ``body``)."""
    from schemathesis.core.parameters import ParameterLocation

    meta = getattr(case, "meta", None)
    return meta is not None and bool(meta.is_negative_at(ParameterLocation(location)))


def coverage_description(case: Any) -> str:
    """The coverage scenario's description (e.g. ``"Object with additional property: ..."``), else ""."""
    meta = getattr(case, "meta", None)
    if meta is None or phase_of(case) != "coverage":
        return ""
    return str(getattr(meta.phase.data, "description", "") or "")


def case_key(case: Any) -> str:
    """A key naming this case for the rest of its life (sent, checked, filtered): its id."""
    return str(case.id)


def failure_code(failure: Any) -> str:
    """A schemathesis failure's code (``ST202`` is ``positive_data_acceptance``), "" when it has none."""
    return str(getattr(failure, "code", "") or "")


def attach(schema: Any, value: Any) -> Any:
    """Make ``value`` the runtime of ``schema``'s run (the schema every case points to) and return it."""
    entry = _entry(schema)
    with _RUNS_LOCK:
        entry[RUN_ATTRIBUTE] = value
    return value


def attach_once(schema: Any, value: Any) -> Any:
    """Make ``value`` the runtime of ``schema``'s run unless it has one (atomic); return the runtime."""
    entry = _entry(schema)
    with _RUNS_LOCK:
        return entry.setdefault(RUN_ATTRIBUTE, value)


def attached_once(case: Any, name: str, factory: Callable[[], Any]) -> Any:
    """The value stored under ``name`` for the case's run; ``factory()`` is stored first when nothing is
    (concurrent first calls agree on one value)."""
    entry = _entry(case.operation.schema)
    with _RUNS_LOCK:
        found = entry.get(name)
    if found is not None:
        return found
    made = factory()  # outside the lock: a factory may read the environment or open a session
    with _RUNS_LOCK:
        return entry.setdefault(name, made)


def attached(case: Any) -> Any:
    """The runtime :func:`attach` gave the case's run, or None."""
    with _RUNS_LOCK:
        return _RUNS.get(id(case.operation.schema), {}).get(RUN_ATTRIBUTE)


def detach(schema: Any) -> None:
    """Forget ``schema``'s runtime (as if the schema had been loaded before the hooks were registered)."""
    with _RUNS_LOCK:
        _RUNS.get(id(schema), {}).pop(RUN_ATTRIBUTE, None)


def assert_supported(case: Any) -> None:
    """Raise RuntimeError naming the first internal this adapter needs that ``case``'s schemathesis lacks.

    ``case`` must be a generated case (one with metadata), e.g. from ``operation.as_strategy()``.
    """
    import schemathesis

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise RuntimeError(f"schemathesis {schemathesis.__version__} changed {what}; update "
                               "talon_harness.contracts._schemathesis (and the upper bound in pyproject.toml)")

    try:
        from schemathesis.core.parameters import ParameterLocation
    except ImportError:
        need(False, "schemathesis.core.parameters.ParameterLocation (import)")
    need({"path", "query", "header", "cookie", "body"} <= {loc.value for loc in ParameterLocation},
         "the ParameterLocation values")
    meta = getattr(case, "meta", None)
    if meta is None:
        raise ValueError("assert_supported needs a generated case (one with metadata)")
    need(hasattr(meta, "is_negative_at"), "Case.meta.is_negative_at")
    need(hasattr(meta.phase, "name") and isinstance(getattr(meta.phase.name, "value", None), str),
         "Case.meta.phase.name.value")
    need(hasattr(meta.phase, "data"), "Case.meta.phase.data")
    need(isinstance(getattr(case, "id", None), str) and bool(case.id), "Case.id")
    try:
        weakref.ref(case.operation.schema)
    except TypeError:
        need(False, "BaseSchema (it can no longer be weakly referenced)")
