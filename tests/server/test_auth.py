"""``MLFLOW_GOVERNANCE_AUTH`` and the JSON form of MLflow's plain-text refusals."""

from __future__ import annotations

import flask
import pytest

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.server.auth import auth_mode
from mlflow_registry_ext.server.errors import json_auth_refusals


def test_auth_mode():
    assert auth_mode({}) is None
    assert auth_mode({"MLFLOW_GOVERNANCE_AUTH": "off"}) is None
    assert auth_mode({"MLFLOW_GOVERNANCE_AUTH": " Basic "}) == "basic"
    assert auth_mode({"MLFLOW_GOVERNANCE_AUTH": "PROXY"}) == "proxy"
    with pytest.raises(InvalidInput, match="must be 'basic', 'proxy' or unset"):
        auth_mode({"MLFLOW_GOVERNANCE_AUTH": "basci"})


def test_plain_text_refusals_become_mlflow_json():
    app = flask.Flask("t")
    with app.app_context():
        refused = json_auth_refusals(
            flask.Response("You are not authenticated.", 401, headers={"WWW-Authenticate": 'Basic realm="mlflow"'})
        )
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == 'Basic realm="mlflow"'
        assert refused.get_json()["error_code"] == "UNAUTHENTICATED"
        forbidden = json_auth_refusals(flask.Response("Permission denied", 403))
        assert forbidden.get_json() == {"error_code": "PERMISSION_DENIED", "message": "Permission denied"}
        ours = flask.Response('{"error_code": "PERMISSION_DENIED", "message": "x"}', 403, mimetype="application/json")
        assert json_auth_refusals(ours) is ours
        ok = flask.Response("fine", 200)
        assert json_auth_refusals(ok) is ok
