"""Model folders for scanner tests: a crafted malicious pickle, and clean models."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path


class Boom:
    """Runs a shell command when unpickled. Never load what it writes."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def malicious_model(directory: Path, name: str = "model.pkl") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n")
    with open(directory / name, "wb") as f:
        pickle.dump(Boom(), f)
    return directory


def skops_model(directory: Path) -> Path:
    """A fitted scikit-learn model saved with skops (no pickle)."""
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    directory.mkdir(parents=True, exist_ok=True)
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(x, [0, 0, 1, 1])
    sio.dump(model, directory / "model.skops")
    (directory / "MLmodel").write_text("flavors:\n  sklearn:\n    serialization_format: skops\n")
    (directory / "requirements.txt").write_text("scikit-learn==1.5.2\nskops==0.16.0\n")
    return directory


def safetensors_model(directory: Path) -> Path:
    """A file in the safetensors layout (8-byte header length, JSON header, raw tensor bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    data = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, len(data)]}}).encode()
    (directory / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + data)
    return directory
