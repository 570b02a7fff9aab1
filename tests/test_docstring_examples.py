"""The ``>>>`` examples in the package's docstrings run, and show what they print.

Each module of the package is one test: its doctests run with ``ELLIPSIS | NORMALIZE_WHITESPACE``
and the module fails if any example does. The test walks the package itself (``pkgutil``) rather
than relying on ``--doctest-modules`` in ``addopts``: pytest's doctest collection imports modules
by file path, which fights ``--import-mode=importlib`` and the ``db/migrations`` scripts, and
would make every test command collect the whole package; here the modules are imported by name,
exactly as a user imports them.

Examples are documentation first, so they stay short and lean on a small shared namespace
(:data:`NAMESPACE`), built only for the names a module's examples use (a name is built as
soon as an example of the module mentions it, so local values take other names):

- every module's examples run in a fresh temporary directory (the working directory while they
  run), which holds ``policy.yaml`` (:data:`SAMPLE_POLICY`, also named by
  ``MLFLOW_GOVERNANCE_POLICY``); MLflow's tracking and registry URIs point at a SQLite file there,
  so nothing is written to the real working directory; ``MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY``
  holds a fresh key; the acting user (``MLFLOW_TRACKING_USERNAME``) is ``alice``;
- ``tmp_dir``: that directory, as a string;
- ``policy``/``rule``: :data:`SAMPLE_POLICY` parsed, and its rule for ``fraud-model``;
- ``tracking_uri``/``registry_uri``: ``sqlite:///<tmp>/mlflow.db`` and its ``governed+`` form, a
  registry holding ``fraud-model`` (created by ``frank``): version 1 tagged ``owner=risk`` and
  described, version 2 also tagged ``training_dataset`` and with a passing fairness record, so
  that only approvals stand between it and ``production``;
- ``db``: the governance database of ``registry_uri`` (the same SQLite file as ``store``);
- ``store``: a :class:`GovernedRegistryStore` on ``registry_uri``;
- ``as_user(name)``: act as ``name``, the way the server binds an authenticated user;
- ``frame``: 50 rows of evaluation data (``age``, ``sex``, ``label``, ``prediction``; demographic
  parity difference 0.04), also written as ``holdout.csv`` and ``holdout.parquet``;
- ``check``: the demographic parity check of ``frame`` on ``fraud-model`` version 1, named
  ``holdout`` (recorded in a database of its own, not in ``db``);
- ``model_dir``: a directory ``model`` in the temporary directory with the files ``MLmodel`` and
  ``model.pkl`` (1024 bytes);
- ``now``: a fixed ``datetime`` (2026-01-31 UTC).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import doctest
import importlib
import os
import pkgutil
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

import mlflow_registry_ext

_NOT_YET_RUN: set[str] = set()

# Alembic scripts, not importable modules of the package.
_NOT_MODULES = {"mlflow_registry_ext.db.migrations"}

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

#: The policy the examples are written against.
SAMPLE_POLICY = """\
version: 1
groups:
  risk-reviewers: [alice, bob, carol]
  platform-admins: [root]
  on-call: [olivia]
admin_override:
  allowed: ["group:platform-admins"]
models:
  - match: "fraud-*"
    protected_aliases: [production, champion]
    protected_stages: [Production]
    approvals:
      required: 2
      reviewers: ["group:risk-reviewers", dave]
      allow_self_approval: false
      expires_after: 7d
    require:
      tags: [owner, training_dataset]
      description: true
      fairness:
        - metric: demographic_parity_difference
          sensitive_feature: sex
          max: 0.1
    rollback:
      required: 0
      allowed: ["group:on-call"]
  - match: "*"
    protected_aliases: []
"""


def _excluded(name: str, names: set[str]) -> bool:
    return any(name == n or name.startswith(n + ".") for n in names)


def _modules() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(mlflow_registry_ext.__path__, mlflow_registry_ext.__name__ + "."):
        if not _excluded(info.name, _NOT_YET_RUN | _NOT_MODULES):
            found.append(info.name)
    return [mlflow_registry_ext.__name__, *sorted(found)]


@contextlib.contextmanager
def _as_user(name: str):
    from mlflow_registry_ext.identity import RequestIdentity, bind_request

    with bind_request(RequestIdentity(actor=name)):
        yield


class _Namespace:
    """Builds the names of :data:`NAMESPACE` on demand, each once, inside ``directory``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.values: dict[str, object] = {}

    def get(self, name: str):
        if name not in self.values:
            self.values[name] = NAMESPACE[name](self)
        return self.values[name]


def _policy(ns):
    from mlflow_registry_ext.policy import parse_policy

    return parse_policy(SAMPLE_POLICY)


def _db(ns):
    return ns.get("store").governance_db


_TEMPLATE: list[Path] = []


