"""The ``governance`` server app vs a plain ``mlflow server``, side by side, same workers.

Run: ``python tests/benchmarks/bench_server.py [--workers 1] [--n 200] [--clients 20]``

Three servers on SQLite: plain MLflow; ``--app-name governance`` on the plain store (what the app
itself costs); ``--app-name governance`` on ``governed+sqlite`` with a policy (the full product:
audit entries, gate). Registry REST calls go to each in turn, interleaved, over keep-alive
connections; the table prints median latency and the ratios to plain MLflow (target: at most
1.15x). Then the governance endpoints under ``--clients`` concurrent clients: p50, p95 and
requests per second.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mlflow_registry_ext import routes  # noqa: E402
from tests.support.governance_servers import server_env  # noqa: E402
from tests.support.servers import MlflowServer  # noqa: E402

API = "/api/2.0/mlflow"


def _registry_ops(session: requests.Session, url: str):
    def post(path, body, method="POST"):
        response = session.request(method, url + API + path, json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def get(path, params):
        response = session.get(url + API + path, params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    post("/registered-models/create", {"name": "bench"})
    for _ in range(3):
        post("/model-versions/create", {"name": "bench", "source": "s3://bucket/model"})
    return {
        "create_model_version": lambda i: post("/model-versions/create", {"name": "bench", "source": "s3://b/m"}),
        "set_alias": lambda i: post("/registered-models/alias",
                                    {"name": "bench", "alias": "staging", "version": str(1 + i % 3)}),
        "set_model_version_tag": lambda i: post("/model-versions/set-tag",
                                                {"name": "bench", "version": "1", "key": "k", "value": str(i)}),
        "update_model_version": lambda i: post("/model-versions/update",
                                               {"name": "bench", "version": "2", "description": f"d{i}"}, "PATCH"),
        "get_model_version": lambda i: get("/model-versions/get", {"name": "bench", "version": "1"}),
        "get_by_alias": lambda i: get("/registered-models/alias", {"name": "bench", "alias": "staging"}),
        "search_model_versions": lambda i: get("/model-versions/search", {"filter": "name='bench'"}),
    }


def bench_registry(servers: dict[str, MlflowServer], n: int) -> None:
    sessions = {name: requests.Session() for name in servers}
    ops = {name: _registry_ops(sessions[name], server.url) for name, server in servers.items()}
    names = list(servers)
    print(f"\nRegistry REST calls, median of {n} (ms); ratio = x / plain MLflow")
    print(f"{'operation':<24}" + "".join(f"{name:>22}" for name in names) + "   ratios")
    for op in ops[names[0]]:
        samples: dict[str, list[float]] = {name: [] for name in names}
        for i in range(n):
            for name in names if i % 2 == 0 else reversed(names):  # interleaved, alternating order
                t0 = time.perf_counter()
                ops[name][op](i)
                samples[name].append(time.perf_counter() - t0)
        medians = {name: statistics.median(s) * 1000 for name, s in samples.items()}
        base = medians[names[0]]
        ratios = "  ".join(f"{medians[name] / base:.2f}x" for name in names[1:])
        print(f"{op:<24}" + "".join(f"{medians[name]:>22.2f}" for name in names) + f"   {ratios}")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_governance(server: MlflowServer, clients: int, per_client: int) -> None:
    base = server.url + routes.API_PREFIX
    setup = requests.Session()
    setup.post(server.url + API + "/registered-models/create", json={"name": "fraud-bench"}).raise_for_status()
    setup.post(server.url + API + "/model-versions/create",
               json={"name": "fraud-bench", "source": "s3://b/m"}).raise_for_status()
    setup.post(base + "/approval-requests",
               json={"model": "fraud-bench", "version": "1", "alias": "production"}).raise_for_status()
    endpoints = {
        "GET status": ("GET", "/status", {"model": "fraud-bench", "version": "1"}),
        "GET approval-requests": ("GET", "/approval-requests", {"status": "pending", "limit": 50}),
        "GET audit (model)": ("GET", "/audit", {"model": "bench", "limit": 100}),
        "GET policy": ("GET", "/policy", {"model": "fraud-bench"}),
        "GET fairness-checks": ("GET", "/fairness-checks", {"model": "fraud-bench", "version": "1"}),
        "GET alias-history": ("GET", "/audit/alias-history", {"model": "bench", "alias": "staging"}),
    }

    def client(k: int):
        session = requests.Session()
        seen: dict[str, list[float]] = {name: [] for name in endpoints}
        names = list(endpoints)
        for i in range(per_client):
            name = names[(i + k) % len(names)]
            method, path, params = endpoints[name]
            t0 = time.perf_counter()
            response = session.request(method, base + path, params=params, timeout=120)
            seen[name].append(time.perf_counter() - t0)
            response.raise_for_status()
        return seen

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - t0
    total = clients * per_client
    print(f"\nGovernance endpoints, {clients} concurrent clients, {total} requests in {elapsed:.1f} s "
          f"({total / elapsed:.0f} req/s)")
    print(f"{'endpoint':<26}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}")
    for name in endpoints:
        values = [v * 1000 for r in results for v in r[name]]
        print(f"{name:<26}{len(values):>6}{_percentile(values, 0.5):>10.1f}{_percentile(values, 0.95):>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        root = Path(tmp)
        kinds = {
            "plain MLflow": dict(app_name=None, governed=False),
            "governance app": dict(app_name="governance", governed=False),
            "app + governed store": dict(app_name="governance", governed=True),
        }
        servers: dict[str, MlflowServer] = {}
        try:
            for name, kind in kinds.items():
                workdir = root / name.replace(" ", "-").replace("+", "")
                workdir.mkdir()
                db = f"sqlite:///{workdir / 'mlflow.db'}"
                env = server_env(workdir) if kind["governed"] else {"MLFLOW_TRACKING_USERNAME": "bench"}
                servers[name] = MlflowServer(
                    workdir, backend_uri=db, registry_uri=("governed+" + db) if kind["governed"] else db,
                    app_name=kind["app_name"], workers=args.workers, env=env,
                ).start()
            print(f"workers: {args.workers}; servers: {', '.join(servers)}")
            bench_registry(servers, args.n)
            bench_governance(servers["app + governed store"], args.clients, args.per_client)
        finally:
            for server in servers.values():
                server.stop()


if __name__ == "__main__":
    main()
