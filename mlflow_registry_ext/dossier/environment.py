"""The ``environment``, ``signature`` and ``input_example`` parts, from the model's own files."""

from __future__ import annotations

import json
from typing import Any

from mlflow_registry_ext.dossier.model_files import ModelFiles
from mlflow_registry_ext.dossier.parts import missing, present

__all__ = ["environment_part", "signature_part", "input_example_part", "pinned"]


def pinned(requirement: str) -> bool:
    """Whether a requirement line names one exact version (``name==1.2.3``)."""
    return "==" in requirement and not requirement.lstrip().startswith(("-", "#"))


def _requirements(files: ModelFiles) -> tuple[list[str], str | None]:
    text = files.texts.get("requirements.txt")
    if text is not None:
        lines = [line.strip() for line in text.splitlines()]
        return [line for line in lines if line and not line.startswith("#")], "requirements.txt"
    env = files.yaml("python_env.yaml") or {}
    if env.get("dependencies"):
        return [str(d) for d in env["dependencies"]], "python_env.yaml"
    conda = files.yaml("conda.yaml") or {}
    for dep in conda.get("dependencies") or ():
        if isinstance(dep, dict) and dep.get("pip"):
            return [str(d) for d in dep["pip"]], "conda.yaml"
    return [], None


def environment_part(files: ModelFiles) -> dict:
    """Flavors (with their library versions), Python version, and the pinned requirements."""
    if files.problem and not files.texts:
        return missing(files.problem, flavors={}, python_version=None, requirements=[])
    mlmodel = files.mlmodel
    if not mlmodel:
        return missing("the model has no MLmodel file", flavors={}, python_version=None, requirements=[])
    flavors = {
        name: {k: v for k, v in (conf or {}).items() if k.endswith("_version") or k in ("loader_module", "env")}
        for name, conf in (mlmodel.get("flavors") or {}).items()
    }
    env = files.yaml("python_env.yaml") or {}
    python = env.get("python") or (mlmodel.get("flavors", {}).get("python_function") or {}).get("python_version")
    requirements, source = _requirements(files)
    return present(
        flavors=flavors,
        python_version=str(python) if python else None,
        mlflow_version=mlmodel.get("mlflow_version"),
        requirements=requirements,
        requirements_source=source,
        unpinned=[r for r in requirements if not pinned(r)],
        files=[n for n in files.names if n in ("MLmodel", "python_env.yaml", "conda.yaml", "requirements.txt")],
    )


def _load(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def signature_part(files: ModelFiles) -> dict:
    """The model signature MLflow recorded in MLmodel (inputs, outputs, params)."""
    signature = files.mlmodel.get("signature")
    if not signature:
        return missing("the model was logged without a signature", inputs=None, outputs=None, params=None)
    return present(inputs=_load(signature.get("inputs")), outputs=_load(signature.get("outputs")),
                   params=_load(signature.get("params")))


def input_example_part(files: ModelFiles) -> dict:
    """The saved input example: its file, type and (small) content."""
    info = files.mlmodel.get("saved_input_example_info")
    if not info:
        return missing("the model was logged without an input example", path=None, type=None, value=None)
    path = info.get("artifact_path")
    text = files.texts.get(path)
    return present(path=path, type=info.get("type"), value=_load(text) if text is not None else None)
