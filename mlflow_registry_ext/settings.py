"""Every environment variable the package reads: one declaration each, read here and nowhere else.

Each :class:`Setting` names its variable, its kind, what it does and its default; modules read it
with :meth:`Setting.get` (at call time, so a changed environment takes effect), and the README's
table of variables is printed from the same declarations (``python -m mlflow_registry_ext.settings``;
a test keeps the README in step). Variables that belong to MLflow or to AWS and are only read
here too (``MLFLOW_TRACKING_URI``, ``AWS_REGION``...) are in :data:`MLFLOW` and :data:`AWS`.

Bad values raise :class:`~mlflow_registry_ext.errors.InvalidInput` naming the variable, so the
server refuses to start rather than run with a setting silently ignored.

Example:
    >>> RECONCILE_INTERVAL.get(environ={})
    3600.0
    >>> WEBHOOK_ALLOW_PRIVATE.get(environ={"MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE": "yes"})
    True
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Mapping

from mlflow_registry_ext.errors import InvalidInput

__all__ = ["Setting", "SETTINGS", "MLFLOW", "AWS", "non_negative", "is_true", "read", "markdown_table"]

_TRUE = ("1", "true", "yes", "on")


def is_true(raw: str | None) -> bool:
    """The package's one reading of a yes/no value: ``1``, ``true``, ``yes`` or ``on``."""
    return (raw or "").strip().lower() in _TRUE


