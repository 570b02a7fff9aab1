"""Evaluation data: reading CSV and Parquet files, and a digest of a table's content.

The digest is ``sha256:`` and the SHA-256 of the table's canonical CSV encoding (column names,
then the rows in order, no index), so the same table read from CSV or from Parquet gets the same
digest, and any changed cell, row or column changes it.

Example:
    >>> frame = load_table("holdout.parquet")
    >>> frame_digest(frame) == frame_digest(load_table("holdout.csv"))
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from mlflow_registry_ext.errors import InvalidInput

__all__ = ["DatasetInfo", "load_table", "frame_digest", "TABLE_SUFFIXES"]

_CSV = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".csv.xz")
_PARQUET = (".parquet", ".pq")
#: File name endings :func:`load_table` reads.
TABLE_SUFFIXES: tuple[str, ...] = _CSV + _PARQUET

_CHUNK_ROWS = 50_000


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a fairness record says about its data.

    Attributes:
        name: A name people and policies use, e.g. ``holdout-2026q1``.
        source: Where it came from: an MLflow dataset source as JSON, or a file path.
    """

    name: str | None = None
    source: str | None = None

    @classmethod
    def coerce(cls, dataset: Any) -> DatasetInfo:
        """From ``None``, a name, a :class:`DatasetInfo`, or an MLflow ``Dataset``."""
        if dataset is None:
            return cls()
        if isinstance(dataset, DatasetInfo):
            return dataset
        if isinstance(dataset, str):
            return cls(name=dataset)
        source = getattr(dataset, "source", None)
        name = getattr(dataset, "name", None)
        if source is not None and hasattr(source, "to_dict"):
            source_text = json.dumps(
                {"type": source._get_source_type(), "source": source.to_dict(), "name": name},
                sort_keys=True,
                default=str,
            )
            return cls(name=name, source=source_text)
        if name is not None:
            return cls(name=str(name))
        raise InvalidInput(
            f"dataset must be a name, a DatasetInfo or an MLflow Dataset, got {type(dataset).__name__}"
        )


def load_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet file.

    Raises:
        InvalidInput: The file is missing, of another type, or cannot be parsed.

    Example:
        >>> load_table("holdout.csv").columns.tolist()
        ['age', 'sex', 'label', 'prediction']
    """
    file = Path(path)
    name = file.name.lower()
    if not file.is_file():
        raise InvalidInput(f"Data file {str(path)!r} does not exist")
    try:
        if name.endswith(_PARQUET):
            return pd.read_parquet(file)
        if name.endswith(_CSV):
            return pd.read_csv(file)
    except (ValueError, OSError, ImportError) as exc:
        raise InvalidInput(f"Cannot read data file {str(path)!r}: {exc}") from exc
    raise InvalidInput(
        f"Data file {str(path)!r} is neither CSV nor Parquet (expected a name ending in "
        f"{', '.join(TABLE_SUFFIXES)})"
    )


def frame_digest(frame: pd.DataFrame) -> str:
    """``sha256:<hex>`` over the canonical CSV encoding of ``frame``.

    Example:
        >>> frame_digest(pd.DataFrame({"a": [1]})) == frame_digest(pd.DataFrame({"a": [1]}))
        True
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode("utf-8") + b"\n")
    plain = frame.reset_index(drop=True)
    for start in range(0, len(plain), _CHUNK_ROWS):
        chunk = plain.iloc[start : start + _CHUNK_ROWS]
        digest.update(chunk.to_csv(index=False, header=False, lineterminator="\n").encode("utf-8"))
    return f"sha256:{digest.hexdigest()}"
