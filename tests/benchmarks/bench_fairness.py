"""A recorded fairness check vs what people do by hand today, on the same data.

Run: ``python tests/benchmarks/bench_fairness.py [--rows 10000,100000] [--repeat 3]``

For each size it prints the median time of:

* ``fairlearn``: fairlearn's functions called one by one for the four default metrics on ``sex``,
  ``race`` and their intersection (the by-hand baseline), vs ``measure``: the same values (plus
  per-group values and counts) through :func:`mlflow_registry_ext.fairness.metrics.measure`;
* ``by hand``: those fairlearn values logged as metrics of the version's run, vs
  ``evaluate_fairness``: measure, digest the data, judge thresholds, log one chart per record to
  the run, and write the records with their audit entries (SQLite).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fairlearn import metrics as flm  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

from mlflow_registry_ext.fairness.metrics import DEFAULT_METRICS, measure, sensitive_frame  # noqa: E402
from mlflow_registry_ext.fairness.service import evaluate_fairness  # noqa: E402
from mlflow_registry_ext.db.database import GovernanceDatabase  # noqa: E402
from tests.fairness.conftest import biased_frame  # noqa: E402

FEATURES = {"sex": "sex", "race": "race", "race&sex": ["race", "sex"]}


def _median(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _by_hand(frame) -> dict[str, float]:
    values = {}
    for metric in DEFAULT_METRICS:
        function = getattr(flm, metric)
        for name, columns in FEATURES.items():
            values[f"{metric}_{name.replace('&', '_')}"] = function(
                frame["label"], frame["prediction"], sensitive_features=frame[columns]
            )
    return values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = client.create_experiment("bench", artifact_location=Path(tmp, "artifacts").as_uri())
        run_id = client.create_run(experiment).info.run_id
        client.create_registered_model("bench")
        client.create_model_version("bench", source="s3://bucket/model", run_id=run_id)
        db = GovernanceDatabase(uri).ensure_schema()
        print(f"{'rows':>8} {'fairlearn':>10} {'measure':>9} {'ratio':>6} {'by hand':>9} {'recorded':>9} {'ratio':>6}")
        for rows in (int(r) for r in args.rows.split(",")):
            frame = biased_frame(n=rows, seed=1)
            sensitive = sensitive_frame(["sex", "race"], frame)
            plain = _median(lambda: _by_hand(frame), args.repeat)
            ours = _median(
                lambda: measure(frame["label"], frame["prediction"], sensitive, DEFAULT_METRICS), args.repeat
            )
            logged = _median(
                lambda: client.log_batch(run_id, metrics=_metrics(_by_hand(frame))), args.repeat
            )
            recorded = _median(
                lambda: evaluate_fairness(
                    db, "bench", "1", data=frame, y_true="label", y_pred="prediction",
                    sensitive_features=["sex", "race"], metrics=DEFAULT_METRICS,
                    thresholds={"demographic_parity_difference": 0.1},
                    client=client,
                ),
                args.repeat,
            )
            print(
                f"{rows:>8} {plain:>9.3f}s {ours:>8.3f}s {ours / plain:>5.2f}x "
                f"{logged:>8.3f}s {recorded:>8.3f}s {recorded / logged:>5.2f}x"
            )


def _metrics(values):
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, 0) for k, v in values.items()]


if __name__ == "__main__":
    main()
