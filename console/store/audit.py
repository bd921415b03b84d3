"""Checking the audit log's hash chain: is every entry as it was written, and all there?

The chain proves the log was not edited by anything that does not recompute it. It cannot stop
someone with the file who recomputes every hash from the altered entry on; for that, keep the
head hash that ``heatrack audit --verify`` prints somewhere else and compare it later.
"""
from __future__ import annotations

import dataclasses
import datetime as dt_
import re
import sqlite3

from console.store import schema


@dataclasses.dataclass(frozen=True, slots=True)
class ChainReport:
    entries: int
    head: str  # hash of the last entry (AUDIT_GENESIS when empty)
    head_id: int  # id of the last entry (0 when empty)
    problems: list[str]  # first broken link of the chain, then trigger / tail findings

    @property
    def intact(self) -> bool:
        return not self.problems


def _norm(sql: str | None) -> str:
    return re.sub(r"\s+", " ", (sql or "").strip().rstrip(";")).strip()


def verify_chain(conn: sqlite3.Connection) -> ChainReport:
    """Walk the audit log in id order; report the first broken link (changed entry, missing
    entry, entry not written by heatrack), dropped or altered triggers, and a cut-off tail."""
    version = schema.decode(conn.execute("PRAGMA user_version").fetchone()[0])
    if version < (1, 1):
        n = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        return ChainReport(n, schema.AUDIT_GENESIS, 0, [
            f"database schema {version[0]}.{version[1]} has no hash chain yet (a heatrack writer adds it "
            "when it opens the file: heatrack log, demo or open)"])
    cols = ", ".join(schema.AUDIT_COLUMNS)
    problems: list[str] = []
    prev_hash, prev_id, n = schema.AUDIT_GENESIS, 0, 0
    for row in conn.execute(f"SELECT {cols}, prev_hash, hash FROM audit ORDER BY id"):
        n += 1
        fields, link, stored = row[:len(schema.AUDIT_COLUMNS)], row[-2], row[-1]
        eid = fields[0]
        if problems:
            continue  # count the rest; the first broken link is what matters
        if stored is None or link is None:
            problems.append(f"entry {eid} has no hash: it was not written by heatrack")
        elif schema.audit_hash(fields, link) != stored:
            problems.append(f"entry {eid} was changed after it was written (its contents do not match "
                            "its hash)")
        elif link != prev_hash:
            if eid != prev_id + 1:
                gone = f"entry {prev_id + 1}" if eid == prev_id + 2 else f"entries {prev_id + 1}-{eid - 1}"
                problems.append(f"{gone} {'is' if eid == prev_id + 2 else 'are'} missing (entry {eid} links "
                                "to an entry that is not there)")
            else:
                problems.append(f"entry {prev_id} was replaced or rewritten (entry {eid} links to a "
                                "different entry)")
        prev_hash, prev_id = (stored or prev_hash), eid
    head_row = conn.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    if head_row and not problems:
        head_id, _, head_hash = str(head_row[0]).partition(" ")
        if head_id.isdigit() and int(head_id) > prev_id:
            gone = (f"entry {head_id}" if int(head_id) == prev_id + 1
                    else f"entries {prev_id + 1}-{head_id}")
            problems.append(f"{gone} {'is' if int(head_id) == prev_id + 1 else 'are'} missing (the log "
                            f"ended at entry {head_id}, it now ends at {prev_id or 'nothing'})")
        elif head_id.isdigit() and int(head_id) == prev_id and head_hash != prev_hash:
            problems.append(f"entry {prev_id} was replaced (the head recorded at its writing differs)")
    present = {name: sql for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'")}
    for name, sql in schema.AUDIT_TRIGGERS.items():
        if name not in present:
            problems.append(f"trigger {name} is missing: the audit log could be altered unnoticed by "
                            "the database")
        elif _norm(present[name]) != _norm(sql):
            problems.append(f"trigger {name} was altered")
    return ChainReport(n, prev_hash, prev_id, problems)


def _when(ts: float) -> str:
    return dt_.datetime.fromtimestamp(ts, dt_.UTC).strftime("%Y-%m-%d %H:%M:%S")
