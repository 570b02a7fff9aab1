"""The payload classes of ``mlflow_registry_ext.events.payloads`` and the docs printed from them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mlflow_registry_ext import events
from mlflow_registry_ext.events import payloads

ROOT = Path(__file__).resolve().parents[1]


def test_the_docs_table_is_printed_from_the_payload_classes():
    docs = (ROOT / "docs" / "webhooks.md").read_text()
    assert payloads.markdown_table() in docs, (
        "docs/webhooks.md's table of payload examples differs from the payload classes: paste the "
        "output of `python -m mlflow_registry_ext.events`"
    )


def test_every_payload_class_has_an_example_of_its_own_class():
    for name in payloads.__all__:
        cls = getattr(payloads, name)
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            example = cls.example()
            assert type(example) is cls
            assert set(example.to_dict()) == {f.name for f in dataclasses.fields(cls)}


def test_every_payload_class_appears_in_the_docs_table():
    table = payloads.markdown_table()
    for name in payloads.__all__:
        cls = getattr(payloads, name)
        if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls is not payloads.GenericPayload:
            assert f"(`{name}`)" in table, name


def test_the_package_still_exports_every_name_it_did():
    for name in events.__all__:
        assert getattr(events, name) is not None
    assert events.Event.__module__ == "mlflow_registry_ext.events.envelope"
    assert events.event_from_audit_entry.__module__ == "mlflow_registry_ext.events.from_audit"