def non_negative(name: str, default: float, *, kind: type = float, off: str | None = None,
                 environ: Mapping[str, str] | None = None) -> float:
    """The finite number >= 0 in variable ``name`` (``default`` when unset or blank).

    Args:
        kind: ``float``, or ``int`` for a whole number.
        off: What ``0`` turns off, named in the error message.

    Raises:
        InvalidInput: Anything else (the server refuses to start), naming the variable.
    """
    env = os.environ if environ is None else environ
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = -1
    if not (value >= 0 and math.isfinite(value)):
        whole = "whole " if kind is int else ""
        zero = f" (0 turns {off} off)" if off else ""
        raise InvalidInput(f"{name} must be a {whole}number >= 0{zero}, got {raw!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Setting:
    """One environment variable.

    Attributes:
        name: The variable.
        kind: ``text`` (stripped, ``None`` when unset or blank), ``raw`` (as set, unstripped),
            ``flag`` (:func:`is_true`), ``seconds`` or ``count`` (:func:`non_negative`, float or
            whole), ``list`` (comma-separated, blanks dropped).
        meaning: What it does (Markdown, as the README prints it).
        default: The default as the README prints it.
        value: The default :meth:`get` returns for ``seconds`` and ``count``.
        off: For ``seconds`` and ``count``: what ``0`` turns off (named in errors).
    """

    name: str
    kind: str
    meaning: str
    default: str
    value: Any = None
    off: str | None = None

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The variable as set (``None`` when unset)."""
        return (os.environ if environ is None else environ).get(self.name)

    def get(self, environ: Mapping[str, str] | None = None) -> Any:
        """The typed value (see :attr:`kind`).

        Raises:
            InvalidInput: A number that is not finite and >= 0.
        """
        raw = self.raw(environ)
        if self.kind == "raw":
            return raw
        if self.kind == "flag":
            return is_true(raw)
        if self.kind in ("seconds", "count"):
            return non_negative(self.name, self.value, kind=int if self.kind == "count" else float,
                                off=self.off, environ={} if raw is None else {self.name: raw})
        text = (raw or "").strip()
        if self.kind == "list":
            return [item.strip() for item in text.split(",") if item.strip()]
        return text or None


POLICY = Setting("MLFLOW_GOVERNANCE_POLICY", "text",
                 "path to the policy YAML ([docs/policy.md](docs/policy.md))",
                 "none: nothing protected, everything audited")
REQUIRE_POLICY = Setting("MLFLOW_GOVERNANCE_REQUIRE_POLICY", "flag",
                         "`true`: the governance server refuses to start without `MLFLOW_GOVERNANCE_POLICY` "
                         "(otherwise it starts and logs a warning naming that variable)", "false")
SCAN_ON_CREATE = Setting("MLFLOW_GOVERNANCE_SCAN_ON_CREATE", "text",
                         "`auto`: scan new versions of models whose rule sets `require.security_scan`; `true`: every "
                         "new version; `false`: on demand only ([docs/security.md](docs/security.md))", "`auto`")
SCANNER = Setting("MLFLOW_GOVERNANCE_SCANNER", "text", "`modelscan` or `picklescan`", "the first one installed")
PAGE_URL = Setting("MLFLOW_GOVERNANCE_PAGE_URL", "text",
                   "absolute base of the reviewer page for the `gov` tag's link on each covered version, e.g. "
                   "`https://mlflow.example.com/governance/` "
                   "([docs/approvals.md](docs/approvals.md#status-tags-in-the-stock-mlflow-ui))",
                   "`/governance/` under the server's `--static-prefix`")
DATABASE_URI = Setting("MLFLOW_GOVERNANCE_DATABASE_URI", "text",
                       "SQLAlchemy URI of another database for the governance tables (then each registry "
                       "transaction writes an intent row, relayed onto the audit chain after the commit and on "
                       "start-up)",
                       "the inner registry database (a change and its audit entry commit in one transaction)")
WEBHOOK_ALLOW_PRIVATE = Setting("MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE", "flag",
                                "allow webhook targets on loopback/private networks", "false")
AUTH = Setting("MLFLOW_GOVERNANCE_AUTH", "text",
               "`basic`: the `governance` app wraps MLflow's basic-auth app (needs the `auth` extra and MLflow's "
               "`MLFLOW_FLASK_SERVER_SECRET_KEY`); `proxy`: the user comes from a trusted reverse proxy's header "
               "([docs/server.md](docs/server.md))",
               "none: callers act as the server's identity; approve, reject, cancel and comment answer 401")
PROXY_USER_HEADER = Setting("MLFLOW_GOVERNANCE_PROXY_USER_HEADER", "text",
                            "with `MLFLOW_GOVERNANCE_AUTH=proxy`: the request header that names the user",
                            "`X-Forwarded-User`")
TRUSTED_PROXIES = Setting("MLFLOW_GOVERNANCE_TRUSTED_PROXIES", "list",
                          "with `MLFLOW_GOVERNANCE_AUTH=proxy`: comma-separated addresses or networks whose "
                          "header is believed", "`127.0.0.1,::1`")
ADMINS = Setting("MLFLOW_GOVERNANCE_ADMINS", "list",
                 "with `MLFLOW_GOVERNANCE_AUTH=proxy`: comma-separated users who are administrators", "none")
WEBHOOK_SECRET_ENCRYPTION_KEY = Setting("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", "text",
                                        "MLflow's key, reused to encrypt webhook secrets at rest",
                                        "none (storing a secret is refused)")
WEBHOOK_RETRY_SCHEDULE = Setting("MLFLOW_GOVERNANCE_WEBHOOK_RETRY_SCHEDULE", "text",
                                 "webhook retry delays in seconds, comma-separated "
                                 "([docs/webhooks.md](docs/webhooks.md))",
                                 "the Standard Webhooks schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h")
AUDIT_WITNESSES = Setting("MLFLOW_GOVERNANCE_AUDIT_WITNESSES", "raw",
                          "comma-separated `file:///path` and `s3://bucket/prefix` URIs that keep every audit "
                          "checkpoint ([docs/audit.md](docs/audit.md))", "none")
WITNESS_SECRET = Setting("MLFLOW_GOVERNANCE_WITNESS_SECRET", "text",
                         "the `whsec_` secret `audit witness --serve` checks deliveries with", "none")
SIGNING_KEY = Setting("MLFLOW_GOVERNANCE_SIGNING_KEY", "raw",
                      "path to the ECDSA P-256 PEM private key that signs model manifests (OpenSSF Model Signing, "
                      "`signing` extra), approval attestations and evidence bundles (`keygen` makes it); set but "
                      "unusable: the server refuses to start ([docs/approvals.md](docs/approvals.md#signed-approvals))",
                      "none: nothing is signed")
LOG_KEY = Setting("MLFLOW_GOVERNANCE_LOG_KEY", "raw",
                  "path to the Ed25519 PEM private key that signs audit checkpoints (`keygen` makes it)",
                  "none: no checkpoints are signed")
LOG_ORIGIN = Setting("MLFLOW_GOVERNANCE_LOG_ORIGIN", "raw",
                     "the audit log's name: origin line of its checkpoints and name of its note key",
                     "`<host name>/mlflow-registry-ext`")
CHECKPOINT_EVERY = Setting("MLFLOW_GOVERNANCE_CHECKPOINT_EVERY", "count",
                           "the server signs an audit checkpoint after this many new entries (0: not by count); only "
                           "with `MLFLOW_GOVERNANCE_LOG_KEY`, once per deployment "
                           "([docs/audit.md](docs/audit.md#automatic-checkpoints))", "100",
                           value=100)
CHECKPOINT_INTERVAL = Setting("MLFLOW_GOVERNANCE_CHECKPOINT_INTERVAL", "seconds",
                              "... or this many seconds after the last checkpoint when at least one entry was added "
                              "(0: not by time)", "300", value=300.0)
RECONCILE_INTERVAL = Setting("MLFLOW_GOVERNANCE_RECONCILE_INTERVAL", "seconds",
                             "seconds between the server's reconciles of the registry with its audit log (once per "
                             "deployment; `0` turns them off)", "3600", value=3600.0, off="reconciling")
ARTIFACT_CHECK_INTERVAL = Setting("MLFLOW_GOVERNANCE_ARTIFACT_CHECK_INTERVAL", "seconds",
                                  "seconds between two checks, by the governance server, that every pinned version's "
                                  "source still holds its pinned files (a change is recorded as "
                                  "`model_version.artifacts_changed`); `0` turns it off "
                                  "([docs/artifacts.md](docs/artifacts.md#when-a-runs-files-change-after-pinning))",
                                  "`900`", value=900.0, off="the check")
PIN_ROOT = Setting("MLFLOW_GOVERNANCE_PIN_ROOT", "text",
                   "a `cas+` artifact root that versions whose files are elsewhere are copied into when they are "
                   "pinned ([docs/artifacts.md](docs/artifacts.md))",
                   "the server's `cas+` `--artifacts-destination`, if any; else files are verified where they are")
CAS_FSYNC = Setting("MLFLOW_CAS_FSYNC", "flag",
                    "`true`: flush each local blob to disk before it is named", "off (like MLflow's own local store)")
CAS_S3_PART_SIZE = Setting("MLFLOW_CAS_S3_PART_SIZE", "text",
                           "S3 multipart part size in bytes (at least 5 MiB; grows so a file needs at most 10,000 parts)",
                           "8 MiB")

#: The package's own variables, in the README's order.
SETTINGS: tuple[Setting, ...] = (
    POLICY, SCAN_ON_CREATE, SCANNER, PAGE_URL, DATABASE_URI, WEBHOOK_ALLOW_PRIVATE, AUTH, PROXY_USER_HEADER,
    TRUSTED_PROXIES, ADMINS, WEBHOOK_SECRET_ENCRYPTION_KEY, REQUIRE_POLICY, AUDIT_WITNESSES, WITNESS_SECRET,
    WEBHOOK_RETRY_SCHEDULE, SIGNING_KEY, LOG_KEY, CHECKPOINT_EVERY, CHECKPOINT_INTERVAL, RECONCILE_INTERVAL,
    LOG_ORIGIN, ARTIFACT_CHECK_INTERVAL, PIN_ROOT, CAS_FSYNC, CAS_S3_PART_SIZE,
)


class _Group:
    """Variables of another tool that the package reads as that tool does."""

    def __init__(self, **names: str):
        self._names = names

    def get(self, key: str, environ: Mapping[str, str] | None = None) -> str | None:
        return (os.environ if environ is None else environ).get(self._names[key])

    def name(self, key: str) -> str:
        return self._names[key]


#: MLflow's own variables (the server sets the underscored ones for its workers).
MLFLOW = _Group(
    tracking_uri="MLFLOW_TRACKING_URI",
    registry_uri="MLFLOW_REGISTRY_URI",
    username="MLFLOW_TRACKING_USERNAME",
    static_prefix="_MLFLOW_STATIC_PREFIX",
    server_artifact_destination="_MLFLOW_SERVER_ARTIFACT_DESTINATION",
    s3_endpoint_url="MLFLOW_S3_ENDPOINT_URL",
    s3_ignore_tls="MLFLOW_S3_IGNORE_TLS",
    boto_addressing_style="MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE",
)

#: AWS's variables, read as boto3 reads them.
AWS = _Group(
    access_key_id="AWS_ACCESS_KEY_ID",
    secret_access_key="AWS_SECRET_ACCESS_KEY",
    session_token="AWS_SESSION_TOKEN",
    default_region="AWS_DEFAULT_REGION",
    region="AWS_REGION",
    profile="AWS_PROFILE",
)


def read(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A variable another tool defines, by the name that tool's own constant gives."""
    return (os.environ if environ is None else environ).get(name)


def markdown_table() -> str:
    """The README's table of the package's variables."""
    lines = ["| env var | meaning | default |", "| --- | --- | --- |"]
    lines += [f"| `{s.name}` | {s.meaning} | {s.default} |" for s in SETTINGS]
    lines.append("| `MLFLOW_REGISTRY_URI` / `MLFLOW_TRACKING_URI` | defaults of the CLI's `--registry-uri` / "
                 "`--tracking-uri` | none |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - printed for the README
    print(markdown_table())
