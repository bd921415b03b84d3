"""The store's schema and its migrations.

``PRAGMA user_version`` holds ``major << 16 | minor``: a newer *minor* only adds things an
older heatrack can ignore; a newer *major* is refused (qutebrowser's UserVersion idea).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

MAJOR = 1
MINOR = 1

SCHEMA_1_0 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE devices (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, protocol TEXT NOT NULL, address TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '', first_seen REAL, last_seen REAL);

CREATE TABLE series (
    id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, channel TEXT NOT NULL,
    quantity TEXT NOT NULL, unit TEXT NOT NULL,
    last_ts INTEGER, last_value,                      -- latest sample (ms), kept by the writer
    UNIQUE (device_id, channel, quantity));

-- ts: UTC epoch milliseconds. value: REAL, TEXT for states, NULL for "no reading".
CREATE TABLE samples (
    series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value,
    PRIMARY KEY (series_id, ts)) WITHOUT ROWID;

-- ts: bucket start, UTC epoch seconds. Numeric samples only.
CREATE TABLE rollup_1m (
    series_id INTEGER NOT NULL, ts INTEGER NOT NULL,
    n INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
    PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
CREATE TABLE rollup_1h (
    series_id INTEGER NOT NULL, ts INTEGER NOT NULL,
    n INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
    PRIMARY KEY (series_id, ts)) WITHOUT ROWID;

CREATE TABLE events (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'alarm', 'critical')),
    device_id TEXT, kind TEXT NOT NULL, message TEXT NOT NULL,
    acked_by TEXT, acked_at REAL);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_unacked ON events (acked_at) WHERE acked_at IS NULL;

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('commissioning', 'pilot', 'test')),
    name TEXT NOT NULL, site TEXT NOT NULL DEFAULT '', operator TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL, ended REAL,
    status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'pass', 'fail', 'aborted')),
    notes TEXT NOT NULL DEFAULT '');
CREATE TABLE steps (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs (id), seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'pass', 'fail', 'skipped', 'aborted')),
    started REAL NOT NULL, ended REAL, notes TEXT NOT NULL DEFAULT '',
    UNIQUE (run_id, seq));
CREATE TABLE evidence (
    id INTEGER PRIMARY KEY, step_id INTEGER NOT NULL REFERENCES steps (id), ts REAL NOT NULL,
    kind TEXT NOT NULL, data TEXT NOT NULL);          -- data: JSON
CREATE INDEX evidence_step ON evidence (step_id);

-- Every write to equipment. Append-only: the triggers refuse changes.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, before TEXT, after TEXT, result TEXT NOT NULL);
CREATE TRIGGER audit_append_only_u BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


def encode(major: int, minor: int) -> int:
    return (major << 16) | minor


def decode(user_version: int) -> tuple[int, int]:
    return user_version >> 16, user_version & 0xFFFF


# --------------------------------------------------------------- 1.1: the audit hash chain
# Each audit entry carries prev_hash (the hash of the entry before it; AUDIT_GENESIS for the
# first) and hash = sha256 over audit_payload(): a changed, removed or inserted entry breaks the
# chain. Ids are given by the writer (last id + 1), so the triggers can refuse any insert that is
# not appended at the end with the right link: INSERT OR REPLACE / REPLACE INTO an existing id
# (which would bypass the delete trigger: SQLite fires it for REPLACE only with recursive
# triggers on) is refused, and so is an insert that does not carry the chain.
AUDIT_GENESIS = "0" * 64
AUDIT_COLUMNS = ("id", "ts", "actor", "action", "target", "before", "after", "result")

AUDIT_TRIGGERS = {
    "audit_append_only_u": """CREATE TRIGGER audit_append_only_u BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    "audit_append_only_d": """CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    "audit_no_replace": """CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
    WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only: an entry with this id exists'); END""",
    "audit_chained": f"""CREATE TRIGGER audit_chained BEFORE INSERT ON audit
    WHEN NEW.id IS NULL OR NEW.id <= coalesce((SELECT max(id) FROM audit), 0)
      OR NEW.hash IS NULL OR length(NEW.hash) != 64
      OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM audit ORDER BY id DESC LIMIT 1), '{AUDIT_GENESIS}')
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only: entries are appended by heatrack, hash-chained'); END""",
}


def audit_payload(row: Sequence[Any], prev_hash: str) -> bytes:
    """The canonical encoding hashed for one entry: a compact JSON array of AUDIT_COLUMNS'
    values (as SQLite returns them: ts a float, the rest text or null) and the previous hash."""
    return json.dumps([*row, prev_hash], ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def audit_hash(row: Sequence[Any], prev_hash: str) -> str:
    return hashlib.sha256(audit_payload(row, prev_hash)).hexdigest()


def _audit_chain_1_1(conn: sqlite3.Connection) -> None:
    """Add the chain columns and triggers, and chain the entries already there (the update
    trigger is lifted for that, inside the migration's transaction)."""
    conn.execute("ALTER TABLE audit ADD COLUMN prev_hash TEXT")
    conn.execute("ALTER TABLE audit ADD COLUMN hash TEXT")
    conn.execute("DROP TRIGGER audit_append_only_u")
    prev = AUDIT_GENESIS
    last_id = 0
    cols = ", ".join(AUDIT_COLUMNS)
    for row in conn.execute(f"SELECT {cols} FROM audit ORDER BY id").fetchall():
        h = audit_hash(row, prev)
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, h, row[0]))
        prev, last_id = h, row[0]
    for sql in AUDIT_TRIGGERS.values():
        if not sql.startswith("CREATE TRIGGER audit_append_only_d"):  # that one is unchanged
            conn.execute(sql)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)", (f"{last_id} {prev}",))


Migration = str | Callable[[sqlite3.Connection], None]

# (from_version, to_version, SQL script or function). Append new ones; never edit old ones.
MIGRATIONS: list[tuple[tuple[int, int], tuple[int, int], Migration]] = [
    ((0, 0), (1, 0), SCHEMA_1_0),
    ((1, 0), (1, 1), _audit_chain_1_1),
]


def statements(script: str) -> list[str]:
    """Split a script into statements (triggers' inner ';' included) without executescript,
    which would commit the migration's transaction half-way."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement: {buf.strip()[:60]}")
    return out


def apply(conn: sqlite3.Connection, migration: Migration) -> None:
    if isinstance(migration, str):
        for stmt in statements(migration):
            conn.execute(stmt)
    else:
        migration(conn)
