"""The database routine that chains one audit entry in one call (PostgreSQL, MySQL/MariaDB).

An audit entry rides on every registry write. Sent as one statement from the client, chaining it
costs the database a parse and a plan on every write, more than running it; a routine stored in
the database is planned once per connection. ``gov_audit_append`` locks the head row, builds the
entry's body from the locked head and the rest of the body (encoded by the caller with
:func:`~mlflow_registry_ext.audit.chain.encode_entry_suffix`), hashes it, inserts it, moves the
head and returns ``(seq, hash, previous hash, active webhook count)``; nothing when the head row
is missing. The caller recomputes the hash and refuses a mismatch.

Migration ``0010_audit_append`` creates the routine; :mod:`mlflow_registry_ext.audit.chain_sql`
uses it only where its stored definition is exactly :data:`POSTGRESQL_BODY` /
:data:`MYSQL_BODY`, and sends the equivalent statements itself otherwise.
"""

from __future__ import annotations

__all__ = ["NAME", "POSTGRESQL_BODY", "MYSQL_BODY", "create_statements", "drop_statements",
           "definition_query"]

NAME = "gov_audit_append"

_PARAMS = ("suffix", "p_entry_id", "p_ts", "p_actor", "p_action", "p_model", "p_version", "p_alias",
           "p_workspace")

POSTGRESQL_BODY = """
DECLARE body text;
BEGIN
  SELECT seq, hash INTO o_seq, o_prev FROM gov_audit_head WHERE id = 1 FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  o_seq := o_seq + 1;
  body := '{"prev_hash":"' || o_prev || '","seq":' || o_seq::text || suffix;
  o_hash := encode(sha256(convert_to(body, 'UTF8')), 'hex');
  INSERT INTO gov_audit_log (seq, entry_id, timestamp_ms, actor, action, model, version, alias,
                             body, hash, workspace)
    VALUES (o_seq, p_entry_id, p_ts, p_actor, p_action, p_model, p_version, p_alias, body, o_hash,
            p_workspace);
  UPDATE gov_audit_head SET seq = o_seq, hash = o_hash WHERE id = 1;
  SELECT COUNT(*) INTO o_active FROM gov_webhooks WHERE status = 'active';
END
"""

MYSQL_BODY = """BEGIN
  DECLARE o_seq BIGINT DEFAULT NULL;
  DECLARE o_prev VARCHAR(64) DEFAULT NULL;
  DECLARE o_hash VARCHAR(64);
  DECLARE body LONGTEXT;
  SELECT seq, hash INTO o_seq, o_prev FROM gov_audit_head WHERE id = 1 FOR UPDATE;
  IF o_seq IS NOT NULL THEN
    SET o_seq = o_seq + 1;
    SET body = CONCAT('{"prev_hash":"', o_prev, '","seq":', o_seq, suffix);
    SET o_hash = SHA2(body, 256);
    INSERT INTO gov_audit_log (seq, entry_id, timestamp_ms, actor, action, model, version, alias,
                               body, hash, workspace)
      VALUES (o_seq, p_entry_id, p_ts, p_actor, p_action, p_model, p_version, p_alias, body,
              o_hash, p_workspace);
    UPDATE gov_audit_head SET seq = o_seq, hash = o_hash WHERE id = 1;
    SELECT o_seq, o_hash, o_prev, (SELECT COUNT(*) FROM gov_webhooks WHERE status = 'active');
  ELSE
    SELECT NULL, NULL, NULL, NULL FROM DUAL WHERE FALSE;
  END IF;
END"""


def create_statements(dialect: str) -> list[str]:
    """The DDL that creates the routine on ``dialect`` (``postgresql``, ``mysql``); none elsewhere."""
    if dialect == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {NAME}(suffix text, p_entry_id text, p_ts bigint, "
            "p_actor text, p_action text, p_model text, p_version text, p_alias text, "
            "p_workspace text, OUT o_seq bigint, OUT o_hash text, OUT o_prev text, "
            f"OUT o_active bigint) LANGUAGE plpgsql AS $gov${POSTGRESQL_BODY}$gov$"
        ]
    if dialect == "mysql":
        return [
            f"DROP PROCEDURE IF EXISTS {NAME}",
            f"CREATE PROCEDURE {NAME}(IN suffix LONGTEXT, IN p_entry_id VARCHAR(36), "
            "IN p_ts BIGINT, IN p_actor VARCHAR(256), IN p_action VARCHAR(128), "
            "IN p_model VARCHAR(256), IN p_version VARCHAR(32), IN p_alias VARCHAR(256), "
            f"IN p_workspace VARCHAR(63)) MODIFIES SQL DATA {MYSQL_BODY}",
        ]
    return []


def drop_statements(dialect: str) -> list[str]:
    """The DDL that drops the routine."""
    if dialect == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {NAME}(text, text, bigint, text, text, text, text, text, text)"]
    if dialect == "mysql":
        return [f"DROP PROCEDURE IF EXISTS {NAME}"]
    return []


def definition_query(dialect: str) -> str | None:
    """A query returning the stored body of the routine in the connection's schema (no row when
    it is missing)."""
    if dialect == "postgresql":
        return (
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            f"WHERE p.proname = '{NAME}' AND n.nspname = current_schema()"
        )
    if dialect == "mysql":
        return (
            "SELECT ROUTINE_DEFINITION FROM information_schema.ROUTINES "
            f"WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME = '{NAME}' "
            "AND ROUTINE_TYPE = 'PROCEDURE'"
        )
    return None


def expected_body(dialect: str) -> str | None:
    """The body :func:`definition_query` returns for the routine this package created."""
    return {"postgresql": POSTGRESQL_BODY, "mysql": MYSQL_BODY}.get(dialect)
