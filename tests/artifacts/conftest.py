"""Roots for the content-addressed artifact tests: a local directory, and S3 on a real moto server.

The S3 server is ``moto``'s threaded server on 127.0.0.1 (a real HTTP S3 endpoint, port chosen by
the OS); each test gets its own bucket.
"""

from __future__ import annotations

import uuid

import pytest

@pytest.fixture(scope="session")
def moto_endpoint():
    """The URL of a moto S3 server on loopback, for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(moto_endpoint, monkeypatch):
    """MLflow's and boto3's S3 settings pointing at the moto server."""
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint


@pytest.fixture
def s3_client(s3_env):
    """A plain boto3 client on the moto server (to inspect and tamper with objects)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_env,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3_bucket(s3_client):
    """A fresh, empty bucket."""
    name = f"cas-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def file_root(tmp_path) -> str:
    """The URI of a (not yet created) local root."""
    return f"cas+file://{tmp_path / 'root'}"


@pytest.fixture
def s3_root(s3_bucket) -> str:
    """The URI of a (not yet created) root in a fresh bucket."""
    return f"cas+s3://{s3_bucket}/mlflow"


@pytest.fixture(params=["file", "s3"])
def root_uri(request) -> str:
    """A root URI on each kind of store."""
    if request.param == "file":
        return request.getfixturevalue("file_root")
    return request.getfixturevalue("s3_root")
