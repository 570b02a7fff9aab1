"""``artifacts pin``: versions registered before the plugin are pinned on demand."""

from __future__ import annotations

from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from tests.approvals.fixtures import copy_database, governed_store, sqlite_template  # noqa: F401


def test_pin_pins_every_version_registered_before_and_reports_progress(sqlite_template, tmp_path, monkeypatch,
                                                                       capsys):
    uri = copy_database(sqlite_template, tmp_path)
    source = tmp_path / "model"
    source.mkdir()
    (source / "MLmodel").write_text("artifact_path: model\n")
    # Registered on the plain store: no governance involved, so nothing pinned.
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    plain = SqlAlchemyStore(uri)
    plain.create_registered_model("fraud-old")
    plain.create_model_version("fraud-old", str(source))
    plain.create_model_version("fraud-old", str(source))
    monkeypatch.setenv("MLFLOW_GOVERNANCE_PIN_ROOT", f"cas+file://{tmp_path}/pins")
    store = governed_store(uri, monkeypatch, tmp_path)
    assert store.pinner.manifest("fraud-old", "1") is None
    assert run_guarded(cli, ["--registry-uri", f"governed+{uri}", "artifacts", "pin", "fraud-old"]) == 0
    out, err = capsys.readouterr()
    assert "fraud-old version 1: sha256:" in out and "fraud-old version 2" in out
    assert "Pinning fraud-old" in err
    assert store.pinner.manifest("fraud-old", "2").method == "copied"
    assert "/pins/_pinned/sha256/" in store.get_model_version_download_uri("fraud-old", "1")
    assert run_guarded(cli, ["--registry-uri", f"governed+{uri}", "artifacts", "pin", "fraud-old", "9"]) == 2
