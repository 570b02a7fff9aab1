"""Schemathesis fuzzes every documented operation of a real server: whatever it sends, the server
never answers 5xx. A few examples per operation keep it bounded.

``webhooks_create`` and ``webhooks_update`` are left out: the test server allows private webhook
targets, and generated URLs must never make its dispatcher call anything but loopback (both are
covered with fixed URLs elsewhere).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from mlflow_registry_ext import routes
from mlflow_registry_ext.api import OPERATIONS, path_for
from mlflow_registry_ext.api.validation import INT64_MAX, INT64_MIN, MAX_DEPTH
from tests.support.operations import body_fields, query_fields

pytestmark = [pytest.mark.server, pytest.mark.slow]

EXAMPLES = 8
LEFT_OUT = {"webhooks_create", "webhooks_update"}


def _fuzz(operation, base_url: str, failures: list[str]) -> int:
    calls = []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)
    def fuzz(case):
        response = case.call(base_url=base_url, timeout=60)
        calls.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{operation.method.upper()} {response.request.url} -> "
                            f"{response.status_code}: {response.text[:300]}")

    fuzz()
    return len(calls)


def test_no_generated_input_makes_the_server_fail(open_server):
    schema = schemathesis.openapi.from_url(open_server.url + routes.API_PREFIX + routes.OPENAPI_PATH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.definition.raw["operationId"] for op in operations} == set(OPERATIONS)
    failures: list[str] = []
    fuzzed = [op for op in operations if op.definition.raw["operationId"] not in LEFT_OUT]
    calls = sum(_fuzz(operation, open_server.url, failures) for operation in fuzzed)
    assert calls >= 2 * len(fuzzed)
    assert not failures, "\n".join(failures) + "\n" + open_server.log_tail(40)


# -- the input classes no store can hold ---------------------------------------------------------
# Every operation gets each class that applies to it, drawn by hypothesis: lone surrogates in a
# string (a body field, a path parameter), integers just outside 64 bits and far outside it,
# nesting past MAX_DEPTH, and a body over MAX_BODY_BYTES. Each must be a 400 in MLflow's JSON.

import json  # noqa: E402

import requests  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mlflow_registry_ext.server.blueprint import MAX_BODY_BYTES  # noqa: E402

SURROGATES = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
OUTSIDE_64_BITS = st.one_of(st.integers(INT64_MAX + 1, INT64_MAX + 2**16), st.integers(INT64_MIN - 2**16, INT64_MIN - 1),
                            st.integers(2**64, 2**200), st.just(INT64_MAX + 1))
DEPTHS = st.integers(MAX_DEPTH + 1, 20_000)


def _nested(depth: int, leaf: str, opener: str) -> str:
    closer = {"[": "]", '{"k":': "}"}[opener]
    return opener * depth + leaf + closer * depth


def _send(server_url: str, op, path_values: dict, query: dict | None = None, raw: bytes | None = None):
    method, path = path_for(op.name, **path_values)
    headers = {"Content-Type": "application/json"} if raw is not None else {}
    return requests.request(method, server_url + path, params=query, data=raw, headers=headers, timeout=120)


def _assert_refused(response, where: str) -> None:
    assert response.status_code == 400, f"{where}: {response.status_code} {response.text[:300]}"
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE" and body["message"], f"{where}: {body}"


def _classes(op) -> list[str]:
    classes = []
    if op.path_params:
        classes.append("path_surrogate")
    if any(f.type == "integer" for f in query_fields(op)):
        classes.append("query_int")
    body = body_fields(op)
    if body is not None:
        classes += ["body_surrogate", "body_nesting"]
        if any(f.type == "integer" for f in body) or any(f.type in ("any", "object", "array") for f in body):
            classes.append("body_int")
    return classes


def _check(server_url: str, op, kind: str, data) -> None:
    path_values = {name: "x" for name in op.path_params}
    where = f"{op.name} {kind} {str(data)[:60]!r}"
    query_declared, body_declared = query_fields(op), body_fields(op)
    if kind == "path_surrogate":
        method, path = path_for(op.name, **path_values)
        # A surrogate cannot travel as UTF-8: its CESU bytes (%ED%A0%80 for U+D800) are what a
        # careless client sends; the server must not take them for a name.
        quoted = "".join(f"%{b:02X}" for ch in data for b in ch.encode("utf-8", "surrogatepass"))
        path = path.replace("/x", "/" + quoted, 1)
        response = requests.request(method, server_url + path, timeout=60)
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
        return
    if kind == "query_int":
        field = next(f for f in query_declared if f.type == "integer")
        query = {f.name: "m" for f in query_declared if f.required}
        query[field.name] = str(data)
        _assert_refused(_send(server_url, op, path_values, query=query), where)
        return
    if kind == "body_surrogate":
        strings = [f for f in body_declared if f.type in ("string", "any")] or list(body_declared)
        field = strings[0] if strings else None
        body = {field.name if field else "text": data}
        raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as a \\udXXX escape
    elif kind == "body_int":
        field = next((f for f in body_declared if f.type == "integer"), None) or next(
            f for f in body_declared if f.type in ("any", "object", "array"))
        value = data if field.type in ("integer", "any") else ({"k": data} if field.type == "object" else [data])
        raw = json.dumps({field.name: value}).encode()
    else:
        name = body_declared[0].name if body_declared else "x"
        raw = ('{"%s":' % name + _nested(data, "1", "[") + "}").encode()
    _assert_refused(_send(server_url, op, path_values, raw=raw), where)


def _fuzz_class(server_url: str, op, kind: str, strategy) -> None:
    @given(data=strategy)
    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)
    def fuzz(data):
        _check(server_url, op, kind, data)

    fuzz()


def test_inputs_no_store_can_hold_are_refused_with_400_on_every_operation(open_server):
    covered: dict[str, set[str]] = {}
    strategies = {"path_surrogate": SURROGATES, "query_int": OUTSIDE_64_BITS, "body_surrogate": SURROGATES,
                  "body_int": OUTSIDE_64_BITS, "body_nesting": DEPTHS}
    for op in OPERATIONS.values():
        if op.name in LEFT_OUT:
            continue
        for kind in _classes(op):
            _fuzz_class(open_server.url, op, kind, strategies[kind])
            covered.setdefault(kind, set()).add(op.name)
    with_body = {op.name for op in OPERATIONS.values() if op.body is not None} - LEFT_OUT
    assert covered["body_surrogate"] == with_body and covered["body_nesting"] == with_body
    assert "audit_list" in covered["query_int"] and covered["path_surrogate"]


def test_the_reported_inputs_are_400_and_the_server_stays_up(open_server):
    """A comment "\\ud800", a comment nested 5,000 levels deep, after_seq=2**63: each was a 500."""
    url = open_server.url + routes.API_PREFIX
    status, created, _ = _call_json(url + "/approval-requests/ar_missing/comment", b'{"text": "\\ud800"}')
    assert status == 400 and "Unicode" in created["message"], created
    deep = b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    status, answer, _ = _call_json(url + "/approval-requests/ar_missing/comment", deep)
    assert status == 400 and f"deeper than {MAX_DEPTH}" in answer["message"], answer
    response = requests.get(url + "/audit", params={"after_seq": "9223372036854775808"}, timeout=60)
    assert response.status_code == 400 and "64 bits" in response.json()["message"], response.text
    assert requests.get(url + "/audit", params={"after_seq": str(INT64_MAX)}, timeout=60).status_code == 200


def test_a_body_over_the_documented_size_is_400(open_server):
    url = open_server.url + routes.API_PREFIX + "/approval-requests/ar_missing/comment"
    too_big = b'{"text": "' + b"a" * MAX_BODY_BYTES + b'"}'
    response = requests.post(url, data=too_big, headers={"Content-Type": "application/json"}, timeout=120)
    _assert_refused(response, "oversized body")
    assert "64 MiB" in response.json()["message"]

    def chunks():  # no Content-Length: the server must stop reading at the limit
        piece = b"a" * (1024 * 1024)
        yield b'{"text": "'
        for _ in range(MAX_BODY_BYTES // len(piece) + 1):
            yield piece
        yield b'"}'

    response = requests.post(url, data=chunks(), headers={"Content-Type": "application/json"}, timeout=120)
    _assert_refused(response, "oversized chunked body")


def _call_json(url: str, raw: bytes):
    response = requests.post(url, data=raw, headers={"Content-Type": "application/json"}, timeout=60)
    return response.status_code, response.json(), response.headers
