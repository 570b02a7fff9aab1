"""Alias and stage names as a person reads them: folding, look-alikes, refused characters. Pure.

A reviewer reads ``Production``, ``PRODUCTION``, ``prоduction`` (Cyrillic ``о``) and the
full-width ``ｐｒｏｄｕｃｔｉｏｎ`` as the protected ``production``; MLflow stores them as five
different aliases. :func:`fold` maps a name to the key a person would compare: Unicode NFKC,
case folding, then the Unicode TS #39 skeleton (each character replaced by the prototype of its
confusable class, from Unicode's ``confusables.txt`` as shipped by the maintained
``confusable-homoglyphs`` package). Two names with the same folded key are look-alikes.

:func:`check_alias_name` refuses what MLflow's own alias check lets through although no person
can see it: MLflow matches aliases with ``^[\\w\\-]*$``, whose ``$`` also matches before a final
newline, so ``"production\\n"`` is stored as a separate alias that prints like ``production``.

Example:
    >>> fold("ｐｒｏｄｕｃｔｉｏｎ") == fold("prоduction") == fold("production")
    True
    >>> lookalike_of("Production", ["production", "champion"])
    'production'
    >>> lookalike_of("production", ["production"]) is None   # the name itself is no look-alike
    True
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Iterable

from mlflow.utils import validation as _mlflow_validation

from mlflow_registry_ext.errors import InvalidInput

__all__ = ["fold", "lookalike_of", "check_alias_name", "check_mlflow_alias", "has_hidden_characters"]


def _mlflow_check(*names: str):
    """The first of ``names`` that MLflow's validation module holds: MLflow 3.18 renamed its
    alias checks (``_validate_model_alias_name`` became ``_validate_alias_name``)."""
    return next(getattr(_mlflow_validation, name) for name in names if hasattr(_mlflow_validation, name))


_mlflow_alias_name = _mlflow_check("_validate_model_alias_name", "_validate_alias_name")
_mlflow_alias_reserved = _mlflow_check("_validate_model_alias_name_reserved", "_validate_alias_name_reserved")

# Categories no person sees in a name: controls, format characters (zero-width space, bidi
# overrides), separators, surrogates, private use and unassigned code points.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


@functools.lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Character -> prototype of its TS #39 confusable class.

    ``confusable-homoglyphs`` keeps Unicode's table as a symmetric graph (source -> prototype and
    back). The table is idempotent (a prototype never maps further), so every connected part of
    that graph is a star whose centre is the prototype; a part of two nodes has no visible
    centre, and either node serves, as long as the choice is the same every time.
    """
    from confusable_homoglyphs import confusables

    neighbours: dict[str, set[str]] = {}
    for source, entries in confusables.confusables_data.items():
        for entry in entries:
            neighbours.setdefault(source, set()).add(entry["c"])
            neighbours.setdefault(entry["c"], set()).add(source)
    table: dict[str, str] = {}
    seen: set[str] = set()
    for start in neighbours:
        if start in seen:
            continue
        part, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node not in part:
                part.add(node)
                stack.extend(neighbours[node])
        seen |= part
        # The centre, or for a pair the multi-character one (only prototypes span several
        # characters), else the lower code point: any fixed choice gives equal keys.
        centre = max(part, key=lambda n: (len(neighbours[n]), len(n), [-ord(c) for c in n]))
        for node in part:
            if len(node) == 1 and node != centre:
                table[node] = centre
    return table


def _skeleton(text: str) -> str:
    table = _prototypes()
    # A prototype of several characters may hold characters that map again; a few passes reach
    # the fixed point (TS #39 defines the skeleton on NFD text).
    for _ in range(4):
        decomposed = unicodedata.normalize("NFD", text)
        mapped = "".join(table.get(ch, ch) for ch in decomposed)
        if mapped == text:
            break
        text = mapped
    return unicodedata.normalize("NFD", text)


@functools.lru_cache(maxsize=4096)
def fold(name: str) -> str:
    """The key under which ``name`` reads the same as every look-alike of it.

    Args:
        name: An alias or stage name.

    Returns:
        NFKC-normalised, case-folded TS #39 skeleton of ``name`` (case folded again, since a
        prototype may be upper case).

    Example:
        >>> fold("PRODUCTION") == fold("production")
        True
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    return _skeleton(text).casefold()


def lookalike_of(name: str, protected: Iterable[str]) -> str | None:
    """The protected name that ``name`` imitates without being it, or ``None``.

    Args:
        name: The alias or stage name being set.
        protected: The names a rule protects.

    Returns:
        The first protected name with the same :func:`fold` key but different spelling; ``None``
        when ``name`` is itself protected or resembles none of them.

    Example:
        >>> lookalike_of("champion", ["production"]) is None
        True
    """
    names = tuple(protected)
    if name in names:
        return None
    key = fold(name)
    return next((p for p in names if fold(p) == key), None)


def has_hidden_characters(name: str) -> bool:
    """Whether ``name`` holds whitespace or a control, format or unassigned character."""
    return any(ch.isspace() or unicodedata.category(ch) in _HIDDEN_CATEGORIES for ch in name)


def check_mlflow_alias(alias: str, *, reserved: bool = True) -> None:
    """Apply MLflow's own checks of an alias name, with its exact messages.

    Args:
        alias: The alias name.
        reserved: Also refuse the names MLflow reserves (``latest``, ``v1``, ...), as it does
            when an alias is set.

    Raises:
        MlflowException: ``INVALID_PARAMETER_VALUE``, as MLflow raises it.
    """
    _mlflow_alias_name(alias)
    if reserved:
        _mlflow_alias_reserved(alias)


def check_alias_name(alias: str) -> None:
    """Refuse an alias name holding characters a person cannot see.

    MLflow refuses most of them already; the message starts with MLflow's own wording so code that
    matches it keeps working.

    Args:
        alias: The alias being set.

    Raises:
        InvalidInput: ``alias`` starts or ends with whitespace or holds a control or format
            character (``"production\\n"``, ``" production"``, ``"prod\\u200buction"``).
    """
    if isinstance(alias, str) and has_hidden_characters(alias):
        raise InvalidInput(
            f"Invalid alias name: {alias!r}. Alias names may not contain whitespace, control or "
            "invisible characters (a reader could not tell it from another alias)"
        )
