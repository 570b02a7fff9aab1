"""The version's declared dependencies and datasets as a CycloneDX 1.6 BOM, validated by the
library's own JSON schema validator."""

from __future__ import annotations

import json

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from mlflow_registry_ext.security.bom import DatasetRef, bom_json, build_bom, declared_packages


def _model(tmp_path):
    root = tmp_path / "model"
    root.mkdir()
    (root / "MLmodel").write_text(
        "flavors:\n  python_function: {}\n  sklearn: {}\n"
        "signature:\n  inputs: '[{\"type\": \"double\", \"name\": \"age\"}]'\n  outputs: '[{\"type\": \"long\"}]'\n"
    )
    (root / "requirements.txt").write_text("mlflow==3.17.2\nscikit-learn==1.5.2  # pinned\nnumpy>=1.26\n-r other.txt\n")
    (root / "python_env.yaml").write_text("python: 3.11.7\nbuild_dependencies:\n  - pip==24.0\ndependencies:\n  - -r requirements.txt\n")
    (root / "conda.yaml").write_text("dependencies:\n  - python=3.11.7\n  - pip<=24.0\n  - pip:\n    - mlflow==3.17.2\n    - pandas==2.2.3\n")
    return root


def test_declared_packages(tmp_path):
    found = {(p.name, p.version, p.source) for p in declared_packages(_model(tmp_path))}
    assert ("scikit-learn", "1.5.2", "requirements.txt") in found
    assert ("numpy", None, "requirements.txt") in found
    assert ("pip", "24.0", "python_env.yaml") in found
    assert ("pandas", "2.2.3", "conda.yaml") in found
    assert ("python", "3.11.7", "conda.yaml") in found


def test_the_bom_is_valid_cyclonedx_1_6(tmp_path):
    bom = build_bom(
        "fraud-model", "3", _model(tmp_path), description="Gradient boosting on 2026Q1", tags={"owner": "risk"},
        artifact_digest="sha256:" + "ab" * 32,
        datasets=[DatasetRef("holdout-2026q1", "d1e2f3", "local", '{"uri": "/data/holdout.csv"}', "eval")],
    )
    text = bom_json(bom)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    data = json.loads(text)
    assert data["specVersion"] == "1.6"
    subject = data["metadata"]["component"]
    assert (subject["type"], subject["name"], subject["version"]) == ("machine-learning-model", "fraud-model", "3")
    props = {p["name"]: p["value"] for p in subject["properties"]}
    assert props["mlflow:card:flavors"] == "python_function,sklearn"
    assert props["mlflow:card:tag.owner"] == "risk" and "age" in props["mlflow:card:signature.inputs"]
    kinds = {(c["type"], c["name"]) for c in data["components"]}
    assert ("library", "scikit-learn") in kinds and ("data", "holdout-2026q1") in kinds
    purls = {c.get("purl") for c in data["components"]}
    assert "pkg:pypi/scikit-learn@1.5.2" in purls and "pkg:conda/python@3.11.7" in purls
    deps = {d["ref"]: d.get("dependsOn", []) for d in data["dependencies"]}
    assert len(deps["model:fraud-model/3"]) == len(data["components"])
    # the validator does fail on a broken document
    broken = json.loads(text)
    broken["components"][0]["type"] = "not-a-type"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(broken)) is not None


def test_the_bom_of_a_registered_version_lists_its_runs_datasets(tmp_path, monkeypatch):
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    from mlflow_registry_ext.registry.store import GovernedRegistryStore
    from mlflow_registry_ext.security.bom import version_bom

    monkeypatch.delenv("MLFLOW_GOVERNANCE_POLICY", raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=f"governed+{uri}")
    experiment = client.create_experiment("bom", artifact_location=(tmp_path / "artifacts").as_uri())
    run = client.create_run(experiment)
    dataset = mlflow.data.from_pandas(pd.DataFrame({"age": [30, 40]}), name="train-2026q1", source="/data/train.csv")
    client.log_inputs(run.info.run_id, [mlflow.entities.DatasetInput(dataset._to_mlflow_entity())])
    client.log_artifacts(run.info.run_id, str(_model(tmp_path)), "model")
    client.create_registered_model("fraud-model")
    mv = client.create_model_version("fraud-model", f"{run.info.artifact_uri}/model", run_id=run.info.run_id,
                                     description="described")
    store = GovernedRegistryStore(f"governed+{uri}")
    data = json.loads(version_bom(store.inner, "fraud-model", mv.version, tracking_client=client))
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(data)) is None
    [ds] = [c for c in data["components"] if c["type"] == "data"]
    assert ds["name"] == "train-2026q1" and ds["version"] == dataset.digest
    assert data["metadata"]["component"]["description"] == "described"
