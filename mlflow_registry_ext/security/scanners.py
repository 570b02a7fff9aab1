"""The scanners behind ``mlflow-registry-ext scan``: modelscan where it installs, else picklescan.

The ``security`` extra picks one by Python version, because neither covers our whole range:
modelscan 0.8.8 declares ``Python < 3.13`` and picklescan 1.0.5 declares ``>= 3.11``. modelscan
is preferred (more formats: pickle, PyTorch, NumPy, Keras/H5, TensorFlow SavedModel, with
severities); picklescan (pickle, PyTorch, NumPy, zip/7z) takes over on 3.13 and later.

Both decide by file extension. A pickle under a name they do not know (``weights``,
``model.bin2``) would be skipped, so :class:`ModelscanScanner` sniffs the skipped files for a
pickle header and scans those as pickles too.

Example:
    >>> import os, pickle
    >>> _ = Path(model_dir, "model.pkl").write_bytes(pickle.dumps(os.system))   # names os.system
    >>> scanner = default_scanner()
    >>> scanner.name, scanner.scan(Path(model_dir)).findings[0].severity
    ('modelscan', 'critical')
"""

from __future__ import annotations

import copy
import importlib.metadata
import os
from pathlib import Path
from typing import Protocol

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.security.findings import Finding, ScanOutcome, Skipped
from mlflow_registry_ext import settings

__all__ = ["Scanner", "ModelscanScanner", "PicklescanScanner", "default_scanner", "looks_like_pickle"]

_PICKLE_SCANNER = "modelscan.scanners.PickleUnsafeOpScan"


class Scanner(Protocol):
    """Scans a local folder of model files, offline."""

    name: str

    @property
    def version(self) -> str: ...

    def scan(self, root: Path) -> ScanOutcome: ...


