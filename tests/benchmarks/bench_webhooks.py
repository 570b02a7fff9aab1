"""Durable webhooks vs MLflow's native webhooks, side by side in one run.

Run: ``python tests/benchmarks/bench_webhooks.py [--n 100] [--burst 200] [--rounds 3]
[--prefill 3000] [--engines sqlite,postgresql] [--only burst]``

Starts ``mlflow server --app-name governance`` (governed registry, ``--workers 1``) and a plain
``mlflow server`` with a native MLflow webhook, each on 127.0.0.1 with real receivers in this
process, and measures:

0. the burst, on every engine of ``--engines`` (PostgreSQL: a fresh database per server, on the
   server of ``MLFLOW_REGISTRY_EXT_TEST_POSTGRES``): ``--burst`` ``create_model_version`` calls in
   a row with a subscribed receiver, both servers up at once and rounds alternating between them;
   prints calls/s of each, their ratio (target: governance >= 0.80x native) and whether every
   event was delivered. ``--only burst`` stops there and exits 1 when a target is missed;

1. registry call latency (``create_model_version`` over REST) with a subscribed receiver that
   sleeps 10 s per request vs with no active subscription, alternating blocks of calls so drift
   hits both equally; target: ours <= 1.10x;
2. delivery latency after commit (event time -> receipt) and after the call's response
   (response -> receipt) for single changes spaced 100 ms apart; target: ours p50 <= 50 ms,
   p95 <= 200 ms;
3. throughput: one dispatcher emptying an outbox pre-filled with ``--prefill`` events into a fast
   receiver in another process (target >= 300 events/s).

Figures depend on the machine's load: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.fernet import Fernet  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from mlflow_registry_ext.audit import log as audit_log  # noqa: E402
from mlflow_registry_ext.audit.log import AuditDraft  # noqa: E402
from mlflow_registry_ext.db.database import GovernanceDatabase  # noqa: E402
from mlflow_registry_ext.webhooks.dispatcher import Dispatcher  # noqa: E402
from mlflow_registry_ext.webhooks.service import WebhookService  # noqa: E402
from mlflow_registry_ext.db.webhook_tables import deliveries  # noqa: E402
from tests.support.databases import TempDatabase  # noqa: E402
from tests.support.receiver import Receiver  # noqa: E402
from tests.support.servers import MlflowServer, free_port  # noqa: E402

KEY = Fernet.generate_key().decode()
BASE_ENV = {
    "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": KEY,
    "MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE": "true",
    # MLflow's native webhooks: allow http on loopback, and re-read subscriptions every second
    # (its default caches them for 60 s, so toggling would not take effect between blocks).
    "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
    "MLFLOW_WEBHOOK_CACHE_TTL": "1",
}
SLEEP_S = 10.0
#: The burst target: governance calls/s at least this share of plain MLflow's with native webhooks.
BURST_TARGET = 0.8


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def timed_create(client: MlflowClient, model: str) -> tuple[float, float, str]:
    started = time.perf_counter()
    version = client.create_model_version(model, "s3://bucket/model").version
    ended = time.perf_counter()
    return started, ended, str(version)


class System(Protocol):
    """One side of the comparison: how to switch its subscriptions on and off."""

    name: str

    def set_slow(self, active: bool) -> None: ...

    def subscribe_fast(self) -> None: ...

    def unsubscribe_fast(self) -> None: ...


class Governance:
    name = "governance app"

    def __init__(self, registry_uri: str, slow: Receiver, fast: Receiver):
        self.service = WebhookService.for_registry_uri(registry_uri)
        self.fast = fast
        self.slow_id = self.service.create(slow.url, ["model_version.created"]).webhook.id
        self.service.update(self.slow_id, active=False)

    def set_slow(self, active: bool) -> None:
        self.service.update(self.slow_id, active=active)

    def subscribe_fast(self) -> None:
        created = self.service.create(self.fast.url, ["model_version.created"])
        self.fast.secrets = [created.secret]
        self.fast_id = created.webhook.id

    def unsubscribe_fast(self) -> None:
        self.service.update(self.fast_id, active=False)


class Native:
    name = "MLflow native"

    def __init__(self, client: MlflowClient, slow: Receiver, fast: Receiver):
        self.client = client
        self.fast = fast
        secret = "native-benchmark-secret"
        self.slow_id = self.client.create_webhook(
            "slow", slow.url, ["model_version.created"], secret=secret, status="DISABLED"
        ).webhook_id

    def set_slow(self, active: bool) -> None:
        self.client.update_webhook(self.slow_id, status="ACTIVE" if active else "DISABLED")

    def subscribe_fast(self) -> None:
        secret = "native-benchmark-secret"
        self.fast_id = self.client.create_webhook(
            "fast", self.fast.url, ["model_version.created"], secret=secret
        ).webhook_id
        self.fast.secrets = [secret]

    def unsubscribe_fast(self) -> None:
        self.client.update_webhook(self.fast_id, status="DISABLED")


def measure(system: System, client: MlflowClient, fast: Receiver, n: int) -> dict:
    result: dict = {}
    system.subscribe_fast()
    time.sleep(1.2)
    result.update(measure_delivery(client, fast, n))
    system.unsubscribe_fast()
    result.update(measure_latency(system, client, n))
    return result


def measure_delivery(client: MlflowClient, fast: Receiver, n: int) -> dict:
    """Delivery latency of single changes spaced 100 ms apart."""
    result: dict = {}
    client.create_registered_model("delivery")
    ends: dict[str, float] = {}
    for _ in range(n):
        _, ended, version = timed_create(client, "delivery")
        ends[version] = time.time() - (time.perf_counter() - ended)
        time.sleep(0.1)
    fast.wait_for(lambda r: len(_versions(r, "delivery")) >= n, timeout=60)
    after_commit, after_response = [], []
    for d in fast.deliveries:
        event = json.loads(d.body)
        data = event.get("data", {})
        if data.get("name") != "delivery" or str(data.get("version")) not in ends:
            continue
        after_response.append((d.received_at - ends[str(data["version"])]) * 1000)
        if "seq" in event:  # ours: the event carries its commit time
            committed = _parse_iso(event["timestamp"])
            after_commit.append((d.received_at - committed) * 1000)
    result["delivered"] = len(_versions(fast, "delivery"))
    result["after_response_p50_ms"] = pct(after_response, 0.5)
    result["after_response_p95_ms"] = pct(after_response, 0.95)
    if after_commit:
        result["after_commit_p50_ms"] = pct(after_commit, 0.5)
        result["after_commit_p95_ms"] = pct(after_commit, 0.95)
    return result


def burst_round(client: MlflowClient, fast: Receiver, model: str, burst: int) -> tuple[float, float, int]:
    """``burst`` back-to-back ``create_model_version`` calls on a new model with a subscribed
    receiver: calls per second, events per second (first call to last receipt), events delivered."""
    client.create_registered_model(model)
    started = time.perf_counter()
    for _ in range(burst):
        client.create_model_version(model, "s3://bucket/model")
    calls_done = time.perf_counter()
    fast.wait_for(lambda r: len(_versions(r, model)) >= burst, timeout=120)
    last = max((d.received_at for d in fast.deliveries if _about(d, model)), default=time.time())
    elapsed = last - (time.time() - (time.perf_counter() - started))
    delivered = len(_versions(fast, model))
    return burst / (calls_done - started), delivered / max(elapsed, 1e-9), delivered


def measure_latency(system: System, client: MlflowClient, n: int) -> dict:
    """Registry latency, slow subscription off/on in alternating blocks (last: MLflow's native
    delivery pool stays clogged by the slow receiver afterwards)."""
    result: dict = {}
    block = 10
    samples: dict[bool, list[float]] = {False: [], True: []}
    client.create_registered_model("latency")
    for _ in range(3):
        timed_create(client, "latency")  # warm up
    for index in range(2 * max(1, n // block)):
        active = index % 2 == 1
        system.set_slow(active)
        time.sleep(1.2)  # MLflow's webhook cache (1 s here) must see the change too
        for _ in range(block):
            started, ended, _ = timed_create(client, "latency")
            samples[active].append((ended - started) * 1000)
    system.set_slow(False)
    result["latency_off_ms"] = statistics.median(samples[False])
    result["latency_on_ms"] = statistics.median(samples[True])
    result["latency_on_p95_ms"] = pct(samples[True], 0.95)
    result["latency_off_p95_ms"] = pct(samples[False], 0.95)
    return result


def _about(delivery, model: str) -> bool:
    try:
        return json.loads(delivery.body).get("data", {}).get("name") == model
    except ValueError:
        return False


def _versions(receiver: Receiver, model: str) -> set[str]:
    found = set()
    for d in list(receiver.deliveries):
        if 200 <= d.status < 300 and _about(d, model):
            found.add(str(json.loads(d.body)["data"]["version"]))
    return found


def _parse_iso(text: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_governance(tmp: Path, n: int) -> dict:
    registry_uri = f"governed+sqlite:///{tmp / 'governed.db'}"
    with Receiver() as slow, Receiver() as fast:
        slow.delay = SLEEP_S
        system = Governance(registry_uri, slow, fast)
        with MlflowServer(tmp / "governance", registry_uri=registry_uri, env=BASE_ENV) as server:
            client = MlflowClient(tracking_uri=server.url)
            result = measure(system, client, fast, n)
        result["verified"] = all(d.verified for d in fast.deliveries)
        slow.delay = 0
    return result


def run_native(tmp: Path, n: int) -> dict:
    with Receiver(scheme="mlflow") as slow, Receiver(scheme="mlflow") as fast:
        slow.delay = SLEEP_S
        with MlflowServer(tmp / "native", app_name=None, env=BASE_ENV) as server:
            client = MlflowClient(tracking_uri=server.url)
            system = Native(client, slow, fast)
            result = measure(system, client, fast, n)
        result["verified"] = all(d.verified for d in fast.deliveries)
        slow.delay = 0
    return result


def run_burst(tmp: Path, engine: str, burst: int, rounds: int) -> dict[str, dict]:
    """The burst on ``engine``: the governance app and plain ``mlflow server`` with a native
    webhook, both running (one worker each, a database of their own each: on SQLite a governed
    registry file beside a tracking file as the README sets it up, elsewhere one fresh database
    per server for both stores), each with a subscribed fast receiver; rounds alternate between
    them, so the machine's load drifts over both alike."""
    ours_db, native_db = TempDatabase(engine, tmp), TempDatabase(engine, tmp)
    results: dict[str, dict] = {}
    try:
        if engine == "sqlite":
            registry_uri, ours_backend, native_backend = f"governed+{ours_db.uri}", None, None
        else:
            registry_uri, ours_backend, native_backend = f"governed+{ours_db.uri}", ours_db.uri, native_db.uri
        with (
            Receiver() as ours_slow, Receiver() as ours_fast,
            Receiver(scheme="mlflow") as native_slow, Receiver(scheme="mlflow") as native_fast,
            MlflowServer(tmp / f"burst-governance-{engine}", registry_uri=registry_uri, backend_uri=ours_backend,
                         env=BASE_ENV) as ours_server,
            MlflowServer(tmp / f"burst-native-{engine}", app_name=None, backend_uri=native_backend,
                         env=BASE_ENV) as native_server,
        ):
            ours_client = MlflowClient(tracking_uri=ours_server.url)
            native_client = MlflowClient(tracking_uri=native_server.url)
            sides = {
                "governance": (ours_client, ours_fast, Governance(registry_uri, ours_slow, ours_fast)),
                "native": (native_client, native_fast, Native(native_client, native_slow, native_fast)),
            }
            for _, fast, system in sides.values():
                system.subscribe_fast()
            time.sleep(1.2)  # MLflow's webhook cache (1 s here) sees the subscription
            for client, fast, _ in sides.values():  # warm up: first requests import and connect
                burst_round(client, fast, "warm-up", 20)
            figures: dict[str, list] = {side: [] for side in sides}
            for index in range(rounds):
                order = list(sides) if index % 2 == 0 else list(reversed(sides))
                for side in order:
                    client, fast, _ = sides[side]
                    figures[side].append(burst_round(client, fast, f"burst-{index}", burst))
            for side, rows in figures.items():
                results[side] = {
                    "burst_calls_per_s": statistics.median(r[0] for r in rows),
                    "burst_calls_all": [r[0] for r in rows],
                    "burst_events_per_s": statistics.median(r[1] for r in rows),
                    "burst_delivered": sum(r[2] for r in rows),
                    "burst_expected": burst * rounds,
                    "verified": all(d.verified for d in sides[side][1].deliveries),
                }
        return results
    finally:
        ours_db.drop()
        native_db.drop()


