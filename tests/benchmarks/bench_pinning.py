"""Pinning model versions: what it adds to registering, copying and downloading.

Run: ``python tests/benchmarks/bench_pinning.py [--files 1000] [--file-kib 16] [--rounds 3] [--dir /dev/shm]``

Measured in one run on the same filesystem, median of ``--rounds``:

1. registering a ``--files`` model on ``cas+file`` (log the files, create the version) with the
   governed store pinning it vs MLflow's own store; target: pinning adds at most 5%; the pin
   alone should take under 100 ms for 1,000 files;
2. pinning a model from a plain MLflow root (copied once into a ``cas+file`` root) vs a plain
   copy (MLflow's download then upload between two plain roots); target >= 0.8x;
3. downloading the pinned snapshot vs today's verified download of the run's files; target
   >= 0.9x.

Timings on a shared, loaded machine are noisy: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository  # noqa: E402
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore  # noqa: E402

from mlflow_registry_ext.artifacts import CasArtifactRepository  # noqa: E402
from mlflow_registry_ext.artifacts.snapshot import copy_into_root, snapshot_cas_tree  # noqa: E402

POLICY = """\
version: 1
models:
  - match: "bench-*"
    protected_aliases: [production]
    require:
      artifact_digest: true
"""


def _model(directory: Path, files: int, kib: int) -> Path:
    model = directory / "model"
    model.mkdir(parents=True)
    for i in range(files):
        (model / f"part-{i:05d}.bin").write_bytes(os.urandom(kib * 1024))
    return model


def _median(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file-kib", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-pin-", dir=args.dir))
    try:
        os.environ.pop("MLFLOW_GOVERNANCE_PIN_ROOT", None)
        (work / "policy.yaml").write_text(POLICY)
        os.environ["MLFLOW_GOVERNANCE_POLICY"] = str(work / "policy.yaml")
        from mlflow_registry_ext.registry.store import GovernedRegistryStore

        model = _model(work / "src", args.files, args.file_kib)
        plain = SqlAlchemyStore(f"sqlite:///{work}/plain.db")
        governed = GovernedRegistryStore(f"governed+sqlite:///{work}/governed.db")
        plain.create_registered_model("bench-model")
        governed.create_registered_model("bench-model")

        def register(store):
            def run():
                uri = f"cas+file://{work}/root/1/{uuid.uuid4().hex}/artifacts"
                CasArtifactRepository(uri).log_artifacts(str(model), "model")
                store.create_model_version("bench-model", f"{uri}/model")
            return run

        register(plain)()  # warm both (root creation, imports)
        register(governed)()
        t_plain, t_gov = [], []
        for _ in range(args.rounds):  # interleaved, so drifting load hits both alike
            t_plain.append(_median(register(plain), 1))
            t_gov.append(_median(register(governed), 1))
        reg_plain, reg_gov = statistics.median(t_plain), statistics.median(t_gov)

        run_uri = f"cas+file://{work}/root/1/{uuid.uuid4().hex}/artifacts"
        run_repo = CasArtifactRepository(run_uri)
        run_repo.log_artifacts(str(model), "model")
        snapshot_cas_tree(CasArtifactRepository(f"{run_uri}/model"))  # warm
        (work / "root" / "trees" / "_pinned").rename(work / "old-pins")
        pin_alone = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            snap = snapshot_cas_tree(CasArtifactRepository(f"{run_uri}/model"))
            pin_alone.append(time.perf_counter() - t0)
            shutil.rmtree(work / "root" / "trees" / "_pinned")
        snap = snapshot_cas_tree(CasArtifactRepository(f"{run_uri}/model"))

        plain_src = LocalArtifactRepository(str(work / "plain-root" / "run"))
        plain_src.log_artifacts(str(model), "model")

        def plain_copy():
            dst = work / f"copy-{uuid.uuid4().hex}"
            with tempfile.TemporaryDirectory(dir=work) as tmp:
                local = plain_src.download_artifacts("model", tmp)
                LocalArtifactRepository(str(dst)).log_artifacts(local, "model")

        def pin_copy():
            copy_into_root(plain_src, "model", f"cas+file://{work}/pins-{uuid.uuid4().hex}")

        t_copy_plain, t_copy_pin = [], []
        for _ in range(args.rounds):
            t_copy_plain.append(_median(plain_copy, 1))
            t_copy_pin.append(_median(pin_copy, 1))

        def download(uri):
            def run():
                with tempfile.TemporaryDirectory(dir=work) as tmp:
                    CasArtifactRepository(uri).download_artifacts("", tmp)
            return run

        t_dl_run, t_dl_pin = [], []
        for _ in range(args.rounds):
            t_dl_run.append(_median(download(f"{run_uri}/model"), 1))
            t_dl_pin.append(_median(download(snap.uri), 1))

        size = args.files * args.file_kib / 1024
        print(f"model: {args.files} files x {args.file_kib} KiB ({size:.1f} MiB) in {work.parent}; "
              f"load average {os.getloadavg()[0]:.2f}; median of {args.rounds}")
        print(f"register  plain {reg_plain * 1000:8.1f} ms  governed+pin {reg_gov * 1000:8.1f} ms  "
              f"overhead {100 * (reg_gov / reg_plain - 1):+.1f}% (target <= +5%)")
        print(f"pin alone {statistics.median(pin_alone) * 1000:8.1f} ms (target < 100 ms)")
        cp, cq = statistics.median(t_copy_plain), statistics.median(t_copy_pin)
        print(f"copy      plain {cp * 1000:8.1f} ms  pin-copy {cq * 1000:8.1f} ms  "
              f"ratio {cp / cq:.2f}x (target >= 0.8x)")
        dr, dp = statistics.median(t_dl_run), statistics.median(t_dl_pin)
        print(f"download  verified {dr * 1000:8.1f} ms  pinned {dp * 1000:8.1f} ms  "
              f"ratio {dr / dp:.2f}x (target >= 0.9x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
