"""Shared plumbing of the CLI: global options, output, and errors mapped to exit codes.

Exit codes: 0 success; 1 a check failed; 2 usage or input error, or not found; 3 refused by
policy or permissions; 4 the server cannot be reached. Errors are one readable line on stderr.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from typing import Any, Callable

import click
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.errors import exit_code_for
from mlflow_registry_ext.rest_transport import unreachable
from mlflow_registry_ext.times import iso_utc_datetime


@dataclasses.dataclass
class CliContext:
    """What the global options say; commands read it through :func:`pass_cli`."""

    registry_uri: str | None = None
    tracking_uri: str | None = None
    as_json: bool = False

    @property
    def uses_server(self) -> bool:
        """Whether calls go to a server: an http(s) tracking URI and no registry URI."""
        return not self.registry_uri and bool(self.tracking_uri) and self.tracking_uri.startswith(
            ("http://", "https://"))

    def client(self):
        """The :class:`GovernanceClient` the global options point at: the registry of
        ``--registry-uri``, else the server of an http(s) ``--tracking-uri``, else the governance
        database named by ``MLFLOW_GOVERNANCE_DATABASE_URI`` alone."""
        from mlflow_registry_ext import settings
        from mlflow_registry_ext.client import GovernanceClient

        if not self.registry_uri and not self.uses_server and settings.DATABASE_URI.raw():
            from mlflow_registry_ext.db.database import GovernanceDatabase

            return GovernanceClient.on_database(GovernanceDatabase.for_registry_uri(None))
        return GovernanceClient(registry_uri=self.registry_uri, tracking_uri=self.tracking_uri)

    def emit(self, result: Any, human: Callable[[Any], str] | str | None = None) -> None:
        """Print ``result``: as JSON under ``--json``, else through ``human`` (text or a function)."""
        if self.as_json:
            click.echo(json.dumps(to_jsonable(result), indent=2, sort_keys=True))
            return
        if human is None:
            click.echo(json.dumps(to_jsonable(result), indent=2, sort_keys=True))
        elif callable(human):
            click.echo(human(result))
        else:
            click.echo(human)


pass_cli = click.make_pass_decorator(CliContext)

#: Options of the top-level group: named in the hint when someone writes them after the command.
GLOBAL_OPTIONS = ("--registry-uri", "--tracking-uri", "--json")


class ModelVersion(click.ParamType):
    """A model version as MLflow numbers them: a whole number from 1 (kept as text)."""

    name = "version"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if not text.isdigit() or int(text) < 1:
            self.fail(f"{value!r} is not a model version: versions are whole numbers from 1", param, ctx)
        return str(int(text))


MODEL_VERSION = ModelVersion()


def to_jsonable(value: Any) -> Any:
    """Entities, dataclasses, datetimes and containers as plain JSON values."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return to_jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, _dt.datetime):
        return iso_utc_datetime(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


class CheckFailedExit(click.ClickException):
    """Raised by a command whose check found a problem (exit code 1)."""

    exit_code = 1


def run_guarded(group: click.Group, argv: list[str] | None) -> int:
    """Run ``group`` and turn every error into one stderr line plus the contract's exit code."""
    try:
        # Outside standalone mode click returns the exit code of --help/--version instead of
        # calling sys.exit; commands themselves return None.
        rv = group.main(args=argv, prog_name="mlflow-registry-ext", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("mlflow-registry-ext: aborted", err=True)
        return 2
    except click.NoSuchOption as exc:
        click.echo(f"mlflow-registry-ext: {_no_such_option(exc)}", err=True)
        return 2
    except click.UsageError as exc:
        hint = f" (try '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"mlflow-registry-ext: {exc.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"mlflow-registry-ext: {exc.format_message()}", err=True)
        return exc.exit_code
    except MlflowException as exc:
        down = unreachable(exc)
        if down is not None:
            click.echo(f"mlflow-registry-ext: {_one_line(down.message)}", err=True)
            return down.exit_code
        click.echo(f"mlflow-registry-ext: {exc.error_code}: {_one_line(exc.message)}", err=True)
        return exit_code_for(exc)
    except (OSError, ValueError) as exc:
        click.echo(f"mlflow-registry-ext: {_one_line(str(exc))}", err=True)
        return 2
    return rv if isinstance(rv, int) else 0


def _no_such_option(exc: click.NoSuchOption) -> str:
    """Click's message, with a hint for the two usual slips: a global option after the command,
    and a negative number where a value goes."""
    name = exc.option_name
    where = exc.ctx.command_path if exc.ctx else "mlflow-registry-ext"
    command = where.split(" ", 1)[1] if " " in where else "COMMAND"
    if name in GLOBAL_OPTIONS:
        return (f"{name} is a global option: it goes before the command, as in "
                f"'mlflow-registry-ext {name}{'' if name == '--json' else ' ...'} {command} ...'")
    if name.lstrip("-").isdigit():
        return f"{name!r} is not a model version: versions are whole numbers from 1"
    return f"{exc.format_message()} (try '{where} --help')"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())

