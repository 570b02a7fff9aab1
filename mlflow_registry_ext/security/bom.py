"""A model version's declared dependencies as a CycloneDX 1.6 BOM (``cyclonedx-python-lib``).

The BOM's subject is the model (a ``machine-learning-model`` component with the model card fields
the version has: description, flavors, signature, tags); the run's input datasets are ``data``
components; the Python packages declared in ``requirements.txt``, ``python_env.yaml`` and
``conda.yaml`` (pip section and conda packages) are ``library`` components with a ``pkg:pypi``
(or ``pkg:conda``) purl, pinned versions where the file pins them. cyclonedx-python-lib has no
``modelCard`` object yet, so the card fields are carried as ``mlflow:card:*`` properties.

Example:
    >>> bom = build_bom("fraud", "3", Path("model"), description="v3")   # doctest: +SKIP
    >>> json.loads(bom_json(bom))["specVersion"]                          # doctest: +SKIP
    '1.6'
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

__all__ = ["DeclaredPackage", "DatasetRef", "declared_packages", "build_bom", "bom_json", "run_datasets", "version_bom"]

_FILES = ("requirements.txt", "python_env.yaml", "conda.yaml")


@dataclasses.dataclass(frozen=True)
class DeclaredPackage:
    """A package a model's files declare: name, pinned version (if ``==``), the full specifier,
    the ecosystem (``pypi`` or ``conda``) and the file it came from."""

    name: str
    version: str | None
    specifier: str
    ecosystem: str
    source: str


@dataclasses.dataclass(frozen=True)
class DatasetRef:
    """A dataset the version's run used as input (MLflow's dataset name, digest and source)."""

    name: str
    digest: str | None = None
    source_type: str | None = None
    source: str | None = None
    context: str | None = None


def _pip(line: str, source: str) -> DeclaredPackage | None:
    from packaging.requirements import InvalidRequirement, Requirement

    line = line.split("#", 1)[0].strip()
    if not line or line.startswith(("-", "git+", "http:", "https:", "file:")):
        return None
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    pinned = [s.version for s in req.specifier if s.operator in ("==", "===")]
    return DeclaredPackage(req.name, pinned[0] if pinned else None, str(req.specifier) or "", "pypi", source)


def _conda(entry: str, source: str) -> DeclaredPackage | None:
    text = entry.strip()
    if not text:
        return None
    name, _, rest = text.partition("=")
    version = rest.lstrip("=").split("=")[0] or None
    return DeclaredPackage(name.strip(), version, f"={rest}" if rest else "", "conda", source)


def declared_packages(root: Path) -> list[DeclaredPackage]:
    """The packages declared by the requirements files at the top of a model folder."""
    root = Path(root)
    found: list[DeclaredPackage] = []
    req = root / "requirements.txt"
    if req.is_file():
        found += [p for line in req.read_text().splitlines() if (p := _pip(line, "requirements.txt"))]
    env = root / "python_env.yaml"
    if env.is_file():
        data = yaml.safe_load(env.read_text()) or {}
        for key in ("build_dependencies", "dependencies"):
            found += [p for line in data.get(key) or () if isinstance(line, str) and (p := _pip(line, "python_env.yaml"))]
    conda = root / "conda.yaml"
    if conda.is_file():
        data = yaml.safe_load(conda.read_text()) or {}
        for dep in data.get("dependencies") or ():
            if isinstance(dep, str):
                if (p := _conda(dep, "conda.yaml")):
                    found.append(p)
            elif isinstance(dep, dict):
                found += [p for line in dep.get("pip") or () if (p := _pip(str(line), "conda.yaml"))]
    return found


def _card(root: Path, description: str | None, tags: Mapping[str, str]) -> dict[str, str]:
    card: dict[str, str] = {}
    if description:
        card["description"] = description
    mlmodel = root / "MLmodel"
    if mlmodel.is_file():
        data = yaml.safe_load(mlmodel.read_text()) or {}
        if data.get("flavors"):
            card["flavors"] = ",".join(sorted(data["flavors"]))
        signature = data.get("signature") or {}
        for key in ("inputs", "outputs"):
            if signature.get(key):
                card[f"signature.{key}"] = str(signature[key])
    for key, value in sorted(tags.items()):
        if not key.startswith("mlflow."):
            card[f"tag.{key}"] = str(value)
    return card


def build_bom(
    model: str,
    version: str,
    root: Path,
    *,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    artifact_digest: str | None = None,
    datasets: Iterable[DatasetRef] = (),
):
    """The CycloneDX BOM of a model version whose files are at ``root``."""
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    properties = [Property(name=f"mlflow:card:{k}", value=v) for k, v in _card(Path(root), description, tags or {}).items()]
    hashes = []
    if artifact_digest and artifact_digest.startswith("sha256:"):
        properties.append(Property(name="mlflow:artifact_digest", value=artifact_digest))
    subject = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=model,
        version=str(version),
        bom_ref=f"model:{model}/{version}",
        description=description or None,
        hashes=hashes,
        properties=properties,
    )
    bom = Bom()
    bom.metadata.component = subject
    seen = set()
    for pkg in declared_packages(Path(root)):
        key = (pkg.ecosystem, pkg.name.lower(), pkg.version)
        if key in seen:
            continue
        seen.add(key)
        purl = PackageURL(type=pkg.ecosystem, name=pkg.name.lower(), version=pkg.version)
        component = Component(
            type=ComponentType.LIBRARY,
            name=pkg.name,
            version=pkg.version,
            purl=purl,
            bom_ref=f"{pkg.ecosystem}:{pkg.name.lower()}@{pkg.version or pkg.specifier or '*'}",
            properties=[Property(name="mlflow:declared_in", value=pkg.source),
                        *([Property(name="mlflow:specifier", value=pkg.specifier)] if pkg.specifier else [])],
        )
        bom.components.add(component)
        bom.register_dependency(subject, [component])
    for ds in datasets:
        props = [Property(name=f"mlflow:dataset:{k}", value=str(v))
                 for k, v in (("source_type", ds.source_type), ("source", ds.source), ("context", ds.context)) if v]
        component = Component(
            type=ComponentType.DATA,
            name=ds.name,
            version=ds.digest,
            bom_ref=f"data:{ds.name}@{ds.digest or '?'}",
            properties=props,
        )
        bom.components.add(component)
        bom.register_dependency(subject, [component])
    del HashAlgorithm, HashType  # the artifact digest is over a file list, not one blob: a property
    return bom


def bom_json(bom) -> str:
    """The BOM as CycloneDX 1.6 JSON."""
    from cyclonedx.output.json import JsonV1Dot6

    return JsonV1Dot6(bom).output_as_string(indent=2)


def run_datasets(run: Any) -> list[DatasetRef]:
    """The input datasets of an MLflow run (``run.inputs.dataset_inputs``)."""
    refs = []
    for item in getattr(getattr(run, "inputs", None), "dataset_inputs", None) or ():
        ds = item.dataset
        context = next((t.value for t in item.tags or () if t.key == "mlflow.data.context"), None)
        refs.append(DatasetRef(ds.name, ds.digest, ds.source_type, ds.source, context))
    return refs


def version_bom(
    inner_store: Any, model: str, version: str | int, *, tracking_client: Any = None, artifact_digest: str | None = None
) -> str:
    """The CycloneDX 1.6 JSON BOM of a registered model version: the producer the dossier and the
    evidence bundle take it from.

    Args:
        inner_store: An MLflow registry store holding the version.
        model: Registered model name.
        version: Model version.
        tracking_client: An ``MlflowClient`` for the version's run (its input datasets); without
            one, or without a run, the BOM lists no datasets.
        artifact_digest: The version's artifact digest when the caller has it (else the files
            are hashed).

    Raises:
        NotFound: The version or its artifacts do not exist.
    """
    from mlflow_registry_ext.security.files import local_model

    mv = inner_store.get_model_version(model, str(version))
    datasets: list[DatasetRef] = []
    if tracking_client is not None and mv.run_id:
        datasets = run_datasets(tracking_client.get_run(mv.run_id))
    uri = inner_store.get_model_version_download_uri(model, str(version))
    with local_model(uri) as local:
        bom = build_bom(
            model, str(version), local.root if local.root.is_dir() else local.root.parent,
            description=mv.description, tags=dict(mv.tags or {}),
            artifact_digest=artifact_digest or local.digest(),
            datasets=datasets,
        )
    return bom_json(bom)
