"""Applying an approval request signs the version, or refuses the change; never half of it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mlflow_registry_ext.errors import IntegrityError, InvalidInput, NotFound
from mlflow_registry_ext.registry.promotion import promote
from mlflow_registry_ext.signing.check import check_signature
from mlflow_registry_ext.signing.tables import signatures_table
from mlflow_registry_ext.signing.signatures import SignatureStore, find_signature
from mlflow_registry_ext.signing.version_files import version_files
from mlflow_registry_ext.approvals.version_state import alias_version
from mlflow_registry_ext.registry.store import GovernedRegistryStore
from tests.approvals.fixtures import add_version, approved_request, as_user, copy_database, governed_store
from tests.signing.helpers import flip_byte, make_keys, make_model_dir


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


@pytest.fixture
def signing_store(sqlite_template, tmp_path, monkeypatch, keys):
    monkeypatch.setenv("MLFLOW_GOVERNANCE_SIGNING_KEY", str(keys.signing_key))
    return governed_store(copy_database(sqlite_template, tmp_path / "db"), monkeypatch, tmp_path)


def _rows(store) -> int:
    with store.governance_db.reading() as engine, engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(signatures_table)).scalar()


def test_promotion_by_an_approved_request_is_signed_and_verifies(signing_store, keys, tmp_path):
    model_dir = make_model_dir(tmp_path / "model")
    version = add_version(signing_store, source=str(model_dir))
    request = approved_request(signing_store, "fraud-model", version)
    with as_user("erin"):
        promote(signing_store, "fraud-model", version, alias="production")
    record = find_signature(signing_store.inner, signing_store.governance_db, "fraud-model", version)
    assert record.request_id == request.id and record.key_id == keys.signing_key_id
    files = version_files(signing_store.inner, "fraud-model", version)
    report = check_signature(record, keys.signing_public.read_bytes(), files, model="fraud-model", version=version)
    assert report.approvers == ("alice", "bob") and report.digest == files.digest

    flip_byte(model_dir / "data" / "weights.bin")
    changed = version_files(signing_store.inner, "fraud-model", version)
    with pytest.raises(IntegrityError, match="^manifest:"):
        check_signature(record, keys.signing_public.read_bytes(), changed, model="fraud-model", version=version)


def test_an_edited_record_no_longer_verifies(signing_store, keys, tmp_path):
    version = add_version(signing_store, source=str(make_model_dir(tmp_path / "model")))
    approved_request(signing_store, "fraud-model", version)
    with as_user("erin"):
        promote(signing_store, "fraud-model", version, alias="production")
    record = find_signature(signing_store.inner, signing_store.governance_db, "fraud-model", version)
    files = version_files(signing_store.inner, "fraud-model", version)
    other = make_keys(tmp_path / "other")
    with pytest.raises(IntegrityError, match="^key:"):
        check_signature(record, other.signing_public.read_bytes(), files, model="fraud-model", version=version)
    forged = record.__class__(**{**record.to_dict(), "version": "9"})
    with pytest.raises(IntegrityError, match="^attestation:"):
        check_signature(forged, keys.signing_public.read_bytes(), files, model="fraud-model", version="9")
    swapped = record.__class__(**{**record.to_dict(), "signature_bundle": record.signature_bundle + " "})
    with pytest.raises(IntegrityError, match="^signature:"):
        check_signature(swapped, keys.signing_public.read_bytes(), files, model="fraud-model", version=version)


def test_signing_failure_refuses_the_promotion_and_leaves_the_request_approved(signing_store):
    # A source with no files cannot be signed: nothing may be half done.
    version = add_version(signing_store, source="/nonexistent/model/dir")
    request = approved_request(signing_store, "fraud-model", version)
    with as_user("erin"), pytest.raises(NotFound):
        promote(signing_store, "fraud-model", version, alias="production")
    assert alias_version(signing_store.inner, "fraud-model", "production") is None
    assert signing_store.approvals.get(request.id).status == "approved"
    assert _rows(signing_store) == 0
    blocked = [e for e in signing_store_audit(signing_store) if e.action == "promotion.blocked"]
    assert blocked and "signing failed" in blocked[-1].details["reason"]


def signing_store_audit(store):
    from mlflow_registry_ext.audit import log as audit_log

    with store.governance_db.reading() as engine:
        return audit_log.query(engine, audit_log.AuditQuery(model="fraud-model"))


def test_a_failed_change_withdraws_its_signature(signing_store, tmp_path, monkeypatch):
    version = add_version(signing_store, source=str(make_model_dir(tmp_path / "model")))
    request = approved_request(signing_store, "fraud-model", version)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(signing_store.inner, "set_registered_model_alias", broken)
    with as_user("erin"), pytest.raises(RuntimeError):
        promote(signing_store, "fraud-model", version, alias="production")
    assert _rows(signing_store) == 0
    assert signing_store.approvals.get(request.id).status == "approved"


def test_without_a_key_nothing_is_signed(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_GOVERNANCE_SIGNING_KEY", raising=False)
    store = governed_store(copy_database(sqlite_template, tmp_path / "db"), monkeypatch, tmp_path)
    version = add_version(store, source=str(make_model_dir(tmp_path / "model")))
    approved_request(store, "fraud-model", version)
    with as_user("erin"):
        promote(store, "fraud-model", version, alias="production")
    with pytest.raises(NotFound, match="no signature"):
        find_signature(store.inner, store.governance_db, "fraud-model", version)


def test_a_configured_but_broken_key_refuses_to_start(sqlite_template, tmp_path, monkeypatch, keys):
    uri = copy_database(sqlite_template, tmp_path / "db")
    for bad in (tmp_path / "missing.pem", keys.log_key, keys.signing_public):
        monkeypatch.setenv("MLFLOW_GOVERNANCE_SIGNING_KEY", str(bad))
        with pytest.raises(InvalidInput):
            GovernedRegistryStore(f"governed+{uri}")


def test_signatures_of_a_deleted_model_do_not_apply_to_a_new_one(signing_store, tmp_path):
    version = add_version(signing_store, source=str(make_model_dir(tmp_path / "model")))
    approved_request(signing_store, "fraud-model", version)
    with as_user("erin"):
        promote(signing_store, "fraud-model", version, alias="production")
    assert SignatureStore(signing_store.governance_db).latest("fraud-model", version) is not None
    signing_store.inner.delete_registered_model_alias("fraud-model", "production")
    signing_store.inner.delete_registered_model("fraud-model")
    again = add_version(signing_store, source=str(make_model_dir(tmp_path / "model2")))
    with pytest.raises(NotFound, match="no signature"):
        find_signature(signing_store.inner, signing_store.governance_db, "fraud-model", again)
