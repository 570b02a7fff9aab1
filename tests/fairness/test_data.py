"""Reading evaluation files, and the content digest of the data."""

from __future__ import annotations

import pandas as pd
import pytest

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.fairness.data import DatasetInfo, frame_digest, load_table


def test_csv_and_parquet_of_the_same_table_have_the_same_digest(frame, tmp_path):
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_csv(tmp_path / "d.csv.gz", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    digests = {frame_digest(load_table(tmp_path / n)) for n in ("d.csv", "d.csv.gz", "d.parquet")}
    assert digests == {frame_digest(frame)}
    assert frame_digest(frame).startswith("sha256:") and len(frame_digest(frame)) == 71


def test_any_change_changes_the_digest(frame):
    original = frame_digest(frame)
    changed = frame.copy()
    changed.loc[10, "prediction"] = 1 - changed.loc[10, "prediction"]
    assert frame_digest(changed) != original
    assert frame_digest(frame.iloc[:-1]) != original
    assert frame_digest(frame.rename(columns={"sex": "gender"})) != original
    assert frame_digest(frame.iloc[::-1]) != original
    # The index is not content.
    assert frame_digest(frame.set_axis(range(100, 100 + len(frame)))) == original


def test_digest_of_a_large_table_spans_chunks():
    big = pd.DataFrame({"x": range(120_000)})
    changed = big.copy()
    changed.loc[110_000, "x"] = -1
    assert frame_digest(big) != frame_digest(changed)


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        load_table(tmp_path / "nope.csv")
    (tmp_path / "d.json").write_text("{}")
    with pytest.raises(InvalidInput, match="neither CSV nor Parquet"):
        load_table(tmp_path / "d.json")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(InvalidInput, match="Cannot read data file"):
        load_table(tmp_path / "bad.parquet")


def test_dataset_info_from_an_mlflow_dataset(frame, tmp_path):
    import mlflow.data

    path = tmp_path / "holdout.csv"
    frame.to_csv(path, index=False)
    dataset = mlflow.data.from_pandas(frame, source=str(path), name="holdout")
    info = DatasetInfo.coerce(dataset)
    assert info.name == "holdout"
    assert '"type": "local"' in info.source and "holdout.csv" in info.source
    assert DatasetInfo.coerce("q1") == DatasetInfo(name="q1")
    assert DatasetInfo.coerce(None) == DatasetInfo()
    with pytest.raises(InvalidInput):
        DatasetInfo.coerce(42)
