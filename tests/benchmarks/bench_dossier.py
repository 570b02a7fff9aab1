"""The dossier of a 50-version model with 200 metrics, beside the MLflow REST calls a person
would make by hand for the same facts (target: the dossier under 300 ms on SQLite).

Run: ``python tests/benchmarks/bench_dossier.py [--n 20] [--versions 50] [--metrics 200]``

One ``mlflow server --app-name governance`` on ``governed+sqlite`` (one worker). One sklearn model
is logged with 200 metrics on its logged model (recorded on an evaluation dataset) and registered
50 times; ``production`` points to version 1. Timed, interleaved, over keep-alive connections:
``GET /dossier`` of the newest version against ``production``, and the by-hand sequence (model
version, its run, its logged model, the artifact listing and the MLmodel and requirements files,
the version under the alias with its run and logged model, approval requests, fairness checks,
alias history). Timings on a shared machine are noisy: the ratio matters more than the numbers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.governance_servers import environment, server_env  # noqa: E402
from tests.support.servers import MlflowServer  # noqa: E402

POLICY = """
version: 1
models:
  - match: "bench-*"
    protected_aliases: [champion]
    approvals: {required: 1}
"""


def _populate(url: str, versions: int, metrics: int) -> str:
    import mlflow
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from mlflow_registry_ext.mlflow_uris import using_uris

    name = "bench-dossier"
    with using_uris(url, url):
        frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0], "y": [0, 1, 0, 1]})
        ds = mlflow.data.from_pandas(frame, name="bench-eval", targets="y")
        with mlflow.start_run() as run:
            mlflow.log_input(ds, context="eval")
            info = mlflow.sklearn.log_model(LogisticRegression().fit(frame[["a", "b"]], frame.y), name="model",
                                            input_example=frame[["a", "b"]].head(2))
            mlflow.log_metrics({f"m{i:03d}": i / metrics for i in range(metrics)}, dataset=ds,
                               model_id=info.model_id)
        client = mlflow.MlflowClient()
        client.create_registered_model(name)
        for _ in range(versions):
            client.create_model_version(name, info.model_uri, run_id=run.info.run_id, model_id=info.model_id)
    return name


def _by_hand(session: requests.Session, url: str, name: str, version: str) -> None:
    api = url + "/api/2.0/mlflow"

    def get(path, **params):
        response = session.get(api + path, params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    mv = get("/model-versions/get", name=name, version=version)["model_version"]
    run = get("/runs/get", run_id=mv["run_id"])
    model_id = mv["source"].split("/")[-1]
    get(f"/logged-models/{model_id}")
    uri = get("/model-versions/get-download-uri", name=name, version=version)["artifact_uri"]
    listing = session.get(url + "/api/2.0/mlflow-artifacts/artifacts", params={"path": uri.split("artifacts/", 1)[-1]},
                          timeout=60)
    for file in ("MLmodel", "requirements.txt", "python_env.yaml"):
        session.get(f"{url}/get-artifact", params={"path": file, "run_uuid": mv["run_id"]}, timeout=60)
    held = get("/registered-models/alias", name=name, alias="production")["model_version"]
    get("/runs/get", run_id=held["run_id"])
    get(f"/logged-models/{held['source'].split('/')[-1]}")
    gov = url + "/api/2.0/mlflow/governance"
    for path, params in (("/approval-requests", {"model": name, "version": version}),
                         ("/fairness-checks", {"model": name, "version": version}),
                         ("/audit/alias-history", {"model": name, "alias": "production"})):
        session.get(gov + path, params=params, timeout=60).raise_for_status()
    assert run and listing is not None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--metrics", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = server_env(workdir)
        (workdir / "policy.yaml").write_text(POLICY)
        registry = f"governed+sqlite:///{workdir / 'registry.db'}"
        server = MlflowServer(workdir, registry_uri=registry, backend_uri=registry.removeprefix("governed+"),
                              env=env).start()
        try:
            with environment({"MLFLOW_TRACKING_USERNAME": "", "MLFLOW_TRACKING_PASSWORD": ""}):
                name = _populate(server.url, args.versions, args.metrics)
            session = requests.Session()
            # production -> version 1; the rule protects champion only, so no approval is needed here
            # (the dossier compares with any alias the same way).
            session.post(server.url + "/api/2.0/mlflow/registered-models/alias",
                         json={"name": name, "alias": "production", "version": "1"}, timeout=60)
            newest = str(args.versions)
            dossier_url = server.url + "/api/2.0/mlflow/governance/dossier"
            first = session.get(dossier_url, params={"model": name, "version": newest, "alias": "production"},
                                timeout=120).json()
            rows = len((first.get("comparison") or {}).get("rows") or [])
            times = {"dossier": [], "by_hand": []}
            for _ in range(args.n):
                started = time.perf_counter()
                session.get(dossier_url, params={"model": name, "version": newest, "alias": "production"},
                            timeout=120).raise_for_status()
                times["dossier"].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                _by_hand(session, server.url, name, newest)
                times["by_hand"].append((time.perf_counter() - started) * 1000)
        finally:
            server.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    p95 = {k: sorted(v)[int(0.95 * (len(v) - 1))] for k, v in times.items()}
    print(f"model with {args.versions} versions, {args.metrics} metrics; comparison rows: {rows}; "
          f"current version: {first['comparison'].get('current_version')}")
    print(f"{'':<24}{'median ms':>10}{'p95 ms':>10}")
    print(f"{'GET /dossier':<24}{med['dossier']:>10.1f}{p95['dossier']:>10.1f}")
    print(f"{'by hand (13 calls)':<24}{med['by_hand']:>10.1f}{p95['by_hand']:>10.1f}")
    print(f"ratio dossier / by hand: {med['dossier'] / med['by_hand']:.2f}; target dossier < 300 ms: "
          f"{'met' if med['dossier'] < 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
