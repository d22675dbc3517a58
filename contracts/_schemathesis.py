"""The one adapter to schemathesis internals the contract hooks and checks rely on (tested for 4.32.x).

Everything here reads or sets something schemathesis does not document as API: a case's generation
metadata (phase, per-location mode, coverage scenario), a failure's code, and an attribute of our own on
the loaded schema object (schemathesis calls hooks and checks as plain functions, so the run's state rides
on the schema every case points to). :func:`assert_supported` fails loudly, naming what changed, when a
release moves any of it; ``tests/contract/test_schemathesis_adapter.py`` calls it on real cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["RUN_ATTRIBUTE", "assert_supported", "attach", "attach_once", "attached", "case_key", "coverage_description",
           "failure_code", "generation_mode", "is_negative_at", "phase_of"]

#: Attribute set on the loaded ``BaseSchema`` to hold the run's ``CheckRuntime``.
RUN_ATTRIBUTE = "_talon_harness_runtime"


def phase_of(case: Any) -> str:
    """The generation phase of a case (``examples``, ``coverage``, ``fuzzing``, ``stateful``), "" if unknown
    (a case built by hand)."""
    meta = getattr(case, "meta", None)
    return str(meta.phase.name.value) if meta is not None else ""


def generation_mode(case: Any) -> str:
    """The mode the case was generated in (``positive`` or ``negative``), "" if unknown (a case built by hand).
    A negative case may be negative at no location :func:`is_negative_at` names (e.g. an unexpected query
    parameter schemathesis adds when it serializes the case)."""
    meta = getattr(case, "meta", None)
    return str(meta.generation.mode.value) if meta is not None else ""


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
    """Store ``value`` on ``schema`` (the run object every case points to) and return it."""
    setattr(schema, RUN_ATTRIBUTE, value)
    return value


def attach_once(schema: Any, value: Any) -> Any:
    """Store ``value`` on ``schema`` unless something is stored already (atomic); return what is stored."""
    return vars(schema).setdefault(RUN_ATTRIBUTE, value)


def attached_once(case: Any, name: str, factory: Callable[[], Any]) -> Any:
    """The value stored under ``name`` on the case's schema (the run object); ``factory()`` is stored first
    when nothing is (concurrent first calls agree on one value)."""
    schema = case.operation.schema
    found = getattr(schema, name, None)
    return found if found is not None else vars(schema).setdefault(name, factory())


def attached(case: Any) -> Any:
    """What :func:`attach` stored on the case's schema, or None."""
    return getattr(case.operation.schema, RUN_ATTRIBUTE, None)


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
    need(getattr(getattr(meta.generation, "mode", None), "value", None) in ("positive", "negative"),
         "Case.meta.generation.mode.value")
    need(hasattr(meta.phase, "name") and isinstance(getattr(meta.phase.name, "value", None), str),
         "Case.meta.phase.name.value")
    need(hasattr(meta.phase, "data"), "Case.meta.phase.data")
    need(isinstance(getattr(case, "id", None), str) and bool(case.id), "Case.id")
    schema = case.operation.schema
    try:
        setattr(schema, RUN_ATTRIBUTE, getattr(schema, RUN_ATTRIBUTE, None))
    except AttributeError:
        need(False, "BaseSchema (it no longer takes attributes)")
