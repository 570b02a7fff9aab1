"""`mlflow-registry-ext policy ...`: check a policy file and show the rule a model is under."""

from __future__ import annotations

import os

import click

from mlflow_registry_ext.errors import PolicyInvalid

from mlflow_registry_ext.cli._context import MODEL_VERSION, CliContext, pass_cli
from mlflow_registry_ext.policy import (
    POLICY_ENV_VAR,
    Policy,
    Rule,
    load_policy,
    requirements_summary,
)


@click.group()
def policy():
    """Check the policy file and see what a model's rule requires."""


@policy.command("validate")
@click.argument("file")
@pass_cli
def validate(cli: CliContext, file: str):
    """Validate the policy FILE; an invalid file exits 2 with each problem and its line on a line."""
    try:
        loaded = load_policy(file)
    except PolicyInvalid as exc:
        problems = getattr(exc, "problems", None) or [exc.message]
        if len(problems) == 1:
            raise
        click.echo(f"mlflow-registry-ext: {file}: {len(problems)} problems", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        raise click.exceptions.Exit(2) from None
    result = {
        "valid": True,
        "source": loaded.source,
        "digest": loaded.digest,
        "rules": len(loaded.rules),
        "groups": sorted(loaded.groups),
        "protects_anything": loaded.protects_anything,
    }
    cli.emit(result, lambda r: _validate_text(loaded))


def _validate_text(loaded: Policy) -> str:
    head = (
        f"{loaded.source}: valid ({len(loaded.rules)} rule(s), {len(loaded.groups)} group(s))"
    )
    lines = [head]
    for rule in loaded.rules:
        lines.append(f"  {rule.describe()}: {_protects_text(rule)}")
    return "\n".join(lines)


def _protects_text(rule: Rule) -> str:
    parts = []
    if rule.protected_aliases:
        parts.append("aliases " + ", ".join(rule.protected_aliases))
    if rule.protected_stages:
        parts.append("stages " + ", ".join(rule.protected_stages))
    return "protects " + " and ".join(parts) if parts else "protects nothing"


@policy.command("show")
@click.argument("model")
@click.option(
    "--policy",
    "policy_file",
    envvar=POLICY_ENV_VAR,
    help=f"The policy file (env {POLICY_ENV_VAR}); without one nothing is protected.",
)
@click.option("--alias", help="Show only what setting this alias requires.")
@click.option("--stage", help="Show only what transitioning to this stage requires.")
@click.option(
    "--version",
    "version",
    type=MODEL_VERSION,
    help="Dry run for this version: what is still missing to promote it now (needs the registry).",
)
@pass_cli
def show(
    cli: CliContext,
    model: str,
    policy_file: str | None,
    alias: str | None,
    stage: str | None,
    version: str | None,
):
    """Show the rule that applies to MODEL and what changing its protected targets requires."""
    if alias and stage:
        raise click.UsageError("give --alias or --stage, not both")
    if version and policy_file:
        # The registry store reads the policy from the environment once; make it read this one.
        os.environ[POLICY_ENV_VAR] = policy_file
    loaded = load_policy(policy_file) if policy_file else Policy()
    rule = loaded.rule_for(model)
    if alias:
        targets = [("alias", alias)]
    elif stage:
        targets = [("stage", stage)]
    elif rule is not None:
        targets = [("alias", a) for a in rule.protected_aliases]
        targets += [("stage", s) for s in rule.protected_stages]
    else:
        targets = []
    summaries = []
    for kind, target in targets:
        actions = ("promote", "rollback", "delete_alias") if kind == "alias" else ("promote",)
        summaries.extend(requirements_summary(rule, target, kind=kind, action=a) for a in actions)
    result = {
        "model": model,
        "policy": loaded.source if policy_file else None,
        "policy_digest": loaded.digest or None,
        "rule": rule.to_dict() if rule else None,
        "requirements": [s.to_dict() for s in summaries],
    }
    checks = []
    if version:
        client = cli.client()
        checks = [client.check_promotion(model, version, **{kind: target}) for kind, target in targets]
        result["version"] = version
        result["checks"] = [c.to_dict() for c in checks]

    def human(_result) -> str:
        text = _show_text(model, loaded, policy_file, rule, summaries)
        return text + ("\n" + _checks_text(version, checks) if version else "")

    cli.emit(result, human)


def _checks_text(version: str, checks: list) -> str:
    if not checks:
        return f"Version {version}: nothing is protected, so nothing is missing"
    lines = [f"Version {version} now:"]
    for check in checks:
        what = f"alias {check.target!r}" if check.target_kind == "alias" else f"stage {check.target!r}"
        if check.allowed:
            via = f" (request {check.request_id})" if check.request_id else ""
            lines.append(f"  {what}: allowed{via}")
        else:
            lines.append(f"  {what}: refused: {check.message}")
    return "\n".join(lines)


def _show_text(model: str, loaded: Policy, policy_file: str | None, rule: Rule | None, summaries: list) -> str:
    if not policy_file:
        return f"{model}: no policy file ({POLICY_ENV_VAR} is unset): nothing is protected"
    if rule is None:
        return f"{model}: no rule in {loaded.source} matches: nothing is protected"
    lines = [
        f"{model}: {rule.describe()} in {loaded.source} line {rule.line}",
        f"{_protects_text(rule)}",
    ]
    verbs = {
        ("alias", "promote"): "To set alias {t}",
        ("alias", "rollback"): "To roll alias {t} back to its previous version",
        ("alias", "delete_alias"): "To delete alias {t}",
        ("stage", "promote"): "To transition a version to stage {t}",
    }
    # Every alias of a rule needs the same, so targets with identical requirements share a block.
    blocks: dict[tuple, list] = {}
    unprotected = dict.fromkeys((s.target_kind, s.target) for s in summaries if not s.protected)
    for kind, target in unprotected:
        lines.append(f"{kind.capitalize()} {target!r} is not protected: changing it needs nothing")
    for summary in (s for s in summaries if s.protected):
        key = (summary.target_kind, summary.action, summary.items, summary.protected)
        blocks.setdefault(key, []).append(summary)
    for same in blocks.values():
        targets = " or ".join(repr(s.target) for s in same)
        lines.append(verbs[same[0].target_kind, same[0].action].format(t=targets) + ":")
        lines.append(same[0].text())
    lines += _other_lines(rule)
    return "\n".join(lines)


def _other_lines(rule: Rule) -> list[str]:
    lines: list[str] = []
    if rule.protected_aliases:
        lines.append("Deleting a version a protected alias points to: refused until the alias is moved or removed")
    if rule.protects_anything:
        rename = (
            "denied (admin override only)"
            if rule.on_rename == "deny"
            else f"allowed to names under the same rule (match {rule.match!r})"
        )
        lines.append(f"Renaming the model while it carries protected aliases or stages: {rename}")
    override = rule.admin_override
    who = ", ".join(sorted(override.allowed)) if override.allowed else "nobody"
    lines.append(f"Admin override (with a mandatory reason): {who}")
    return lines
