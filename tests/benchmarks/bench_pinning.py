"""Pinning model versions: what it adds to registering, copying and downloading, side by side.

Run: ``python tests/benchmarks/bench_pinning.py [--files 1000] [--file-kib 16] [--rounds 5]
[--dir /dev/shm] [--no-check]``

Measured in one run on the same filesystem, median of ``--rounds``, the sides interleaved round by
round so drifting load hits them alike:

1. **register**: logging a fresh ``--files`` model (new bytes every round) to ``cas+file`` and
   creating its version, on the governed store with pinning and on the same governed store with
   the pin step switched off (everything else identical: policy, audit, digest tag). Target:
   pinning adds at most 5%. MLflow's own store is shown for reference. The pin itself
   (``Pinner.pin``: snapshot, manifest row, ``storage_location``) is timed inside those
   registrations; target under 100 ms for 1,000 files.
2. **copy**: pinning a model from a plain MLflow root (copied once into a fresh ``cas+file`` root,
   every byte hashed) vs a plain copy (MLflow's download then upload between two plain roots).
   Target >= 0.8x.
3. **download**: downloading the pinned snapshot vs today's verified download of the run's files
   (both re-hash every byte). Target >= 0.9x.

Ratios are printed against their targets; the exit code is 1 when one is missed (``--no-check``
only prints). The load average is printed before and after: on a shared, loaded machine the
figures are noise.
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
    """A model directory of ``files`` files of random bytes (new content on every call)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for i in range(files):
        (directory / f"part-{i:05d}.bin").write_bytes(os.urandom(kib * 1024))
    return directory


def _timed(fn) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads of this process) of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def _interleaved(sides: dict, rounds: int, prepare=None) -> tuple[dict[str, float], dict[str, float]]:
    """The median wall-clock and CPU time of each side; each round runs every side once, the
    order rotating."""
    wall: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for number in range(rounds):
        order = names[number % len(names):] + names[: number % len(names)]
        for name in order:
            if prepare is not None:
                prepare()
            w, c = _timed(sides[name])
            wall[name].append(w)
            cpu[name].append(c)
    median = statistics.median
    return {n: median(t) for n, t in wall.items()}, {n: median(t) for n, t in cpu.items()}