def run_commit_latency(tmp: Path, n: int, same_process: bool) -> tuple[float, float]:
    """p50/p95 ms from a registry change's commit to its receipt, measured in-process: the
    governed store's call returns right after its commit. The dispatcher runs in this process
    (as in a one-worker server) or as a ``webhooks worker`` process (it polls every 50 ms)."""
    os.environ.update(BASE_ENV)
    name = "same" if same_process else "other"
    registry_uri = f"governed+sqlite:///{tmp / f'commit-{name}.db'}"
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp / f'tracking-{name}.db'}", registry_uri=registry_uri)
    client.create_registered_model("m")
    worker = runner = None
    with Receiver() as receiver:
        receiver.secrets = [WebhookService.for_registry_uri(registry_uri).create(receiver.url, ["model_version.created"]).secret]
        if same_process:
            from mlflow_registry_ext.webhooks.runner import BackgroundDispatcher

            runner = BackgroundDispatcher(Dispatcher(GovernanceDatabase.for_registry_uri(registry_uri)))
            runner.start()
        else:
            worker = subprocess.Popen(
                [sys.executable, "-c", "import sys; from mlflow_registry_ext.cli import main; main(sys.argv[1:])",
                 "--registry-uri", registry_uri, "webhooks", "worker"],
                stderr=subprocess.PIPE,
                text=True,
            )
            while "running" not in (worker.stderr.readline() or "running"):
                pass  # the worker has imported everything and started its loop
        try:
            committed: dict[str, float] = {}
            for _ in range(n):
                version = client.create_model_version("m", "s3://bucket/model").version
                committed[str(version)] = time.time()
                time.sleep(0.1)
            receiver.wait_for(lambda r: len(_versions(r, "m")) >= n, timeout=60)
        finally:
            if runner is not None:
                runner.stop()
            if worker is not None:
                worker.terminate()
                worker.wait(30)
    latencies = [
        (d.received_at - committed[str(json.loads(d.body)["data"]["version"])]) * 1000
        for d in receiver.deliveries
        if _about(d, "m") and str(json.loads(d.body)["data"]["version"]) in committed
    ]
    return pct(latencies, 0.5), pct(latencies, 0.95)


