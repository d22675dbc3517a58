"""LoadConfig: everything one load run needs, checked when it is built, and how it crosses to Locust.

Exactly one of ``users`` (closed model) and ``rate`` (open model, journeys per second) is set. The run
is always bounded by ``duration_s``. ``base_url`` must be loopback unless ``allow_remote``. The repr
never shows credentials (``Credentials.__repr__`` redacts them).

Crossing into the Locust processes (D41): :meth:`LoadConfig.to_env` is the one settings document, the whole
config with the credentials inside, as JSON in the environment variable :data:`LOAD_SETTINGS_ENV` (a
process's environment is readable by its owner only; its argv by every user of the host);
:meth:`LoadConfig.from_env` reads it back into the same dataclass. :meth:`LoadConfig.to_json` is the same
document without the credentials: what a master forwards to its workers over Locust's unauthenticated
channel, and what ``--talon-config`` of a plain ``locust -f`` run holds (argv: credentials are refused
there). Every default is written once, in the field list below: adding an option means a field here (and a
CLI flag), nothing else; every option is checked once, in ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints, overload
from urllib.parse import urlsplit

from talon_harness.loadtests.gates import SloSet
from talon_harness.loadtests.openload import ARRIVALS
from talon_harness.loadtests.shapes import SHAPES
from talon_harness.strategies.wire import Credentials

__all__ = [
    "LOAD_SETTINGS_ENV",
    "LoadConfig",
    "UnsafeTargetError",
    "is_loopback_url",
]

#: The environment variable that carries a Locust process's settings document (:meth:`LoadConfig.to_env`, D41).
LOAD_SETTINGS_ENV = "TALON_HARNESS_LOAD"


class UnsafeTargetError(ValueError):
    """The target is not loopback and ``allow_remote`` was not given."""


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is localhost or a loopback address."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: The one home of the duration bounds, in seconds, inclusive: ``LoadConfig.duration_s`` and every duration
#: option of the command line (``--duration``, ``--max-time``: ``harness.params.Duration``) check against them
#: through :func:`check_duration`, so both reject the same values with the same words.
DURATION_BOUNDS_S: tuple[float, float] = (1.0, 24 * 3600.0)


def check_duration(seconds: float, bounds: tuple[float, float] = DURATION_BOUNDS_S) -> float:
    """``seconds`` when within ``bounds`` (inclusive); otherwise ValueError ``"<seconds> s; expected <low> s
    to <high> s"`` (NaN is outside)."""
    low, high = bounds
    if not low <= seconds <= high:
        raise ValueError(f"{seconds:g} s; expected {low:g} s to {high:g} s")
    return seconds


