"""Request inputs are parsed exactly as declared; anything else is a 400 naming the input."""

from __future__ import annotations

import json

import pytest

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.api import OPERATIONS
from mlflow_registry_ext.api.validation import parse_body, parse_path, parse_query


def test_query_values_are_converted_and_bounded():
    op = OPERATIONS["audit_list"]
    parsed = parse_query(op, {"limit": "5", "after_seq": "0", "model": "m", "ignored": "x"})
    assert parsed["limit"] == 5 and parsed["after_seq"] == 0 and parsed["model"] == "m"
    assert parsed["actor"] is None
    for bad in ({"limit": "0"}, {"limit": "ten"}, {"limit": "10001"}, {"after_seq": "-1"}):
        with pytest.raises(InvalidInput):
            parse_query(op, bad)


def test_booleans_and_enums():
    op = OPERATIONS["approval_requests_list"]
    assert parse_query(op, {"reviewable": "true", "status": "pending"})["reviewable"] is True
    assert parse_query(op, {"reviewable": "0"})["reviewable"] is False
    with pytest.raises(InvalidInput, match="reviewable"):
        parse_query(op, {"reviewable": "maybe"})
    with pytest.raises(InvalidInput, match="status must be one of"):
        parse_query(op, {"status": "done"})


def test_required_query_parameters():
    with pytest.raises(InvalidInput, match="'version'"):
        parse_query(OPERATIONS["status_get"], {"model": "m"})


def test_body_must_be_an_object_of_known_fields_with_the_declared_types():
    op = OPERATIONS["approval_requests_create"]
    ok = parse_body(op, json.dumps({"model": "m", "version": "1", "alias": "production"}).encode())
    assert ok["stage"] is None and ok["alias"] == "production"
    cases = {
        b"[1]": "JSON object",
        b"{not json": "not valid JSON",
        json.dumps({"model": "m"}).encode(): "'version'",
        json.dumps({"model": "m", "version": 1}).encode(): "version must be a string",
        json.dumps({"model": "m", "version": "1", "requester": "mallory"}).encode(): "Unknown field",
        json.dumps({"model": "m\x00", "version": "1"}).encode(): "NUL",
        json.dumps({"model": "m" * 300, "version": "1"}).encode(): "longer than",
    }
    for raw, message in cases.items():
        with pytest.raises(InvalidInput, match=message):
            parse_body(op, raw)


def test_arrays_and_numbers():
    op = OPERATIONS["webhooks_create"]
    with pytest.raises(InvalidInput, match="every item of events"):
        parse_body(op, json.dumps({"url": "http://x", "events": [1]}).encode())
    rotate = OPERATIONS["webhooks_rotate_secret"]
    with pytest.raises(InvalidInput, match="grace_seconds must be an integer"):
        parse_body(rotate, json.dumps({"grace_seconds": True}).encode())
    assert parse_body(rotate, b"")["grace_seconds"] is None


def test_path_parameters_refuse_control_characters():
    op = OPERATIONS["webhooks_get"]
    assert parse_path(op, {"webhook_id": "wh_1"}) == {"webhook_id": "wh_1"}
    with pytest.raises(InvalidInput):
        parse_path(op, {"webhook_id": "wh\n1"})


def test_a_choice_given_as_another_type_is_refused_as_not_a_string():
    op = OPERATIONS["webhooks_create"]
    with pytest.raises(InvalidInput, match="signature_scheme must be a string"):
        parse_body(op, json.dumps({"url": "http://x", "events": ["*"], "signature_scheme": 5}).encode())


def test_null_means_absent():
    op = OPERATIONS["approval_requests_comment"]
    with pytest.raises(InvalidInput, match="Missing required field 'text'"):
        parse_body(op, json.dumps({"text": None}).encode())
    assert parse_body(OPERATIONS["approval_requests_approve"], b'{"comment": null}') == {"comment": None}


def test_integers_outside_64_bits_are_named_as_such():
    with pytest.raises(InvalidInput, match="after_seq must fit in 64 bits"):
        parse_query(OPERATIONS["audit_list"], {"after_seq": str(2**63)})
    with pytest.raises(InvalidInput, match="does not fit in 64 bits"):
        parse_body(OPERATIONS["webhooks_rotate_secret"], json.dumps({"grace_seconds": 2**63}).encode())
