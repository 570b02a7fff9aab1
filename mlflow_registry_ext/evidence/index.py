"""Which regulation each part of an evidence bundle serves. Pure.

EU AI Act (Regulation (EU) 2024/1689): Art. 12 record-keeping (automatic event logs), Art. 11 and
Annex IV technical documentation (section 1: general description and versions; 2: development,
data provenance (2(d)), validation and testing (2(g)), cybersecurity (2(h)); 3: monitoring and
human oversight (Art. 14); 6: changes over the lifecycle). SR 11-7 (Federal Reserve / OCC
model risk management guidance): model inventory, development and documentation, validation,
governance and change control. NIST AI RMF 1.0: GOVERN, MAP, MEASURE (2.7 security, 2.11
fairness), MANAGE.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Part", "PARTS", "part"]


@dataclasses.dataclass(frozen=True)
class Part:
    """One kind of evidence: its file in the bundle, and what each framework calls it."""

    name: str
    path: str
    description: str
    eu_ai_act: str
    sr_11_7: str
    nist_ai_rmf: str


PARTS: tuple[Part, ...] = (
    Part("dossier", "dossier.json", "the version dossier: identity, lineage, metrics, champion comparison",
         "Annex IV 1(a)-(c), 2(g), 6 (versions and relation to earlier ones, validation metrics)",
         "model inventory; validation evidence", "MAP 1, MEASURE 2.3"),
    Part("model_card", "model_card.md", "the rendered model card",
         "Annex IV 1, 2(b) (general description, design choices); Art. 13 instructions for use",
         "model development and documentation", "MAP 1.1, GOVERN 1.4"),
    Part("fairness", "fairness/records.json", "recorded fairness checks with per-group values and thresholds",
         "Annex IV 2(g) (testing metrics incl. discriminatory impacts); Art. 10(2)(f) bias examination",
         "outcomes analysis (validation)", "MEASURE 2.11"),
    Part("fairness_charts", "fairness/charts/", "per-group charts of the fairness checks",
         "Annex IV 2(g)", "outcomes analysis (validation)", "MEASURE 2.11"),
    Part("scan", "security/scan.json", "the newest security scan of the version's artifacts",
         "Annex IV 2(h) (cybersecurity measures); Art. 15(5) resilience against manipulation",
         "model risk controls", "MEASURE 2.7"),
    Part("bom", "security/bom.cdx.json", "CycloneDX 1.6 BOM: model, datasets, declared packages",
         "Annex IV 2(a), 2(d) (methods, third-party tools, data provenance)",
         "model development and documentation (data and dependencies)", "MAP 4.1, GOVERN 6.1"),
    Part("artifact_manifest", "artifacts/manifest.json", "every artifact file with size and SHA-256, and the digest",
         "Annex IV 1(c), 6 (the exact version and its changes)", "change control; model inventory",
         "MANAGE 4.1"),
    Part("artifact_signature", "artifacts/model.sig", "OpenSSF Model Signing signature of the artifacts",
         "Annex IV 6; Art. 15(5)", "change control", "MANAGE 4.1"),
    Part("approvals", "approvals/", "every approval request and decision, with its audit entries",
         "Art. 14 and Annex IV 2(e), 3 (human oversight measures)", "governance: approval and change control",
         "GOVERN 2.1, MANAGE 1.1"),
    Part("audit", "audit/entries.jsonl", "every audit entry about the version, hash-chained",
         "Art. 12 (automatic recording of events), Art. 19 (retention of logs)",
         "change control; audit trail", "GOVERN 1.6, MANAGE 4.3"),
    Part("inclusion_proofs", "audit/proofs.json", "an inclusion proof of each entry against the checkpoint",
         "Art. 12", "audit trail integrity", "GOVERN 1.6"),
    Part("checkpoint", "audit/checkpoint.txt", "the signed audit log checkpoint (C2SP signed note)",
         "Art. 12", "audit trail integrity", "GOVERN 1.6"),
    Part("public_key", "keys/signing.pub.pem", "the ECDSA P-256 public key the bundle is signed with",
         "Art. 12 (integrity of records)", "audit trail integrity", "GOVERN 1.6"),
)

_BY_NAME = {p.name: p for p in PARTS}


def part(name: str) -> Part:
    return _BY_NAME[name]
