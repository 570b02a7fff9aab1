"""Security scan throughput against the scanner's own CLI, and evidence export of a busy version.

Run: ``python tests/benchmarks/bench_scan.py [--mib 500] [--small 1000] [--entries 1000]``

1. A model of ``--mib`` MiB: one large pickle plus ``--small`` small pickles and text files.
   Times ``scan_version`` (governed store on SQLite, local artifacts: scan + digest of the same
   files + the record and its audit entry) against ``modelscan -p DIR`` (the scanner's own CLI,
   a fresh process, as an operator would run it) on the same files. Target: >= 100 MiB/s, or
   within 1.2x of the CLI, whichever is slower.
2. ``export_bundle`` of a version with ``--entries`` audit entries. Target: < 2 s.

Timings on a shared, loaded machine are noisy; each figure is the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mlflow.entities.model_registry import ModelVersionTag  # noqa: E402


def _model(root: Path, mib: int, small: int) -> int:
    root.mkdir(parents=True, exist_ok=True)
    small_size = 16 * 1024
    big = mib * 1024 * 1024 - small * small_size
    with open(root / "model.pkl", "wb") as f:
        pickle.dump({"weights": os.urandom(big)}, f, protocol=4)
    for n in range(small):
        sub = root / "parts" / f"{n % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        if n % 2:
            (sub / f"part{n}.pkl").write_bytes(pickle.dumps({"n": n, "pad": b"x" * (small_size - 64)}))
        else:
            (sub / f"part{n}.json").write_bytes(b"{" + b" " * (small_size - 2) + b"}")
    (root / "MLmodel").write_text("flavors: {python_function: {}}\n")
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _median(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=500)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from mlflow_registry_ext.evidence.export import export_bundle
    from mlflow_registry_ext.keys import generate_keys, load_signing_key
    from mlflow_registry_ext.registry.store import GovernedRegistryStore
    from mlflow_registry_ext.security.service import scan_version

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ.pop("MLFLOW_GOVERNANCE_POLICY", None)
        os.environ["MLFLOW_GOVERNANCE_SCAN_ON_CREATE"] = "false"
        size = _model(tmp / "model", args.mib, args.small)
        mib = size / 2**20
        store = GovernedRegistryStore(f"governed+sqlite:///{tmp / 'mlflow.db'}")
        store.create_registered_model("bench")
        version = store.create_model_version("bench", str(tmp / "model")).version
        reports = []
        ours = _median(lambda: reports.append(
            scan_version(store.governance_db, store.inner, "bench", version)), args.repeat)
        cli = _median(lambda: subprocess.run(["modelscan", "-p", str(tmp / "model")], capture_output=True),
                      args.repeat)
        r = reports[-1]
        print(f"scan {mib:.0f} MiB ({len(r.scanned)} scanned, {len(r.skipped)} skipped, status {r.status}):")
        print(f"  scan_version     {ours:6.2f} s  {mib / ours:7.1f} MiB/s")
        print(f"  modelscan CLI    {cli:6.2f} s  {mib / cli:7.1f} MiB/s")
        target = max(mib / 100, 1.2 * cli)
        print(f"  ratio ours/CLI   {ours / cli:.2f}   target <= {target:.2f} s: {'met' if ours <= target else 'NOT met'}")

        generate_keys(tmp / "keys", log_name="bench/log")
        key = load_signing_key(tmp / "keys" / "signing.pem")
        _model(tmp / "small", 1, 10)
        small = store.create_model_version("bench", str(tmp / "small")).version
        for n in range(args.entries):
            store.set_model_version_tag("bench", small, ModelVersionTag(f"k{n % 50}", str(n)))
            store.set_model_version_tag("bench", version, ModelVersionTag(f"k{n % 50}", str(n)))
        for label, v in (("1 MiB model", small), (f"{mib:.0f} MiB model", version)):
            export = _median(lambda: export_bundle(store, "bench", v, key=key), args.repeat)
            print(f"evidence export, {label}, {args.entries}+ audit entries: {export:.2f} s (target < 2 s: "
                  f"{'met' if export < 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