@dataclass(frozen=True, kw_only=True)
class LoadConfig:
    """One load run; see the module docstring. Extra knobs after ``allow_remote`` have safe defaults."""

    base_url: str
    users: int | None = None
    rate: float | None = None
    arrival: str = "poisson"
    duration_s: float = 20.0
    shape: str | None = None
    workers: int = 0
    slo: SloSet = field(default_factory=SloSet.default)
    report_dir: Path = Path("load-report")
    max_rate: float | None = None
    credentials: Credentials | None = None
    validate_share: float = 0.05
    journey_weights: dict[str, int] | None = None
    seed: int = 0
    allow_remote: bool = False
    think_scale: float = 1.0
    connections: int = 10  # open model: connections per Locust process that carry the arrivals
    late_ms: float = 50.0
    spawn_rate: float | None = None
    baseline: Path | None = None  # a previous run's report directory: fail on latency regressions against it
    baseline_update: bool = False  # write this run's histograms into ``baseline`` instead of comparing
    replay: Path | None = None  # a recording to replay (open model) instead of journeys
    replay_speed: float = 1.0
    replay_loop: bool = False
    replay_token: str = field(default_factory=lambda: os.urandom(4).hex())  # id prefix, one per run
    # distribution across hosts (Locust's --master / --worker; ``workers`` forks local ones instead)
    master: bool = False  # run only the master: it waits for ``expect_workers`` workers and judges the run
    expect_workers: int = 0  # master: the workers to wait for (>= 1); users and the open rate are split across them
    worker: bool = False  # run only a worker: every setting but the credentials comes from the master
    master_host: str = "127.0.0.1"  # master: the address it binds; worker: where the master is
    master_port: int = 5557
    #: the API under test (``strategies.wire.API_NAMES``): v2 sends ``strategies.v2_journeys``, the v1
    #: revisions ``strategies.journeys``; sampled answers are validated against its contract
    api: str = "v1"
    #: mixed traffic: a second API whose journeys (its default mix) are every other journey; one of the two
    #: must be v2 (the server speaks one v1 revision, and answers v2 beside it)
    mix: str | None = None

    def __post_init__(self) -> None:
        from talon_harness.strategies.wire import API_NAMES

        if self.api not in API_NAMES:
            raise ValueError(f"api must be one of {', '.join(API_NAMES)}, got {self.api!r}")
        if self.mix is not None and (self.mix not in API_NAMES or (self.api == "v2") == (self.mix == "v2")):
            raise ValueError(f"mix must pair v2 with a v1 revision, got api {self.api!r} and mix {self.mix!r}")
        if urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if not self.allow_remote and not is_loopback_url(self.base_url):
            raise UnsafeTargetError(
                f"refusing non-loopback target {urlsplit(self.base_url).hostname!r}: pass allow_remote "
                "(--allow-remote) to load a remote server"
            )
        if (self.users is None) == (self.rate is None):
            raise ValueError("give exactly one of users (closed model) and rate (open model)")
        if self.users is not None and self.users < 1:
            raise ValueError(f"users must be >= 1, got {self.users}")
        if self.rate is not None and not self.rate > 0:
            raise ValueError(f"rate must be > 0 journeys per second, got {self.rate}")
        if self.arrival not in ARRIVALS:
            raise ValueError(f"arrival must be one of {ARRIVALS}, got {self.arrival!r}")
        try:
            check_duration(self.duration_s)
        except ValueError as exc:
            raise ValueError(f"duration_s is {exc}") from None
        if self.shape is not None:
            if self.shape not in SHAPES:
                raise ValueError(
                    f"shape: unknown shape {self.shape!r}; known shapes: {', '.join(sorted(SHAPES))}"
                )
            if self.users is None:
                raise ValueError("a shape scales users: give users (the peak), not rate")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if self.max_rate is not None and not self.max_rate > 0:
            raise ValueError(f"max_rate must be > 0 requests per second, got {self.max_rate}")
        if not 0.0 <= self.validate_share <= 1.0:
            raise ValueError(f"validate_share must be within [0, 1], got {self.validate_share}")
        if self.journey_weights is not None:
            from talon_harness.loadtests.journeybook import journey_kinds

            kinds = journey_kinds(self.api)
            unknown = sorted(set(self.journey_weights) - set(kinds))
            if unknown or not any(w > 0 for w in self.journey_weights.values()):
                raise ValueError(
                    f"journey_weights: unknown kinds {unknown} or no positive weight; "
                    f"known kinds: {', '.join(kinds)}"
                )
        if not self.replay_speed > 0:
            raise ValueError(f"replay_speed must be > 0, got {self.replay_speed}")
        if self.connections < 1:
            raise ValueError(f"connections must be >= 1, got {self.connections}")
        if self.baseline_update and self.baseline is None:
            raise ValueError("baseline_update needs baseline, the directory to write the new baseline into")
        if (
            self.baseline is not None
            and not self.baseline_update
            and not (Path(self.baseline) / "hdr.json").is_file()
        ):
            raise ValueError(
                f"baseline: {self.baseline} holds no hdr.json (give a previous run's report directory, or "
                "write one with --baseline-update)"
            )
        self._check_distribution()
        if self.think_scale < 0 or self.late_ms < 0:
            raise ValueError(f"think_scale and late_ms must be >= 0, got {self.think_scale}, {self.late_ms}")

    def _check_distribution(self) -> None:
        if self.master and self.worker:
            raise ValueError("master and worker: a process is one or the other")
        if (self.master or self.worker) and self.workers:
            raise ValueError("workers forks local workers; with master/worker each worker is its own process")
        if self.master != (self.expect_workers > 0):
            raise ValueError(
                "master and expect_workers go together (--master --expect-workers N, N >= 1), got "
                f"master={self.master}, expect_workers={self.expect_workers}"
            )
        if self.master and self.replay is not None:
            raise ValueError("replay reads its recording on every worker: replay with workers on one host")
        if not 1 <= self.master_port <= 65535:
            raise ValueError(f"master_port must be within [1, 65535], got {self.master_port}")
        if not self.master_host.strip():
            raise ValueError("master_host must name a host")

    # -- derived values (one home each) --------------------------------------------------------
    @property
    def nodes(self) -> int:
        """Locust processes that run users: the expected or forked workers, else the one local process."""
        return max(1, self.expect_workers if self.master else self.workers)

    @property
    def locust_users(self) -> int:
        """Locust users to spawn: the users (closed), or one arrival scheduler per worker (open)."""
        return self.users if self.users is not None else self.nodes

    @property
    def window_s(self) -> float:
        """Timeline window of the report: 1 s, coarser for runs over 5 minutes (at most ~300 windows)."""
        return max(1.0, float(math.ceil(self.duration_s / 300)))

    # -- the process boundary (D41) --------------------------------------------------------------
    def _mapping(self) -> dict[str, Any]:
        """Every field but ``credentials`` as JSON values."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "credentials":
                continue
            if isinstance(value, SloSet):
                value = value.to_mapping()
            elif isinstance(value, Path):
                value = str(value)
            out[f.name] = value
        return out

    def to_json(self) -> str:
        """Every field but ``credentials`` as JSON: what a master forwards to its workers, and the value of
        ``--talon-config``; holds no secret."""
        return json.dumps(self._mapping())

    def to_env(self) -> dict[str, str]:
        """The environment entry that carries this config, credentials inside, to a Locust process: the one
        settings document. Its value holds the keys in clear: a child's environment only, never argv."""
        creds = None if self.credentials is None else dataclasses.asdict(self.credentials)
        return {LOAD_SETTINGS_ENV: json.dumps({**self._mapping(), "credentials": creds})}

    @classmethod
    def from_json(cls, text: str, *, credentials: Credentials | None = None) -> LoadConfig:
        """The config :meth:`to_json` wrote, with ``credentials`` put back; unknown keys are refused, and so
        is ``credentials`` (this form travels in argv and over Locust's channel)."""
        return cls._from_mapping(json.loads(text), credentials, "--talon-config: ")

    @classmethod
    def _from_mapping(cls, data: Any, credentials: Credentials | None, where: str) -> LoadConfig:
        """``data`` (to_json's keys) as a LoadConfig; errors start with ``where``."""
        if not isinstance(data, dict):
            raise TypeError(f"{where}expected a JSON object, got {type(data).__name__}")
        hints = get_type_hints(cls)
        unknown = sorted(set(data) - set(hints) | ({"credentials"} & set(data)))
        if unknown:
            raise ValueError(f"{where}unknown key(s) {unknown}; known: {sorted(set(hints) - {'credentials'})}")
        for name, value in data.items():
            if hints[name] is SloSet:
                data[name] = SloSet.from_mapping(value)
            elif hints[name] in (Path, Path | None) and value is not None:
                data[name] = Path(value)
        return cls(**data, credentials=credentials)

    @overload
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, settings: str) -> LoadConfig: ...

    @overload
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, settings: None = None) -> LoadConfig | None: ...

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, settings: str | None = None) -> LoadConfig | None:
        """This process's config from the document in :data:`LOAD_SETTINGS_ENV` (default: ``os.environ``).

        Without ``settings``: the whole document :meth:`to_env` wrote, or None when there is none or it holds
        nothing but ``credentials``. With ``settings`` (:meth:`to_json`'s form: what a master forwarded, or
        ``--talon-config``): those settings with the document's credentials, and nothing else of it.
        Raises ValueError, one line naming the variable, when the document is not a JSON object of
        LoadConfig fields; the settings themselves are checked as :meth:`from_json` and the fields are.
        """
        raw = (os.environ if environ is None else environ).get(LOAD_SETTINGS_ENV)
        try:
            data = json.loads(raw) if raw else {}
            if not isinstance(data, dict):
                raise TypeError(f"expected a JSON object, got {type(data).__name__}")
            unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
            if unknown:
                raise ValueError(f"unknown key(s) {unknown}")
            creds = data.pop("credentials", None)
            credentials = None if creds is None else Credentials(**creds)
            if settings is None and data:
                return cls._from_mapping(data, credentials, "")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{LOAD_SETTINGS_ENV} is not a LoadConfig document: {exc}") from None
        return None if settings is None else cls.from_json(settings, credentials=credentials)
