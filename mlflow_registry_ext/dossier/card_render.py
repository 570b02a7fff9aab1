"""Render a model card from a dossier as Markdown or HTML. Pure.

The sections follow Mitchell et al., "Model Cards for Model Reporting" (2019): model details,
intended use, factors, metrics, evaluation data, training data, quantitative analyses, ethical
considerations, caveats and recommendations; and the Hugging Face model card template: uses
(direct and out-of-scope), bias, risks and limitations, technical specifications, contact.
A section nobody wrote says "Not documented" rather than guessing.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["card_sections", "render_card", "SECTIONS"]

NOT_DOCUMENTED = "Not documented."

#: Section titles, in order.
SECTIONS = (
    "Model details", "Intended use", "Factors", "Metrics", "Training data", "Evaluation data",
    "Quantitative analyses", "Bias, risks and limitations", "Ethical considerations",
    "Caveats and recommendations", "Technical specifications", "Model card contact",
)

_EVAL_CONTEXTS = ("eval", "evaluation", "validation", "test", "testing", "holdout")


def _field(d: dict, name: str) -> str | None:
    found = d["model_card"]["fields"].get(name)
    return found["value"] if found else None


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _datasets(d: dict, evaluation: bool) -> list:
    rows = []
    for ds in d["datasets"]["items"]:
        is_eval = (ds.get("context") or "").lower() in _EVAL_CONTEXTS
        if is_eval == evaluation:
            rows.append([ds["name"], ds["digest"], ds.get("context") or "-",
                         (ds.get("profile") or {}).get("num_rows", "-") if isinstance(ds.get("profile"), dict) else "-"])
    return [("table", ["Dataset", "Digest", "Context", "Rows"], rows)] if rows else []


def card_sections(d: dict) -> list[tuple[str, list]]:
    """``[(title, blocks)]``; a block is ``("p", text)`` or ``("table", headers, rows)``."""
    mv, run = d["model_version"], d["lineage"].get("run") or {}
    code, env = d["code"], d["environment"]
    details = [("p", _field(d, "description") or mv.get("description") or NOT_DOCUMENTED),
               ("table", ["Fact", "Value"], [
                   ["Model", f"{d['model']} version {d['version']}"],
                   ["Developed by", _field(d, "developed_by") or mv.get("creator") or "-"],
                   ["Model type", _field(d, "model_type") or ", ".join(env.get("flavors") or {}) or "-"],
                   ["License", _field(d, "license") or "-"],
                   ["Registered", mv.get("created_at") or "-"],
                   ["Source run", run.get("run_id") or "-"],
                   ["Code version", code.get("git_commit") or "-"],
                   ["Artifact digest", d["artifacts"].get("digest") or "-"],
               ])]
    uses = [("p", _field(d, "intended_use") or NOT_DOCUMENTED)]
    if _field(d, "out_of_scope_use"):
        uses.append(("p", "Out of scope: " + _field(d, "out_of_scope_use")))
    metrics = d["metrics"]["items"]
    metric_blocks = [("table", ["Metric", "Value", "Dataset"],
                      [[m["name"], _num(m["value"]), m.get("dataset_name") or "-"] for m in metrics])] \
        if metrics else [("p", NOT_DOCUMENTED)]
    quantitative: list = []
    comparison = d["comparison"]
    if comparison["status"] == "present":
        quantitative.append(("p", f"Against @{comparison['alias']} (version {comparison['current_version']}):"))
        quantitative.append(("table", ["Metric", "Candidate", "Current", "Delta", "Verdict"],
                             [[r["metric"], _num(r["value"]), _num(r["current_value"]), _num(r["delta"]),
                               r["verdict"] or "-"] for r in comparison["rows"]]))
    if d["fairness"]["status"] == "present":
        quantitative.append(("table", ["Fairness metric", "Feature", "Value", "Passed"],
                             [[c["metric"], c["sensitive_feature"], _num(c["value"]),
                               "-" if c.get("passed") is None else ("yes" if c["passed"] else "no")]
                              for c in d["fairness"]["checks"]]))
    technical = []
    if env["status"] == "present":
        technical.append(("p", f"Python {env.get('python_version') or '-'}; MLflow {env.get('mlflow_version') or '-'}; "
                               f"flavors: {', '.join(env['flavors']) or '-'}"))
        if env["requirements"]:
            technical.append(("p", "Requirements: " + ", ".join(env["requirements"])))
    if d["signature"]["status"] == "present":
        inputs = d["signature"]["inputs"]
        count = len(inputs) if isinstance(inputs, list) else "?"
        technical.append(("p", f"Signature: {count} inputs."))
    training = [("p", _field(d, "training_data") or NOT_DOCUMENTED), *_datasets(d, False)]
    evaluation = [("p", _field(d, "evaluation_data") or NOT_DOCUMENTED), *_datasets(d, True)]
    texts = {
        "Factors": _field(d, "factors"), "Bias, risks and limitations": _field(d, "limitations"),
        "Ethical considerations": _field(d, "ethical_considerations"),
        "Caveats and recommendations": _field(d, "caveats_and_recommendations"),
        "Model card contact": _field(d, "contact"),
    }
    blocks = {
        "Model details": details, "Intended use": uses, "Metrics": metric_blocks, "Training data": training,
        "Evaluation data": evaluation, "Quantitative analyses": quantitative or [("p", NOT_DOCUMENTED)],
        "Technical specifications": technical or [("p", NOT_DOCUMENTED)],
    }
    return [(title, blocks.get(title) or [("p", texts.get(title) or NOT_DOCUMENTED)]) for title in SECTIONS]


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown(d: dict, sections) -> str:
    out = [f"# Model card: {d['model']} version {d['version']}", ""]
    for title, blocks in sections:
        out += [f"## {title}", ""]
        for block in blocks:
            if block[0] == "p":
                out += [block[1], ""]
            else:
                _, headers, rows = block
                out.append("| " + " | ".join(headers) + " |")
                out.append("|" + "---|" * len(headers))
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
                out.append("")
    body = d["model_card"].get("body")
    if body:
        out += ["## Notes from MODEL_CARD.md", "", body, ""]
    out.append(f"_Generated from the dossier at {d['generated_at']}; missing parts: "
               f"{', '.join(d['missing']) or 'none'}._")
    return "\n".join(out) + "\n"


def _html(d: dict, sections) -> str:
    e = html.escape
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Model card: {e(d['model'])} version {e(d['version'])}</title>",
           "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}"
           ".nd{color:#777;font-style:italic}</style></head><body>",
           f"<h1>Model card: {e(d['model'])} version {e(d['version'])}</h1>"]
    for title, blocks in sections:
        out.append(f"<section><h2>{e(title)}</h2>")
        for block in blocks:
            if block[0] == "p":
                cls = ' class="nd"' if block[1] == NOT_DOCUMENTED else ""
                out.append(f"<p{cls}>" + e(block[1]).replace("\n", "<br>") + "</p>")
            else:
                _, headers, rows = block
                out.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr></thead><tbody>")
                out += ["<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows]
                out.append("</tbody></table>")
        out.append("</section>")
    body = d["model_card"].get("body")
    if body:
        out.append(f"<section><h2>Notes from MODEL_CARD.md</h2><pre>{e(body)}</pre></section>")
    out.append(f"<footer><p>Generated from the dossier at {e(d['generated_at'])}; missing parts: "
               f"{e(', '.join(d['missing']) or 'none')}.</p></footer></body></html>")
    return "\n".join(out) + "\n"


def render_card(dossier: dict, fmt: str = "md") -> str:
    """The card as Markdown (``md``) or a standalone HTML page (``html``); every value escaped."""
    if fmt not in ("md", "html"):
        from mlflow_registry_ext.errors import InvalidInput

        raise InvalidInput(f"format must be md or html, got {fmt!r}")
    sections = card_sections(dossier)
    return _markdown(dossier, sections) if fmt == "md" else _html(dossier, sections)
