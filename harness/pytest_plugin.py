"""pytest plugin (entry point ``talon``): the reference server and a signed client as fixtures.

Installed with the package; no conftest needed. It costs nothing when unused: importing it loads no
server code and no fixture starts anything until a test asks for one.

Fixtures (module scope, so ``@given`` tests may use them without Hypothesis' function-scoped-fixture
health check):

- ``talon_server`` (:class:`TalonServer`): ``base_url``, ``credentials`` (its API key), ``api_version``,
  ``reset()``. By default one embedded reference server for the whole session, started on first use on a
  free loopback port with a random API key, stopped at the end of the session.
- ``talon_client`` (:class:`TalonClient`): signed PUTs built by ``strategies.wire.build_put``, answers
  parsed (:class:`Answer`).

Settings, the marker winning over the ini option (``pytest.ini``/``pyproject.toml`` or ``-o NAME=VALUE``):

==================  =====================================  ==================================================
marker keyword      ini option                             meaning
==================  =====================================  ==================================================
``api_version``     ``talon_api_version`` (default ``v1``)  the API the server and the client speak: ``v1``,
                                                           ``v1-2021`` (the final v1 revision) or ``v2``
``rules``           ``talon_rules``                        JSON rule set (``serve --rules``); a marker's path is
                                                           relative to the test file, the ini's to the rootdir
``fault``           ``talon_fault``                        a catalogue fault (``serve --fault``), e.g. to see
                                                           that your own checks catch it
``scope``           (none)                                 ``"module"``: a fresh server for this module only
==================  =====================================  ==================================================

The marker is ``pytestmark = pytest.mark.talon(...)`` at module level (the fixtures are module-scoped, so a
marker on a class or a function is refused with a usage error). Modules with the same settings share one
server; ``scope="module"`` gives a module its own.

``--talon-base-url URL`` runs the same tests against another server: credentials come from
``TALON_API_KEY`` and ``TALON_HMAC`` (``APP_ID:KEY``) as for the ``talon-harness`` commands. There,
``reset()`` and a ``fault`` skip the test (an outside server cannot be emptied or given a fault) and
``rules`` are taken to be configured on that server.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:  # imported where used: loading the plugin in every pytest run must cost nothing
    import httpx

    from talon_harness.refserver import ServerProcess
    from talon_harness.strategies.wire import Credentials, PreparedPut

__all__ = ["Answer", "TalonClient", "TalonServer"]

#: the API versions the reference server and the client speak: the seed v1, the final v1 revision (D16), v2
API_VERSIONS = ("v1", "v1-2021", "v2")
_MARKER = "talon"
_MARKER_KEYS = frozenset({"api_version", "rules", "fault", "scope"})
_POOL_KEY = pytest.StashKey["_Pool"]()


@dataclass(frozen=True)
class _Settings:
    api_version: str
    rules: Path | None
    fault: str | None


class TalonServer:
    """The server the tests talk to: embedded (a reference server subprocess) or the ``--talon-base-url`` one."""

    def __init__(self, settings: _Settings, *, base_url: str | None, credentials: Credentials | None,
                 db_dir: Path) -> None:
        self.api_version = settings.api_version
        self.rules = settings.rules
        self.fault = settings.fault
        self.embedded = base_url is None
        self.credentials = credentials
        self._external_url = base_url
        self._db_dir = db_dir
        self._process: ServerProcess | None = None
        self._unreachable: str | None = None

    def __repr__(self) -> str:  # never shows a key
        where = "embedded" if self.embedded else "external"
        return f"TalonServer({where}, api_version={self.api_version!r}, fault={self.fault!r})"

    @property
    def base_url(self) -> str:
        """``http://host:port`` (no trailing slash); an embedded server's changes on ``reset()``."""
        if self._external_url is not None:
            return self._external_url
        assert self._process is not None, "the embedded server is started by the talon_server fixture"
        return self._process.base_url

    @property
    def api_key(self) -> str | None:
        """The API key sent as ``Authorization: ApiKey-v1 <key>`` (None when the target takes none)."""
        return None if self.credentials is None else self.credentials.api_key

    def reset(self) -> None:
        """Empty the embedded server (a new process on a fresh database; ``base_url`` changes).

        Against ``--talon-base-url`` the test is skipped: a server of yours cannot be emptied from here.
        """
        if not self.embedded:
            pytest.skip(f"talon_server.reset(): {self.base_url} (--talon-base-url) cannot be emptied from here")
        self.stop()
        self.start()

    def start(self) -> None:
        """Start the embedded server (no-op when running) or check once that the external one listens."""
        if not self.embedded:
            self._check_reachable()
            return
        if self._process is not None and self._process.running:
            return
        from talon_harness.refserver.process import ServerProcess, ServerStartError

        self._db_dir.mkdir(parents=True, exist_ok=True)
        db = self._db_dir / f"refserver-{uuid.uuid4().hex[:8]}.db"
        api_key = None if self.credentials is None else self.credentials.api_key
        process = ServerProcess(db=db, api_key=api_key, rules_file=self.rules,
                                api="v1-2021" if self.api_version == "v1-2021" else "v1",  # v2 is served beside
                                faults=[self.fault] if self.fault else [], quiet=True)
        try:
            self._process = process.start()
        except ServerStartError as exc:
            pytest.fail(f"talon_server: the reference server did not start: {exc.reason}\n{exc.log_tail}",
                        pytrace=False)

    def stop(self) -> None:
        """Stop the embedded server (SIGTERM, then SIGKILL)."""
        if self._process is not None:
            self._process.stop()
            self._process = None

    def _check_reachable(self) -> None:
        if self._unreachable is None:
            parts = urlsplit(self.base_url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            try:
                socket.create_connection((parts.hostname or "", port), timeout=5).close()
                self._unreachable = ""
            except OSError as exc:
                self._unreachable = f"{self.base_url} (--talon-base-url) did not answer: {exc.strerror or exc}"
        if self._unreachable:
            pytest.fail(f"talon_server: {self._unreachable}", pytrace=False)


@dataclass(frozen=True)
class Answer:
    """A parsed answer: ``status``, ``json`` (None when the body is not JSON), ``headers``, and what was sent."""

    status: int
    json: Any
    headers: dict[str, str]
    text: str
    request: PreparedPut

    def __repr__(self) -> str:
        return f"<Answer {self.status} to PUT {self.request.path} {_short(self.request.body.decode(errors='replace'))}>"

    def expect(self, status: int) -> Answer:
        """This answer when its status is ``status``; else an AssertionError saying what was sent and received."""
        __tracebackhide__ = True  # the failure points at the user's line, not at this method
        if self.status != status:
            raise AssertionError(
                f"expected {status}, received {self.status}\n"
                f"  sent:     PUT {self.request.path} {_short(self.request.body.decode(errors='replace'), 300)}\n"
                f"  received: {self.status} {_short(self.text, 600)}"
                + "".join(f"\n  error:    {e}" for e in _errors(self.json)))
        return self


class TalonClient:
    """Signed requests to ``server`` in its API version (every request through ``strategies.wire.build_put``).

    ``update_profile``/``update_session`` send one PUT to the version's operation (v1:
    ``/v1/customer_profiles/{id}``, ``/v1/customer_sessions/{id}``; v2: ``/v2/...``, whose session body is an
    IntegrationRequest) and return its :class:`Answer`; ``put`` takes any operation id
    (``strategies.PROFILE``/``SESSION``, ``wire.PROFILE_V2``/``SESSION_V2``), raw bytes, any content type and
    a query (v2's ``dry``, ``runRuleEngine``); ``new_id`` gives an id no earlier test used (state-dependent tests
    need one, also against a shared or outside server).
    """

    def __init__(self, server: TalonServer, http: httpx.Client) -> None:
        from talon_harness.strategies.wire import PROFILE, PROFILE_V2, SESSION, SESSION_V2

        self.server = server
        self.api_version = server.api_version
        self._profile, self._session = (PROFILE_V2, SESSION_V2) if server.api_version == "v2" else (PROFILE, SESSION)
        self._http = http

    def __repr__(self) -> str:
        return f"TalonClient({self.api_version}, {self.server!r})"

    def put(self, operation: str, entity_id: str, body: object = None, *,
            content_type: str | None = "application/json", signed: bool = True,
            query: Mapping[str, str | bool] | None = None) -> Answer:
        """PUT ``body`` (JSON-encoded unless bytes; None sends no body) to ``operation``'s ``entity_id``."""
        from talon_harness.strategies.wire import build_put

        prepared = build_put(operation, entity_id, body, content_type=content_type, query=query,
                             creds=self.server.credentials if signed else None)
        response = self._http.put(self.server.base_url + prepared.path, headers=prepared.headers,
                                  content=prepared.body)
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return Answer(response.status_code, parsed, dict(response.headers), response.text, prepared)

    def update_profile(self, integration_id: str, body: object = None) -> Answer:
        """``PUT /v1/customer_profiles/{integrationId}`` (v2: ``/v2/...``)."""
        return self.put(self._profile, integration_id, {} if body is None else body)

    def update_session(self, session_id: str, body: object = None) -> Answer:
        """``PUT /v1/customer_sessions/{customerSessionId}`` (v2: ``/v2/...``)."""
        return self.put(self._session, session_id, {} if body is None else body)

    @staticmethod
    def new_id(hint: str = "t") -> str:
        """``hint`` plus 16 random hex digits."""
        return f"{hint}-{uuid.uuid4().hex[:16]}"


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _errors(parsed: Any) -> list[str]:
    if not isinstance(parsed, dict) or not isinstance(parsed.get("errors"), list):
        return []
    lines = []
    for error in parsed["errors"]:
        if isinstance(error, dict):
            source = error.get("source")
            where = (source.get("pointer") or source.get("parameter")) if isinstance(source, dict) else None
            lines.append(f"{error.get('title', '')} at {where or '(no pointer)'}: {error.get('details', '')}")
    return lines


class _Pool:
    """The session's servers: one per settings (shared), plus module-owned ones (``scope="module"``)."""

    def __init__(self, config: pytest.Config, db_dir: Path) -> None:
        from talon_harness.strategies.wire import Credentials

        self.base_url: str | None = config.getoption("talon_base_url")
        self.credentials = _env_credentials() if self.base_url else Credentials(api_key=secrets.token_hex(16))
        self._db_dir = db_dir
        self._shared: dict[_Settings, TalonServer] = {}

    def server(self, settings: _Settings, *, own: bool) -> TalonServer:
        if own:
            return self._new(settings)
        if settings not in self._shared:
            self._shared[settings] = self._new(settings)
        return self._shared[settings]

    def _new(self, settings: _Settings) -> TalonServer:
        return TalonServer(settings, base_url=self.base_url, credentials=self.credentials,
                           db_dir=self._db_dir)

    def close(self) -> None:
        for server in self._shared.values():
            server.stop()


def _env_credentials() -> Credentials | None:
    from talon_harness.strategies.wire import Credentials

    api_key = os.environ.get("TALON_API_KEY") or None
    raw = os.environ.get("TALON_HMAC")
    if raw:
        app_id, sep, key = raw.partition(":")
        try:
            bytes.fromhex(key)
            ok = sep and app_id.isdigit() and int(app_id) >= 1 and len(key) == 16
        except ValueError:
            ok = False
        if not ok:
            raise pytest.UsageError("TALON_HMAC: expected APP_ID:KEY, a positive numeric id and a "
                                    "16-hex-digit key (value not shown)")
        return Credentials(api_key=api_key, hmac_application_id=int(app_id), hmac_key=key)
    return Credentials(api_key=api_key) if api_key else None


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--talon-base-url`` and the ini options ``talon_api_version``, ``talon_rules``, ``talon_fault``."""
    group = parser.getgroup("talon", "talon-harness (fixtures talon_server, talon_client)")
    group.addoption("--talon-base-url", dest="talon_base_url", default=None, metavar="URL",
                    help="run talon_server/talon_client tests against this server instead of an embedded "
                         "reference server (keys from TALON_API_KEY / TALON_HMAC)")
    parser.addini("talon_api_version", "API version of talon_server and talon_client (v1)", default="v1")
    parser.addini("talon_rules", "JSON rule set file for the embedded reference server (relative to the rootdir)")
    parser.addini("talon_fault", "a catalogue fault injected into the embedded reference server")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; check ``--talon-base-url`` and the credential variables (one-line usage errors)."""
    config.addinivalue_line(
        "markers", "talon(api_version=, rules=, fault=, scope=): settings of the talon_server of this module")
    url = config.getoption("talon_base_url")
    if url is not None:
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            parts = parts._replace(scheme="")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise pytest.UsageError(f"--talon-base-url: {url!r} is not an http(s) URL; "
                                    "expected e.g. http://127.0.0.1:8000")
        config.option.talon_base_url = url.rstrip("/")
        _env_credentials()


def pytest_report_header(config: pytest.Config) -> str | None:
    """Where talon_server points (only when --talon-base-url is given; an embedded server says nothing)."""
    url = config.getoption("talon_base_url")
    return f"talon: --talon-base-url {url}" if url else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a talon marker on a class or a function: the server is chosen once per module."""
    for item in items:
        for node, mark in item.iter_markers_with_node(_MARKER):
            if isinstance(node, (pytest.Class, pytest.Function)):
                raise pytest.UsageError(
                    f"{node.nodeid}: @pytest.mark.talon goes on the module (pytestmark = pytest.mark.talon(...)); "
                    "talon_server is module-scoped")
            unknown = sorted(set(mark.kwargs) - _MARKER_KEYS) or (["(positional)"] if mark.args else [])
            if unknown:
                raise pytest.UsageError(f"{node.nodeid}: pytest.mark.talon does not take {', '.join(unknown)}; "
                                        f"it takes {', '.join(sorted(_MARKER_KEYS))}")


def _settings(request: pytest.FixtureRequest) -> tuple[_Settings, bool]:
    config = request.config
    mark = request.node.get_closest_marker(_MARKER)
    kwargs = dict(mark.kwargs) if mark is not None else {}
    version = str(kwargs.get("api_version") or config.getini("talon_api_version") or "v1")
    if version not in API_VERSIONS:
        pytest.fail(f"talon: API version {version!r} is not available; available: {', '.join(API_VERSIONS)}",
                    pytrace=False)
    rules: Path | None = None
    if kwargs.get("rules"):
        rules = Path(request.node.path).parent / str(kwargs["rules"])
    elif config.getini("talon_rules"):
        rules = config.rootpath / str(config.getini("talon_rules"))
    if rules is not None:
        try:
            json.loads(rules.read_text(encoding="utf-8"))
            unreadable = ""
        except (OSError, ValueError) as exc:
            unreadable = str(exc)
        if unreadable:
            pytest.fail(f"talon: rule set {rules}: {unreadable}", pytrace=False)
    fault = str(kwargs.get("fault") or config.getini("talon_fault") or "") or None
    if fault is not None:
        from talon_harness.refserver.faults import check_fault_names

        try:
            check_fault_names([fault])
            unknown = ""
        except ValueError as exc:
            unknown = str(exc)
        if unknown:
            pytest.fail(f"talon: {unknown}", pytrace=False)
    scope = kwargs.get("scope", "session")
    if scope not in ("session", "module"):
        pytest.fail(f"talon: scope {scope!r}: expected 'session' or 'module'", pytrace=False)
    return _Settings(version, rules, fault), scope == "module"


@pytest.fixture(scope="session")
def _talon_pool(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Pool]:
    pool = _Pool(request.config, tmp_path_factory.mktemp("talon"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="module")
def talon_server(request: pytest.FixtureRequest, _talon_pool: _Pool) -> Iterator[TalonServer]:
    """The server of this module's settings (see the module docstring), started on first use."""
    settings, own = _settings(request)
    server = _talon_pool.server(settings, own=own)
    if not server.embedded and settings.fault:
        pytest.skip(f"talon: fault {settings.fault!r} needs the embedded reference server, not --talon-base-url")
    server.start()
    try:
        yield server
    finally:
        if own:
            server.stop()


@pytest.fixture(scope="module")
def talon_client(talon_server: TalonServer) -> Iterator[TalonClient]:
    """Signed requests to ``talon_server`` (:class:`TalonClient`)."""
    import httpx

    with httpx.Client(timeout=30) as http:
        yield TalonClient(talon_server, http)