class _Verdicts:
    def __init__(self) -> None:
        self.missed: list[str] = []

    def check(self, label: str, ok: bool) -> str:
        if not ok:
            self.missed.append(label)
        return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file-kib", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--no-check", action="store_true", help="print only; exit 0 either way")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-pin-", dir=args.dir))
    verdicts = _Verdicts()
    try:
        os.environ.pop("MLFLOW_GOVERNANCE_PIN_ROOT", None)
        (work / "policy.yaml").write_text(POLICY)
        os.environ["MLFLOW_GOVERNANCE_POLICY"] = str(work / "policy.yaml")
        from mlflow_registry_ext.registry.store import GovernedRegistryStore

        # 1. registering: the same governed store with and without its pin step.
        plain = SqlAlchemyStore(f"sqlite:///{work}/plain.db")
        pinning = GovernedRegistryStore(f"governed+sqlite:///{work}/pinning.db")
        unpinned = GovernedRegistryStore(f"governed+sqlite:///{work}/unpinned.db")
        unpinned.pinner.pin = lambda name, version: None  # everything else stays the same
        pin_times: list[float] = []
        real_pin = pinning.pinner.pin

        def timed_pin(name, version):
            t0 = time.perf_counter()
            try:
                return real_pin(name, version)
            finally:
                pin_times.append(time.perf_counter() - t0)

        pinning.pinner.pin = timed_pin
        for store in (plain, pinning, unpinned):
            store.create_registered_model("bench-model")
        model_dir = work / "src" / "model"

        version_times: dict[int, list[float]] = {id(s): [] for s in (plain, pinning, unpinned)}

        def register(store):
            def run():
                uri = f"cas+file://{work}/root/1/{uuid.uuid4().hex}/artifacts"
                CasArtifactRepository(uri).log_artifacts(str(model_dir), "model")
                t0 = time.perf_counter()
                store.create_model_version("bench-model", f"{uri}/model")
                version_times[id(store)].append(time.perf_counter() - t0)
            return run

        def fresh_model():
            _model(model_dir, args.files, args.file_kib)

        for store in (plain, pinning, unpinned):  # warm up (root creation, imports, caches)
            fresh_model()
            register(store)()
        pin_times.clear()
        for times in version_times.values():
            times.clear()
        reg, reg_cpu = _interleaved(
            {"mlflow": register(plain), "governed": register(unpinned), "governed+pin": register(pinning)},
            args.rounds,
            prepare=fresh_model,
        )
        pin_alone = statistics.median(pin_times)
        for version in pinning.search_model_versions("name='bench-model'"):
            assert pinning.pinner.manifest("bench-model", version.version) is not None

        # 2. copying from a plain root.
        model = _model(work / "src" / "model", args.files, args.file_kib)
        plain_src = LocalArtifactRepository(str(work / "plain-root" / "run"))
        plain_src.log_artifacts(str(model), "model")

        def plain_copy():
            dst = work / f"copy-{uuid.uuid4().hex}"
            with tempfile.TemporaryDirectory(dir=work) as tmp:
                local = plain_src.download_artifacts("model", tmp)
                LocalArtifactRepository(str(dst)).log_artifacts(local, "model")

        def pin_copy():
            copy_into_root(plain_src, "model", f"cas+file://{work}/pins-{uuid.uuid4().hex}")

        plain_copy()
        pin_copy()
        copy, _ = _interleaved({"plain": plain_copy, "pin": pin_copy}, args.rounds)

        # 3. downloading: the run's files (verified) vs the pinned snapshot of the same files.
        run_uri = f"cas+file://{work}/root/1/{uuid.uuid4().hex}/artifacts"
        CasArtifactRepository(run_uri).log_artifacts(str(model), "model")
        snap = snapshot_cas_tree(CasArtifactRepository(f"{run_uri}/model"))

        def download(uri):
            def run():
                with tempfile.TemporaryDirectory(dir=work) as tmp:
                    CasArtifactRepository(uri).download_artifacts("", tmp)
            return run

        download(snap.uri)()
        dl, _ = _interleaved(
            {"verified": download(f"{run_uri}/model"), "pinned": download(snap.uri)}, args.rounds
        )

        size = args.files * args.file_kib / 1024
        print(f"model: {args.files} files x {args.file_kib} KiB ({size:.1f} MiB) in {work.parent}; "
              f"median of {args.rounds}; load average {load_before:.2f} before, "
              f"{os.getloadavg()[0]:.2f} after")
        added = reg["governed+pin"] / reg["governed"] - 1
        added_cpu = reg_cpu["governed+pin"] / reg_cpu["governed"] - 1
        print(f"register  mlflow {reg['mlflow'] * 1000:8.1f} ms  governed {reg['governed'] * 1000:8.1f} ms  "
              f"governed+pin {reg['governed+pin'] * 1000:8.1f} ms  pinning adds {100 * added:+.1f}% "
              f"(target <= +5%: {verdicts.check('register', added <= 0.05)}; "
              f"CPU time {100 * added_cpu:+.1f}%)")
        cmv = {name: statistics.median(version_times[id(s)]) * 1000
               for name, s in (("mlflow", plain), ("governed", unpinned), ("governed+pin", pinning))}
        print(f"  of which create_model_version: mlflow {cmv['mlflow']:.1f} ms, governed "
              f"{cmv['governed']:.1f} ms, governed+pin {cmv['governed+pin']:.1f} ms")
        print(f"pin alone {pin_alone * 1000:8.1f} ms (Pinner.pin inside those registrations; "
              f"target < 100 ms: {verdicts.check('pin', pin_alone < 0.1)})")
        ratio = copy["plain"] / copy["pin"]
        print(f"copy      plain {copy['plain'] * 1000:8.1f} ms  pin-copy {copy['pin'] * 1000:8.1f} ms  "
              f"ratio {ratio:.2f}x (target >= 0.8x: {verdicts.check('copy', ratio >= 0.8)})")
        ratio = dl["verified"] / dl["pinned"]
        print(f"download  verified {dl['verified'] * 1000:8.1f} ms  pinned {dl['pinned'] * 1000:8.1f} ms  "
              f"ratio {ratio:.2f}x (target >= 0.9x: {verdicts.check('download', ratio >= 0.9)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cores = os.cpu_count() or 1
    if max(load_before, os.getloadavg()[0]) > cores:
        print(f"note: load average above the {cores} cores: other work competes for them and the "
              "wall-clock figures are not meaningful (CPU time is steadier)")
    if verdicts.missed:
        print(f"missed: {', '.join(verdicts.missed)}")
        return 0 if args.no_check else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
