"""What the ``talon-harness`` commands share: exit codes, the one-line error group, the shared options
(``TARGET_OPTIONS`` ...), credentials from options, and the target every command sends traffic to."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from talon_harness.contracts.spec import API_NAMES, DEFAULT_API
from talon_harness.harness.params import (
    HmacCredentials,
    Secret,
    Url,
)

__all__ = ["EXIT_FAILED", "EXIT_HARNESS", "EXIT_INTERRUPTED", "EXIT_PASSED", "TARGET_OPTIONS", "HarnessError",
           "HarnessGroup"]


EXIT_PASSED, EXIT_FAILED, EXIT_HARNESS, EXIT_INTERRUPTED = 0, 1, 2, 130

F = TypeVar("F", bound=Callable[..., Any])


class HarnessError(click.ClickException):
    """The harness could not do its job (exit code 2, as schemathesis uses it)."""

    exit_code = EXIT_HARNESS


def fail(message: str, code: int = EXIT_HARNESS) -> NoReturn:
    click.echo("Error: " + " ".join(message.split()), err=True)
    sys.exit(code)


class HarnessGroup(click.Group):
    """A click group whose every error is one line on stderr: usage errors and bad values (exit 2, no
    usage block), harness errors (exit 2), unexpected exceptions (exit 2, named, no traceback),
    Ctrl-C (exit 130). Commands end with ``sys.exit(code)``, which passes through unchanged."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except (click.exceptions.Abort, KeyboardInterrupt):
            fail("interrupted", EXIT_INTERRUPTED)
        except click.ClickException as exc:
            fail(exc.format_message())
        except Exception as exc:  # noqa: BLE001 - the last guard: a user never sees a traceback
            fail(f"internal error, please report it: {type(exc).__name__}: {exc}")
        sys.exit(rv if isinstance(rv, int) else EXIT_PASSED)  # --help / --version


def options_in_order(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Apply ``decorators`` (click options) in the order they are listed (as --help shows them)."""
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func
    return apply


def fault_names() -> tuple[str, ...]:
    from talon_harness.refserver.faults import FAULTS, V2_FAULTS

    return (*FAULTS, *V2_FAULTS)


def check_names() -> tuple[str, ...]:
    """Every name ``--checks`` / ``--exclude-checks`` may take on some API: the built-ins, every API's domain
    rules, ``all`` (whether the run's ``--api`` has the rule is ``check_config.validate``'s to say)."""
    from talon_harness.contracts.apis import all_rules
    from talon_harness.harness.check_config import BUILTIN_CHECKS

    return (*BUILTIN_CHECKS, *all_rules(), "all")


def shape_names() -> tuple[str, ...]:
    from talon_harness.loadtests.shapes import SHAPES

    return tuple(SHAPES)


API_KEY = click.option("--api-key", type=Secret(), envvar="TALON_API_KEY",
                       help="API key sent as 'Authorization: ApiKey-v1 <key>' (env TALON_API_KEY). Never printed.")
HMAC = click.option("--hmac", type=HmacCredentials(), envvar="TALON_HMAC",
                    help="APP_ID:KEY for the v1 HMAC Content-Signature (env TALON_HMAC). Never printed.")
BASE_URL = click.option("--base-url", type=Url(), help="Server to test (default: the embedded reference server).")
ALLOW_REMOTE = click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --base-url for load.")
SEED = click.option("--seed", default=None, type=click.IntRange(min=0), help="Seed for repeatable generation.")
API = click.option("--api", default=DEFAULT_API, show_default=True, type=click.Choice(API_NAMES),
                   help="API under test: v1 (the seed's 2018-02 revision), v1-2021 (the final v1 revision, D16) or "
                        "v2; the embedded reference server speaks it.")
MAX_RATE = click.option("--max-rate", type=click.FloatRange(min=0, min_open=True),
                        help="Cap on load requests per second.")


def report_dir_option(default: str) -> Callable[[F], F]:
    return click.option("--report-dir", default=Path(default), show_default=True,
                        type=click.Path(file_okay=False, path_type=Path), help="Where the reports go.")


#: The target of check, load and run: where traffic goes, which API it speaks, with which credentials.
TARGET_OPTIONS = options_in_order(BASE_URL, API, API_KEY, HMAC)


def credentials_from(api_key: str | None, hmac: tuple[int, str] | None) -> Any:  # strategies.wire.Credentials | None
    from talon_harness.strategies.wire import Credentials

    if api_key and hmac:
        raise click.UsageError("give either --api-key or --hmac, not both")
    if hmac:
        return Credentials(hmac_application_id=hmac[0], hmac_key=hmac[1])
    if api_key:
        return Credentials(api_key=api_key)
    return None


def refuse_remote_load(base_url: str | None, allow_remote: bool) -> None:
    from talon_harness.loadtests.config import is_loopback_url

    if base_url and not allow_remote and not is_loopback_url(base_url):
        raise click.UsageError(f"--base-url {base_url} is not a loopback address; pass --allow-remote to load it")


def refuse_wrong_target(base_url: str, creds: Any, api: str) -> None:
    """Exit 2 in one line when ``base_url`` does not answer or refuses ``creds`` (``loadtests.probe``: asked
    first, so a stalled target costs one probe's timeout, not one per question), or answers but does not
    speak ``api`` (``loadtests.probe.api_mismatch``) or is no Talon.One v1 server (``harness.preflight``)."""
    from talon_harness.harness.preflight import wrong_target
    from talon_harness.loadtests.probe import api_mismatch, probe_target

    problem = probe_target(base_url, creds).problem or api_mismatch(base_url, api, creds)
    if not problem and api != "v2":  # wrong_target asks v1's questions
        problem = wrong_target(base_url, creds=creds)
    if problem:
        raise HarnessError(problem)


def health_probe(base_url: str, creds: Any, api: str) -> None:
    """Exit 2 in one line when the proxy's upstream is unreachable, refuses ``creds`` (``loadtests.probe``) or
    does not speak ``api`` while it answers another; without ``creds`` a refusal is no problem: the proxy
    forwards its clients' own credentials."""
    from talon_harness.loadtests.probe import api_mismatch, probe_target

    probe = probe_target(base_url, creds)
    if probe.problem and (creds is not None or not probe.refused):
        raise HarnessError(probe.problem)
    if not probe.refused and (mismatch := api_mismatch(base_url, api, creds)):
        raise HarnessError(mismatch)


@contextlib.contextmanager
def target_url(base_url: str | None, creds: Any, *, api: str, quiet: bool = False) -> Iterator[str]:
    """The URL to send traffic to: ``base_url``, or an embedded reference server with ``creds`` speaking ``api``."""
    from talon_harness.harness.target import TargetError, target

    try:
        with target(base_url, creds, quiet=quiet, api=api) as url:
            yield url
    except TargetError as exc:
        raise HarnessError(str(exc)) from exc


def validated(build: Callable[..., Any], **fields: Any) -> Any:
    """``build(**fields)``; a ValueError from its validation becomes a usage error (exit 2)."""
    try:
        return build(**fields)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