def looks_like_pickle(path: Path) -> bool:
    """Whether the file starts like a pickle of protocol 2 or later (``\\x80`` and the protocol)."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _relative(source: str, root: Path) -> str:
    path = Path(source)
    if path.is_absolute():
        try:
            path = path.relative_to(root)
        except ValueError:
            pass
    return path.as_posix()


def _numpy_names_for_modelscan() -> None:
    # modelscan 0.8.8 reads .npy headers through numpy.lib.format._check_version and
    # _read_array_header; numpy 2 moved both to numpy.lib._format_impl. Without them every .npy
    # (and every array inside a skops or PyTorch zip) is an error; point the old names at the
    # same functions, and only where they are missing.
    try:
        import numpy.lib._format_impl as impl
        import numpy.lib.format as fmt
    except ImportError:  # numpy 1.x: the names are where modelscan looks
        return
    for name in ("_check_version", "_read_array_header"):
        if not hasattr(fmt, name) and hasattr(impl, name):
            setattr(fmt, name, getattr(impl, name))


class ModelscanScanner:
    """`modelscan <https://github.com/protectai/modelscan>`_ (Protect AI)."""

    name = "modelscan"

    def __init__(self):
        _numpy_names_for_modelscan()

    @property
    def version(self) -> str:
        return importlib.metadata.version("modelscan")

    def scan(self, root: Path) -> ScanOutcome:
        from modelscan.modelscan import ModelScan
        from modelscan.settings import DEFAULT_SETTINGS

        root = Path(root).resolve()
        report = ModelScan(settings=copy.deepcopy(DEFAULT_SETTINGS)).scan(str(root))
        outcome = self._outcome(report, root)
        sniffed = [s for s in outcome.skipped if looks_like_pickle(root / s.file)]
        if not sniffed:
            return outcome
        # Named so the extension-based scanners pass them by: scan them as the pickles they are.
        extra = [self._as_pickle(root, s.file) for s in sniffed]
        names = {s.file for s in sniffed}
        return ScanOutcome(
            scanned=outcome.scanned + tuple(s.file for s in sniffed),
            findings=outcome.findings + tuple(f for o in extra for f in o.findings),
            skipped=tuple(s for s in outcome.skipped if s.file not in names),
            errors=outcome.errors + tuple(e for o in extra for e in o.errors),
        )

    def _as_pickle(self, root: Path, rel: str) -> ScanOutcome:
        import tempfile

        from modelscan.modelscan import ModelScan
        from modelscan.settings import DEFAULT_SETTINGS

        settings = copy.deepcopy(DEFAULT_SETTINGS)
        for name, conf in settings["scanners"].items():
            conf["enabled"] = name == _PICKLE_SCANNER
        # modelscan picks scanners by suffix alone: show it the file under a pickle's name.
        with tempfile.TemporaryDirectory(prefix="scan-pickle-") as tmp:
            alias = Path(tmp) / "file.pkl"
            os.symlink(root / rel, alias)
            report = ModelScan(settings=settings).scan(str(alias))
        outcome = self._outcome(report, alias)
        if not outcome.scanned and not outcome.errors:
            return ScanOutcome(errors=(f"{rel}: looks like a pickle but could not be scanned as one",))
        return ScanOutcome(
            scanned=(rel,),
            findings=tuple(
                Finding(rel, f.severity, f.description, f.module, f.operator, f.scanner) for f in outcome.findings
            ),
            errors=tuple(e.replace("file.pkl", rel, 1) for e in outcome.errors),
        )

    @staticmethod
    def _outcome(report: dict, root: Path) -> ScanOutcome:
        summary = report.get("summary") or {}
        base = root if root.is_dir() else root.parent
        single = None if root.is_dir() else root.name

        def rel(source) -> str:
            text = _relative(str(source), base)
            return single if single and text in (single, str(root)) else text

        findings = tuple(
            Finding(
                file=rel(issue.get("source", "")),
                severity=str(issue.get("severity", "")).lower(),
                description=str(issue.get("description", "")),
                module=issue.get("module"),
                operator=issue.get("operator"),
                scanner=issue.get("scanner"),
            )
            for issue in report.get("issues") or ()
        )
        skipped = tuple(
            Skipped(rel(item.get("source", "")), f"{item.get('category', 'SKIPPED')}: {item.get('description', '')}")
            for item in (summary.get("skipped") or {}).get("skipped_files") or ()
        )
        errors = tuple(
            f"{rel(err.get('source', ''))}: {err.get('description') or err.get('message') or err}"
            if isinstance(err, dict) else str(err)
            for err in report.get("errors") or ()
        )
        scanned = tuple(rel(s) for s in (summary.get("scanned") or {}).get("scanned_files") or ())
        return ScanOutcome(scanned=scanned, findings=findings, skipped=skipped, errors=errors)


class PicklescanScanner:
    """`picklescan <https://github.com/mmaitre314/picklescan>`_: dangerous globals in pickles."""

    name = "picklescan"
    #: picklescan's safety levels as severities.
    SEVERITY = {"dangerous": "critical", "suspicious": "medium"}

    @property
    def version(self) -> str:
        return importlib.metadata.version("picklescan")

    def scan(self, root: Path) -> ScanOutcome:
        from picklescan.scanner import scan_file_path

        root = Path(root).resolve()
        scanned, findings, skipped, errors = [], [], [], []
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            result = scan_file_path(str(path))
            if result.scan_err:
                errors.append(f"{rel}: picklescan could not parse it")
                continue
            if not result.scanned_files:
                skipped.append(Skipped(rel, "not a format picklescan reads"))
                continue
            scanned.append(rel)
            for g in result.globals:
                severity = self.SEVERITY.get(getattr(g.safety, "value", str(g.safety)))
                if severity:
                    findings.append(
                        Finding(rel, severity, f"Use of unsafe global '{g.name}' from module '{g.module}'",
                                g.module, g.name, "picklescan")
                    )
        return ScanOutcome(tuple(scanned), tuple(findings), tuple(skipped), tuple(errors))


#: ``MLFLOW_GOVERNANCE_SCANNER``: ``modelscan`` or ``picklescan``; default: the first installed.
SCANNER_ENV = settings.SCANNER.name
_SCANNERS = {"modelscan": ModelscanScanner, "picklescan": PicklescanScanner}


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def default_scanner() -> Scanner:
    """The scanner to use: ``MLFLOW_GOVERNANCE_SCANNER`` if set, else modelscan, else picklescan.

    Raises:
        InvalidInput: The variable names an unknown scanner, or no scanner is installed
            (install ``mlflow-registry-ext[security]``).
    """
    wanted = (settings.SCANNER.get() or "").lower()
    if wanted:
        if wanted not in _SCANNERS:
            raise InvalidInput(f"{SCANNER_ENV}={wanted!r} is not a scanner (choose {', '.join(_SCANNERS)})")
        if not _installed(wanted):
            raise InvalidInput(f"{SCANNER_ENV}={wanted} but {wanted} is not installed")
        return _SCANNERS[wanted]()
    for name, cls in _SCANNERS.items():
        if _installed(name):
            return cls()
    raise InvalidInput("No model scanner is installed: pip install 'mlflow-registry-ext[security]'")
