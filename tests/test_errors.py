"""The package's coded errors: MLflow's missing resources become ``NotFound`` in one place."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST

from mlflow_registry_ext.errors import NotFound, missing_as_not_found


def test_a_missing_resource_becomes_not_found_and_anything_else_passes_through():
    with pytest.raises(NotFound, match="^Model version m 3 does not exist$") as err:
        with missing_as_not_found("Model version m 3 does not exist"):
            raise MlflowException("RegisteredModel 'm' not found", error_code=RESOURCE_DOES_NOT_EXIST)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST" and err.value.exit_code == 2
    for other in (MlflowException("bad", error_code=INVALID_PARAMETER_VALUE), ValueError("bad")):
        with pytest.raises(type(other)) as err, missing_as_not_found("never"):
            raise other
        assert err.value is other
    with missing_as_not_found("never"):
        pass


def test_causes_walks_the_chain_once_and_what_each_holds_on_request():
    from mlflow_registry_ext.errors import causes

    wrapped = ConnectionRefusedError("refused")
    held = OSError("pool failed", wrapped)
    try:
        try:
            raise held
        except OSError as exc:
            raise RuntimeError("call failed") from exc
    except RuntimeError as top:
        outer = top
    outer.__cause__.__context__ = outer  # a loop never seen twice
    assert list(causes(outer)) == [outer, held]
    assert list(causes(outer, held=True)) == [outer, held, wrapped]
