"""Model card fields: where MLflow users write them and how they are read. Pure.

A field comes from, in this order (the first non-blank value wins):

1. the version tag ``model_card.<field>`` (e.g. ``model_card.intended_use``), which anyone with
   edit rights sets in the stock MLflow UI or with ``MlflowClient.set_model_version_tag``;
2. the YAML front matter of a ``MODEL_CARD.md`` file at the root of the model's artifacts
   (logged with the model, so it is covered by the artifact digest); the Markdown below the front
   matter is kept as the card's free text.

Tags win because they are how a card is corrected after logging without re-logging the model;
a rule with ``require.artifact_digest`` and required card tags binds both to the approval.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import yaml

__all__ = ["TAG_PREFIX", "CARD_FIELDS", "FIELD_PATTERN", "split_front_matter", "card_fields", "model_card_part"]

TAG_PREFIX = "model_card."

#: The fields the card renders, with their headings (Mitchell et al. 2019; Hugging Face cards).
CARD_FIELDS: dict[str, str] = {
    "description": "Model details",
    "developed_by": "Developed by",
    "model_type": "Model type",
    "license": "License",
    "intended_use": "Intended use",
    "out_of_scope_use": "Out-of-scope use",
    "factors": "Factors",
    "training_data": "Training data",
    "evaluation_data": "Evaluation data",
    "limitations": "Bias, risks and limitations",
    "ethical_considerations": "Ethical considerations",
    "caveats_and_recommendations": "Caveats and recommendations",
    "contact": "Model card contact",
}

#: What a field name may look like (policy ``require.model_card`` entries too).
FIELD_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def split_front_matter(text: str | None) -> tuple[dict[str, Any], str, str | None]:
    """``(front matter, Markdown body, problem)`` of a ``MODEL_CARD.md`` text.

    Example:
        >>> split_front_matter("---\\nintended_use: scoring\\n---\\n# Card\\n")
        ({'intended_use': 'scoring'}, '# Card\\n', None)
    """
    if not text:
        return {}, "", None
    match = _FRONT.match(text)
    if not match:
        return {}, text, None
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        return {}, text[match.end():], f"the front matter of MODEL_CARD.md is not YAML: {exc}"
    if not isinstance(data, dict):
        return {}, text[match.end():], "the front matter of MODEL_CARD.md is not a mapping"
    return data, text[match.end():], None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = "\n".join(f"- {v}" for v in value)
    text = str(value).strip()
    return text or None


def card_fields(tags: Mapping[str, str], card_text: str | None) -> tuple[dict[str, dict], str, str | None]:
    """Every card field found: ``{field: {"value", "source"}}``, the body, and a problem if any."""
    front, body, problem = split_front_matter(card_text)
    fields: dict[str, dict] = {}
    for key, value in front.items():
        text = _text(value)
        if text and FIELD_PATTERN.match(str(key)):
            fields[str(key)] = {"value": text, "source": "MODEL_CARD.md"}
    for key, value in tags.items():
        name = key[len(TAG_PREFIX):] if key.startswith(TAG_PREFIX) else None
        text = _text(value)
        if name and text and FIELD_PATTERN.match(name):
            fields[name] = {"value": text, "source": f"tag {key}"}
    return fields, body, problem


def model_card_part(tags: Mapping[str, str], card_text: str | None, required: tuple[str, ...] = ()) -> dict:
    """The ``model_card`` part: ``present`` when every required (or, with none, every usual
    section) is filled, ``partial`` when some are, ``missing`` when none is."""
    fields, body, problem = card_fields(tags, card_text)
    wanted = tuple(required) or ("intended_use", "limitations", "training_data", "evaluation_data",
                                 "ethical_considerations")
    absent = [name for name in wanted if name not in fields]
    shape = {"fields": fields, "required": list(required), "missing_fields": absent,
             "body": body.strip() or None, "has_card_file": card_text is not None, "problem": problem}
    if not fields and not shape["body"]:
        return {"status": "missing", "reason": "no model_card.* tags and no MODEL_CARD.md", **shape}
    if absent:
        return {"status": "partial", "reason": "missing " + ", ".join(absent), **shape}
    return {"status": "present", **shape}
