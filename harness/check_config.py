"""What one `talon-harness check` run is asked and what it answers: ``CheckConfig`` (validated once by
``validate``), the budgets, the check names, and ``CheckResult``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from talon_harness.contracts.apis import apis_of_rule, domain_checks
from talon_harness.contracts.oracle import matches_reference
from talon_harness.contracts.spec import API_NAMES, DEFAULT_API
from talon_harness.contracts.witness import WitnessResult
from talon_harness.harness._check_report import Report
from talon_harness.strategies.wire import Credentials

__all__ = ["BUDGETS", "BUILTIN_CHECKS", "EVENTS_FILE", "ORACLE_CHECK", "Budget", "CheckConfig", "CheckResult",
           "known_checks", "validate"]

#: schemathesis' full event stream (about 0.4 MB per second of run), kept only with ``keep_events``
EVENTS_FILE = "events.ndjson"

BUILTIN_CHECKS: tuple[str, ...] = (
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance",
    "missing_required_header", "unsupported_method", "allow_header_conformance", "use_after_free",
    "ensure_resource_availability", "ignored_auth", "object_level_authorization",
)
ORACLE_CHECK: str = matches_reference.__name__


@dataclass(frozen=True)
class Budget:
    """How much generation a run may do: fuzzing cases per operation (and stateful scenarios), seconds."""

    max_examples: int
    max_time: float


#: ``ci`` fits a CI job; ``default`` is what `talon-harness check` runs (< 2 minutes on a laptop).
BUDGETS: dict[str, Budget] = {
    "ci": Budget(max_examples=15, max_time=30),
    "default": Budget(max_examples=40, max_time=90),
    "thorough": Budget(max_examples=300, max_time=900),
}


@dataclass(frozen=True)
class CheckConfig:
    """Everything `run_check` needs. ``fresh_server``: the target started empty (the embedded server),
    which lets the model treat unseen ids as absent and check creation rules for them."""

    base_url: str
    credentials: Credentials | None = None
    max_examples: int = BUDGETS["default"].max_examples
    max_time: float = BUDGETS["default"].max_time
    seed: int | None = None
    workers: int = 1
    checks: tuple[str, ...] = ()
    exclude_checks: tuple[str, ...] = ()
    baseline: Path | None = None
    baseline_update: bool = False
    report_dir: Path = Path("reports/check")
    fresh_server: bool = False
    phases: tuple[str, ...] = ("examples", "coverage", "fuzzing", "stateful")
    mode: str = "all"
    request_timeout: float = 10.0
    quiet: bool = False
    keep_events: bool = False
    #: ``--oracle``: every request also goes to a fresh reference server (``contracts.oracle``), whose rule set
    #: is ``oracle_rules`` (the ``serve --rules`` format); ``oracle_exclude`` names fields left uncompared.
    oracle: bool = False
    oracle_rules: Path | None = None
    oracle_exclude: tuple[str, ...] = ()
    #: The target is a refserver the caller started with these faults (selftest, tests): regressions get a
    #: delta-debugging pass on fresh instances of it. None: a target the harness cannot restart.
    replay_faults: tuple[str, ...] | None = None
    max_regressions: int = 5
    witness: bool = True  # the witness phase (``contracts.witness``) runs first, with the API's sequences
    #: The API under test (``contracts.spec.API_NAMES``): its contract, its domain rules (``contracts.apis``).
    api: str = DEFAULT_API
    stop_after_witness_failure: bool = False  # selftest: time to detection, not a full report

    @property
    def oracle_effects(self) -> bool:
        """Effects and discounts are compared when both servers run the same rule set: the embedded target
        (``fresh_server``) or ``--oracle-rules``."""
        return self.fresh_server or self.oracle_rules is not None


@dataclass(frozen=True)
class CheckResult:
    """The outcome: exit code, seed, seconds, and the parsed report (None when schemathesis wrote none)."""

    exit_code: int
    seed: int
    seconds: float
    report: Report | None
    report_dir: Path
    message: str = ""
    regressions: tuple[Path, ...] = ()
    witness: WitnessResult | None = None

    @property
    def failures(self) -> int:
        return (len(self.report.failures) if self.report else 0) + (len(self.witness.failures) if self.witness else 0)



def known_checks(api: str) -> tuple[str, ...]:
    """The check names a run on ``api`` takes in ``checks`` / ``exclude_checks`` (besides ``all``): the
    built-ins, ``api``'s domain rules (``contracts.apis.domain_checks``) and the oracle's check."""
    return (*BUILTIN_CHECKS, *domain_checks(api), ORACLE_CHECK)


def validate(config: CheckConfig) -> str | None:
    """Why ``config`` cannot run (one line), or None. A check name must be known for the run's API: a domain
    rule of another API is refused, naming the API(s) whose rule it is."""
    if config.api not in API_NAMES:
        return f"unknown API {config.api!r}; known: {', '.join(API_NAMES)}"
    known = {*known_checks(config.api), "all"}
    unknown = sorted({*config.checks, *config.exclude_checks} - known)
    if unknown:
        elsewhere = "".join(f"; {name} is a rule of --api {', '.join(apis)}" for name in unknown
                            if (apis := apis_of_rule(name)))
        return (f"unknown check(s) {unknown} for --api {config.api}{elsewhere}; "
                f"known: {sorted(known - {'all'})}")
    if config.baseline is not None and not config.baseline_update and not Path(config.baseline).exists():
        return f"baseline file {config.baseline} does not exist"
    if config.max_examples < 1 or config.max_time < 1 or config.workers < 1:
        return "max_examples, max_time and workers must be >= 1"
    if config.oracle_rules is not None:
        from talon_harness.refserver import RuleSet

        try:
            RuleSet.from_file(config.oracle_rules)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            return f"--oracle-rules {config.oracle_rules}: {exc}"
    if (config.oracle_rules is not None or config.oracle_exclude) and not config.oracle:
        return "--oracle-rules and --oracle-exclude need --oracle"
    return None