def _registry_uri(ns):
    from mlflow.entities.model_registry import ModelVersionTag

    from mlflow_registry_ext.fairness import FairnessCheck, FairnessStore
    from mlflow_registry_ext.registry.store import GovernedRegistryStore

    # MLflow's migrations take seconds: build the registry once, then copy the file.
    if not _TEMPLATE:
        directory = tempfile.mkdtemp(prefix="doctest-registry-")
        atexit.register(shutil.rmtree, directory, True)
        template = Path(directory) / "mlflow.db"
        store = GovernedRegistryStore(f"governed+sqlite:///{template}")
        with _as_user("frank"):
            store.create_registered_model("fraud-model")
            store.create_model_version("fraud-model", "s3://bucket/fraud-model/1",
                                       tags=[ModelVersionTag("owner", "risk")], description="gradient-boosted trees")
            store.create_model_version("fraud-model", "s3://bucket/fraud-model/2", description="retrained",
                                       tags=[ModelVersionTag("owner", "risk"), ModelVersionTag("training_dataset", "q1")])
            FairnessStore(store.governance_db).record([FairnessCheck(
                model="fraud-model", version="2", metric="demographic_parity_difference", sensitive_features=("sex",),
                aggregate="difference", value=0.04, threshold_max=0.1, passed=True)])
        store.governance_db.engine.dispose()
        _TEMPLATE.append(template)
    shutil.copyfile(_TEMPLATE[0], ns.directory / "mlflow.db")
    return f"governed+sqlite:///{ns.directory}/mlflow.db"


def _store(ns):
    from mlflow_registry_ext.registry.store import GovernedRegistryStore

    return GovernedRegistryStore(ns.get("registry_uri"))


def _frame(ns):
    import pandas as pd

    # 25 rows per group; selection rates 0.4 (F) and 0.36 (M): demographic parity difference 0.04.
    prediction = [1] * 10 + [0] * 15 + [1] * 9 + [0] * 16
    frame = pd.DataFrame({"age": list(range(20, 70)), "sex": ["F"] * 25 + ["M"] * 25,
                          "label": list(prediction), "prediction": prediction})
    frame.to_csv(ns.directory / "holdout.csv", index=False)
    frame.to_parquet(ns.directory / "holdout.parquet", index=False)
    return frame


def _check(ns):
    from mlflow_registry_ext.db.database import GovernanceDatabase
    from mlflow_registry_ext.fairness import evaluate_fairness

    ns.get("store")  # the version must exist; the record goes to a database of its own
    checks_db = GovernanceDatabase(f"sqlite:///{ns.directory}/checks.db")
    result = evaluate_fairness(checks_db, "fraud-model", "1", data=ns.get("frame"), y_true="label",
                               y_pred="prediction", sensitive_features=["sex"], check_name="holdout",
                               thresholds={"demographic_parity_difference": {"max": 0.1}}, log_charts=False)
    checks_db.engine.dispose()
    return result.checks[0]


def _model_dir(ns):
    model = ns.directory / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors:\n  python_function: {loader_module: model}\n")
    (model / "model.pkl").write_bytes(b"\0" * 1024)
    return str(model)


def _client(ns):
    from mlflow_registry_ext.client import GovernanceClient

    return GovernanceClient(registry_uri=ns.get("registry_uri"), tracking_uri=ns.get("tracking_uri"))


#: Name -> builder of the value the examples see under that name.
NAMESPACE = {
    "tmp_dir": lambda ns: str(ns.directory),
    "policy": _policy,
    "rule": lambda ns: ns.get("policy").rule_for("fraud-model"),
    "now": lambda ns: datetime.datetime(2026, 1, 31, tzinfo=datetime.timezone.utc),
    "tracking_uri": lambda ns: ns.get("registry_uri").removeprefix("governed+"),
    "registry_uri": _registry_uri,
    "db": _db,
    "store": _store,
    "as_user": lambda ns: _as_user,
    "frame": _frame,
    "holdout": _frame,
    "check": _check,
    "model_dir": _model_dir,
    "client": _client,
    "flask_app": lambda ns: __import__("flask").Flask("doctest"),
}


def _names_used(tests) -> list[str]:
    source = "\n".join(example.source for test in tests for example in test.examples)
    return [name for name in NAMESPACE if re.search(rf"\b{name}\b", source)]


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples(module_name, tmp_path, monkeypatch):
    from mlflow_registry_ext.mlflow_uris import using_uris

    module = importlib.import_module(module_name)
    tests = [t for t in doctest.DocTestFinder().find(module, module_name) if t.examples]
    if not tests:
        pytest.skip("no examples")
    (tmp_path / "policy.yaml").write_text(SAMPLE_POLICY)
    monkeypatch.setenv("MLFLOW_GOVERNANCE_POLICY", str(tmp_path / "policy.yaml"))
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", Fernet.generate_key().decode())
    namespace = _Namespace(tmp_path)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    # Not monkeypatch.chdir: monkeypatch is undone after the conftest's check for stray files.
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        uri = f"sqlite:///{tmp_path}/mlflow.db"
        with using_uris(uri, "governed+" + uri):
            values = {name: namespace.get(name) for name in _names_used(tests)}
            for test in tests:
                test.globs.update(values)
                runner.run(test, out=report.append)
    finally:
        os.chdir(cwd)
    for value in namespace.values.values():
        dispose = getattr(getattr(value, "engine", None), "dispose", None)
        if dispose:
            dispose()
    assert not runner.failures, "".join(report)
