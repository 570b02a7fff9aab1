"""The chain encoding detects every kind of tampering. Pure: no database."""

from __future__ import annotations

from mlflow_registry_ext.audit.chain import GENESIS_HASH, canonical_json, encode_entry, verify_rows


def _chain(n: int) -> list[tuple]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        fields = dict(
            seq=seq,
            prev_hash=prev,
            timestamp_ms=1_700_000_000_000 + seq,
            action="model_version_alias.created",
            actor="alice" if seq % 2 else "bøb \"quoted\"",
            model="fraud-model",
            version=str(seq),
            alias="production",
            before={"version": str(seq - 1)},
            after={"version": str(seq)},
            details={},
            entry_id=f"e{seq}",
        )
        body, digest = encode_entry(**fields)
        rows.append((seq, fields["timestamp_ms"], fields["action"], fields["actor"],
                     fields["model"], fields["version"], fields["alias"], body, digest))
        prev = digest
    return rows


def test_an_untouched_chain_verifies():
    result = verify_rows(_chain(50))
    assert result.ok and result.checked == 50 and result.head_seq == 50


def test_edited_body_is_found():
    rows = _chain(10)
    seq, ts, action, actor, model, version, alias, body, digest = rows[4]
    rows[4] = (seq, ts, action, actor, model, version, alias, body.replace('"5"}', '"6"}'), digest)
    result = verify_rows(rows)
    assert not result.ok and result.first_bad_seq == 5
    assert "modified" in result.reason


def test_edited_indexed_column_is_found():
    rows = _chain(10)
    row = list(rows[6])
    row[3] = "mallory"
    rows[6] = tuple(row)
    result = verify_rows(rows)
    assert not result.ok and result.first_bad_seq == 7
    assert "columns were edited" in result.reason


def test_deleted_entry_is_found():
    rows = _chain(10)
    del rows[3]
    result = verify_rows(rows)
    assert not result.ok and result.first_bad_seq == 4 and "missing" in result.reason


def test_inserted_entry_is_found():
    # A forged entry 4 that links correctly to entry 3, later entries renumbered to make room:
    # the entry after the forgery no longer links.
    rows = _chain(10)
    body, digest = encode_entry(
        seq=4, prev_hash=rows[2][8], timestamp_ms=1, action="forged", actor="mallory",
        model="fraud-model", version="9", alias=None, before={}, after={}, details={},
        entry_id="forged",
    )
    forged = (4, 1, "forged", "mallory", "fraud-model", "9", None, body, digest)
    shifted = [(r[0] + 1, *r[1:]) for r in rows[3:]]
    result = verify_rows(rows[:3] + [forged] + shifted)
    assert not result.ok and result.first_bad_seq == 5
    assert "does not link" in result.reason


def test_reordered_entries_are_found():
    rows = _chain(10)
    rows[2], rows[3] = rows[3], rows[2]
    result = verify_rows(rows)
    assert not result.ok and result.first_bad_seq == 3


def test_recomputed_hash_without_relinking_is_found():
    # Rewriting one entry and its hash still breaks the next entry's link.
    rows = _chain(10)
    seq, ts, action, actor, model, version, alias, body, _ = rows[4]
    import hashlib

    forged = body.replace('"5"}', '"6"}')
    rows[4] = (seq, ts, action, actor, model, version, alias, forged,
               hashlib.sha256(forged.encode()).hexdigest())
    result = verify_rows(rows)
    assert not result.ok and result.first_bad_seq == 6


def test_canonical_json_is_stable():
    assert canonical_json({"b": 1, "a": [1, {"d": None, "c": "é"}]}) == (
        '{"a":[1,{"c":"\\u00e9","d":null}],"b":1}'
    )
