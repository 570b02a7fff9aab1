"""The audit log's hash chain: canonical encoding, hashing and verification. Pure.

An entry is stored as one canonical JSON text, its *body*, and ``hash = SHA-256(body)``. The body
starts with a fixed header, then the remaining keys in sorted order, all ASCII, no whitespace::

    {"prev_hash":"<64 hex>","seq":7,"timestamp_ms":1700000000000,"action":"...","actor":"...",
     "model":"...","version":"3","alias":null,"after":{...},"before":{...},"client_addr":null,
     "details":{...},"entry_id":"...","request_id":null,"workspace":"default"}

``workspace`` is the MLflow workspace the entry belongs to; entries written before workspaces
existed have none and belong to ``default``.

Because the body names the previous entry's hash, editing, deleting, inserting or reordering any
entry breaks the chain from that point on. The fixed header lets :func:`verify_rows` check both
the link and the indexed columns a query filters on (``seq``, time, action, actor, model, version,
alias) with one string comparison per entry, so a chain of a million entries checks in seconds.

A chain is only as trustworthy as the last head hash someone kept elsewhere (``audit export``
prints it): whoever can rewrite the whole table can recompute every hash.

Example:
    >>> body, digest = encode_entry(seq=1, prev_hash=GENESIS_HASH, timestamp_ms=0,
    ...     action="registered_model.created", actor="alice", model="m", version=None,
    ...     alias=None, before={}, after={"name": "m"}, details={}, entry_id="e1")
    >>> verify_rows([(1, 0, "registered_model.created", "alice", "m", None, None, body, digest)]).ok
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from json.encoder import encode_basestring_ascii as _q
from typing import Any, Iterable

__all__ = [
    "GENESIS_HASH",
    "VERIFY_COLUMNS",
    "VerifyResult",
    "canonical_json",
    "encode_entry",
    "encode_entry_suffix",
    "link_prefix",
    "decode_body",
    "verify_rows",
]

GENESIS_HASH = "0" * 64

#: The columns :func:`verify_rows` expects, in this order, ascending by ``seq``.
VERIFY_COLUMNS = ("seq", "timestamp_ms", "action", "actor", "model", "version", "alias", "body", "hash")

_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), sort_keys=True).encode
_sha256 = hashlib.sha256


def canonical_json(value: Any) -> str:
    """The one JSON text for ``value``: sorted keys, no whitespace, ASCII."""
    return _dumps(value)


def _opt(value: str | None) -> str:
    return "null" if value is None else _q(value)


def _header(prev_hash, seq, timestamp_ms, action, actor, model, version, alias) -> str:
    return (
        f'{{"prev_hash":"{prev_hash}","seq":{seq},"timestamp_ms":{timestamp_ms},'
        f'"action":{_q(action)},"actor":{_q(actor)},"model":{_opt(model)},'
        f'"version":{_opt(version)},"alias":{_opt(alias)},'
    )


def encode_entry(*, seq: int, prev_hash: str, **fields: Any) -> tuple[str, str]:
    """Encode one entry at ``seq`` after ``prev_hash``; returns ``(body, hash)``. ``fields`` are
    those of :func:`encode_entry_suffix`."""
    body = link_prefix(prev_hash, seq) + encode_entry_suffix(**fields)
    return body, _sha256(body.encode()).hexdigest()


def link_prefix(prev_hash: str, seq: int) -> str:
    """The start of a body: the link to the previous entry and the position, the only parts of
    an entry that depend on where it lands in the chain."""
    return f'{{"prev_hash":"{prev_hash}","seq":{seq}'


def encode_entry_suffix(
    *,
    timestamp_ms: int,
    action: str,
    actor: str,
    model: str | None,
    version: str | None,
    alias: str | None,
    before: dict,
    after: dict,
    details: dict,
    entry_id: str,
    request_id: str | None = None,
    client_addr: str | None = None,
    actor_source: str | None = None,
    workspace: str | None = None,
) -> str:
    """The rest of a body after :func:`link_prefix`: ``body = link_prefix(...) + suffix``.

    It does not depend on the entry's position, so it can be encoded before the chain head is
    read (or by the database, which joins it to the head it locks).

    ``actor_source`` (how the actor was established) is part of the hashed body when given;
    left out when ``None``, so entries written before it existed keep their hashes. ``workspace``
    is part of the hashed body too, so moving an entry to another workspace's view breaks the
    chain; ``None`` leaves it out (the encoding of entries older than workspaces).
    """
    fields = {
        "after": after,
        "before": before,
        "client_addr": client_addr,
        "details": details,
        "entry_id": entry_id,
        "request_id": request_id,
    }
    if actor_source is not None:
        fields["actor_source"] = actor_source
    if workspace is not None:
        fields["workspace"] = workspace
    return (
        f',"timestamp_ms":{timestamp_ms},"action":{_q(action)},"actor":{_q(actor)},'
        f'"model":{_opt(model)},"version":{_opt(version)},"alias":{_opt(alias)},'
        + _dumps(fields)[1:]
    )


def decode_body(body: str) -> dict[str, Any]:
    """The fields of an entry from its body."""
    return json.loads(body)


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking a chain.

    Attributes:
        ok: True when every entry checked out.
        checked: How many entries were read.
        first_bad_seq: The sequence number of the first entry that does not fit, if any.
        reason: Why it does not fit.
        head_seq: The sequence number of the last good entry (0 for none).
        head_hash: The hash of the last good entry.
        kind: What was done to the first bad entry: ``edited``, ``deleted``, ``inserted``,
            ``reordered``, ``truncated``, ``rewritten`` or ``forked`` (None when intact).
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def verify_rows(
    rows: Iterable[tuple], start_seq: int = 1, prev_hash: str = GENESIS_HASH
) -> VerifyResult:
    """Check rows shaped like :data:`VERIFY_COLUMNS`, ascending by ``seq``.

    Args:
        rows: Tuples ``(seq, timestamp_ms, action, actor, model, version, alias, body, hash)``.
        start_seq: The sequence number the first row must carry.
        prev_hash: The hash the first row must link to.

    Returns:
        A :class:`VerifyResult` naming the first entry that does not fit.
    """
    expected = start_seq
    checked = 0
    sha = _sha256
    for seq, timestamp_ms, action, actor, model, version, alias, body, digest in rows:
        checked += 1
        if seq != expected:
            if seq > expected:
                reason = f"entries {expected}..{seq - 1} are missing"
                return VerifyResult(False, checked, expected, reason, expected - 1, prev_hash, "deleted")
            reason = f"entry {seq} is duplicated or out of order"
            return VerifyResult(False, checked, seq, reason, expected - 1, prev_hash, "reordered")
        if not body.startswith(
            _header(prev_hash, seq, timestamp_ms, action, actor, model, version, alias)
        ):
            if not body.startswith(f'{{"prev_hash":"{prev_hash}","seq":{seq},'):
                # An entry written for another position was moved here; one written for this
                # position but chained to something else was inserted.
                kind = "inserted" if f',"seq":{seq},' in body[:100] else "reordered"
                reason = f"entry {seq} does not link to entry {seq - 1} ({kind})"
            else:
                kind, reason = "edited", f"entry {seq}: its indexed columns were edited"
            return VerifyResult(False, checked, seq, reason, expected - 1, prev_hash, kind)
        if sha(body.encode()).hexdigest() != digest:
            reason = f"entry {seq} was modified after it was written"
            return VerifyResult(False, checked, seq, reason, expected - 1, prev_hash, "edited")
        prev_hash = digest
        expected += 1
    return VerifyResult(True, checked, None, None, expected - 1, prev_hash)