def run_throughput(kind: str, tmp: Path, events: int) -> float:
    """Events per second one dispatcher delivers from a pre-filled outbox."""
    os.environ.update(BASE_ENV)
    port = free_port()
    receiver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; sys.path.insert(0, sys.argv[1]);"
            "from tests.support.receiver import Receiver; Receiver(port=int(sys.argv[2])).up();"
            "time.sleep(3600)",
            str(Path(__file__).resolve().parents[2]),
            str(port),
        ]
    )
    database = TempDatabase(kind, tmp)
    try:
        db = GovernanceDatabase(database.uri).ensure_schema()
        WebhookService(db).create(f"http://127.0.0.1:{port}/hook", ["model_version.created"])
        for start in range(0, events, 500):
            with db.transaction() as conn:
                audit_log.append(
                    conn,
                    [
                        AuditDraft(action="model_version.created", model="m", version=str(i))
                        for i in range(start, min(events, start + 500))
                    ],
                )
        time.sleep(1.0)  # the receiver process is listening by now
        dispatcher = Dispatcher(db)
        stop = threading.Event()
        thread = threading.Thread(target=dispatcher.run, args=(stop,))
        started = time.perf_counter()
        thread.start()
        done_stmt = select(func.count()).select_from(deliveries).where(deliveries.c.status == "succeeded")
        while True:
            with db.engine.connect() as conn:
                if conn.execute(done_stmt).scalar() >= events:
                    break
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        stop.set()
        thread.join(60)
        return events / elapsed
    finally:
        receiver.kill()
        receiver.wait()
        database.drop()


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def print_burst(engines: list[str], ours: dict, native: dict, burst: int, rounds: int) -> bool:
    """The burst table; True when every engine meets the target with every event delivered."""
    print(f"\n== Burst: {burst} create_model_version calls in a row over REST, a subscribed receiver "
          f"(median of {rounds} round(s), one worker)")
    print(f"{'engine':11} {'governance calls/s':>19} {'native calls/s':>15} {'ratio':>7}   delivered (governance / native)")
    passed = True
    for engine in engines:
        o, nat = ours[engine], native[engine]
        share = o["burst_calls_per_s"] / nat["burst_calls_per_s"] if nat["burst_calls_per_s"] else 0.0
        complete = o["burst_delivered"] == o["burst_expected"]
        passed = passed and complete and share >= BURST_TARGET
        print(
            f"{engine:11} {o['burst_calls_per_s']:19.0f} {nat['burst_calls_per_s']:15.0f} {share:6.2f}x"
            f"   {o['burst_delivered']}/{o['burst_expected']} / {nat['burst_delivered']}/{nat['burst_expected']}"
            f"   every governance event delivered: {complete}"
        )
        print(f"{'':11} rounds, calls/s: governance {', '.join(f'{c:.0f}' for c in o['burst_calls_all'])}; "
              f"native {', '.join(f'{c:.0f}' for c in nat['burst_calls_all'])}")
        print(f"{'':11} delivery, first call -> last receipt: governance {o['burst_events_per_s']:.0f} events/s, "
              f"native {nat['burst_events_per_s']:.0f} events/s")
    print(f"   target: governance >= {BURST_TARGET:.2f}x native on every engine, every event delivered: "
          f"{'met' if passed else 'NOT met'}")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="samples per latency figure")
    parser.add_argument("--burst", type=int, default=200, help="REST calls in the burst")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per system and engine (the median counts)")
    parser.add_argument("--prefill", type=int, default=3000, help="events in the pre-filled outbox")
    parser.add_argument("--engines", default="sqlite,postgresql",
                        help="engines for the burst and the dispatcher throughput (sqlite, postgresql, mysql)")
    parser.add_argument("--only", choices=("all", "burst"), default="all",
                        help="burst: only the REST burst comparison, on every engine")
    args = parser.parse_args()
    os.environ["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    os.environ.update(BASE_ENV)
    # MLflow's client logs a line per created version ("Waiting up to 300 seconds ...").
    logging.getLogger("mlflow.store.model_registry.abstract_store").setLevel(logging.WARNING)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    only_burst = args.only == "burst"
    ours: dict[str, dict] = {}
    native: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for engine in engines:
            bursts = run_burst(tmp, engine, args.burst, args.rounds)
            ours[engine], native[engine] = bursts["governance"], bursts["native"]
        if not only_burst:
            o = run_governance(tmp, args.n)
            nat = run_native(tmp, args.n)
            commit_same = run_commit_latency(tmp, args.n, same_process=True)
            commit_other = run_commit_latency(tmp, args.n, same_process=False)
            throughput = {kind: run_throughput(kind, tmp, args.prefill) for kind in engines}

    passed = print_burst(engines, ours, native, args.burst, args.rounds)
    if only_burst:
        sys.exit(0 if passed else 1)
    print("\n== Registry call latency (SQLite): create_model_version over REST, median ms (p95)")
    print(f"{'':18} {'no subscription':>18} {'receiver sleeps 10s':>20} {'ratio':>8}")
    for name, r in (("governance app", o), ("MLflow native", nat)):
        print(
            f"{name:18} {r['latency_off_ms']:10.1f} ({r['latency_off_p95_ms']:5.1f})"
            f" {r['latency_on_ms']:12.1f} ({r['latency_on_p95_ms']:5.1f})"
            f" {ratio(r['latency_on_ms'], r['latency_off_ms']):>8}"
        )
    print("   target: governance <= 1.10x")
    print("\n== Delivery latency, ms: p50 / p95")
    print(f"governance, commit -> receipt, dispatcher in the writing process {commit_same[0]:7.1f} / {commit_same[1]:7.1f}"
          "   (target <= 50 / 200)")
    print(f"governance, commit -> receipt, dispatcher in another process     {commit_other[0]:7.1f} / {commit_other[1]:7.1f}"
          "   (target <= 50 / 200)")
    print(f"governance server, audit entry -> receipt   {o['after_commit_p50_ms']:7.1f} / {o['after_commit_p95_ms']:7.1f}"
          "   (an upper bound: the entry is stamped before the commit)")
    print(f"governance, response -> receipt    {o['after_response_p50_ms']:7.1f} / {o['after_response_p95_ms']:7.1f}")
    print(f"MLflow native, response -> receipt {nat['after_response_p50_ms']:7.1f} / {nat['after_response_p95_ms']:7.1f}")
    print(
        f"   governance - native (response -> receipt p50): "
        f"{o['after_response_p50_ms'] - nat['after_response_p50_ms']:+.1f} ms (native sends from the "
        f"request's process before answering, and keeps nothing if that fails); "
        f"delivered {o['delivered']}/{args.n} vs {nat['delivered']}/{args.n}"
    )
    print("\n== Throughput")
    for kind, rate in throughput.items():
        print(f"one dispatcher, pre-filled outbox ({kind}, {args.prefill} events): {rate:7.0f} events/s   (target >= 300)")
    verified = o["verified"] and all(ours[e]["verified"] for e in engines)
    print(f"\nevery governance delivery verified with standardwebhooks: {verified}; "
          f"native deliveries verified: {nat['verified'] and all(native[e]['verified'] for e in engines)}")


if __name__ == "__main__":
    main()
