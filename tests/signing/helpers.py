"""Keys and model folders for the signing tests."""

from __future__ import annotations

from pathlib import Path

from mlflow_registry_ext.keys import generate_keys


def make_keys(directory: Path):
    """A fresh signing key and log key in ``directory``."""
    return generate_keys(directory, log_name="test.example/log")


def make_model_dir(directory: Path) -> Path:
    """A small model folder with a nested file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "MLmodel").write_text("flavors: {}\n")
    (directory / "data").mkdir(exist_ok=True)
    (directory / "data" / "weights.bin").write_bytes(bytes(range(256)) * 64)
    return directory


def serialized_model(directory) -> Path:
    """The one file holding a logged scikit-learn model's weights under ``directory`` (skops or
    pickle, by the MLflow release's default)."""
    found = [p for p in Path(directory).rglob("model.*") if p.suffix in (".skops", ".pkl")]
    assert len(found) == 1, found
    return found[0]


def flip_byte(path: Path, offset: int = 0) -> None:
    """Change one byte of ``path`` in place."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
