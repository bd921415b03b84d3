"""The store's schema and its migrations.

``PRAGMA user_version`` holds ``major << 16 | minor``: a newer *minor* only adds things an
older heatrack can ignore; a newer *major* is refused (qutebrowser's UserVersion idea).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

MAJOR = 1
MINOR = 0

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


Migration = str | Callable[[sqlite3.Connection], None]

# (from_version, to_version, SQL script or function). Append new ones; never edit old ones.
MIGRATIONS: list[tuple[tuple[int, int], tuple[int, int], Migration]] = [
    ((0, 0), (1, 0), SCHEMA_1_0),
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
