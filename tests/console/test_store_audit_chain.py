"""The audit log is append-only for real and tampering is detectable (issue 7, item 6): no
REPLACE of an existing entry, a sha256 chain over every entry, ``heatrack audit --verify``
reporting the first broken link, a 1.0 -> 1.1 migration that chains existing entries.
Tampering is done as an attacker would: a raw sqlite3 connection on the file."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from console.store import Store, schema
from tests.support import REPO

T0 = 1_767_225_600


def write_entries(db: Path, n: int = 5) -> None:
    with Store(db) as s:
        futs = [s.audit("installer", "set_outlet", f"pdu1/outlet{i}", {"state": "on"}, {"state": "off"},
                        "ok" if i % 2 else "refused: control locked", ts=T0 + i) for i in range(1, n + 1)]
        for f in futs:
            f.result(5)


def verify(db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["audit", "--verify", "--db", str(db)])
    out, err = capsys.readouterr()
    return rc, out + err


def raw(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(db, isolation_level=None)


def test_replace_of_an_existing_entry_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    write_entries(db, 3)
    c = raw(db)
    for verb in ("INSERT OR REPLACE INTO", "REPLACE INTO"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            c.execute(f"{verb} audit (id, ts, actor, action, target, before, after, result) "
                      "VALUES (2, 0, 'installer', 'set_outlet', 'pdu1/outlet2', NULL, NULL, 'ok')")
    with pytest.raises(sqlite3.IntegrityError):  # nor a new entry that skips the chain
        c.execute("INSERT INTO audit (ts, actor, action, target, result) VALUES (0, 'x', 'y', 'z', 'ok')")
    assert [r for (r,) in c.execute("SELECT result FROM audit ORDER BY id")] == [
        "ok", "refused: control locked", "ok"]
    c.close()


def test_intact_chain_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "a.db"
    write_entries(db, 5)
    rc, out = verify(db, capsys)
    assert rc == 0 and "5 entries, chain intact" in out, out


def test_every_entry_is_chained_to_the_previous(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    write_entries(db, 3)
    rows = raw(db).execute("SELECT id, prev_hash, hash FROM audit ORDER BY id").fetchall()
    assert rows[0][1] == schema.AUDIT_GENESIS
    assert [r[1] for r in rows[1:]] == [r[2] for r in rows[:-1]]
    assert len({r[2] for r in rows}) == 3 and all(len(r[2]) == 64 for r in rows)


def tamper(db: Path, how: str) -> int:
    """Do what an attacker with the file could; returns the entry id the report must name."""
    c = raw(db)
    try:
        if how == "update":
            c.execute("DROP TRIGGER audit_append_only_u")
            c.execute("UPDATE audit SET result = 'ok' WHERE id = 2")
            c.executescript("CREATE TRIGGER audit_append_only_u BEFORE UPDATE ON audit\n"
                            "    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;")
            return 2
        if how == "delete":
            c.execute("DROP TRIGGER audit_append_only_d")
            c.execute("DELETE FROM audit WHERE id = 3")
            c.executescript("CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit\n"
                            "    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;")
            return 3
        if how == "delete-last":
            c.execute("DROP TRIGGER audit_append_only_d")
            c.execute("DELETE FROM audit WHERE id = 5")
            c.executescript("CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit\n"
                            "    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;")
            return 5
        if how == "drop-trigger":
            c.execute("DROP TRIGGER audit_append_only_d")
            return 0
        raise AssertionError(how)
    finally:
        c.close()


@pytest.mark.parametrize(("how", "says"), [
    ("update", "entry 2 was changed"),
    ("delete", "entry 3 is missing"),
    ("delete-last", "entry 5 is missing"),
    ("drop-trigger", "trigger audit_append_only_d is missing"),
])
def test_tampering_is_reported_with_the_first_broken_link(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          how: str, says: str) -> None:
    db = tmp_path / "a.db"
    write_entries(db, 5)
    tamper(db, how)
    rc, out = verify(db, capsys)
    assert rc == 1, out
    assert says in out, out
    assert "Traceback" not in out


def test_store_open_notices_tampering_and_still_opens(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "a.db"
    write_entries(db, 5)
    tamper(db, "update")
    with Store(db) as s:  # opens all the same: the log is evidence, not a reason to stop
        events = [e for e in s.events() if e.kind == "audit_chain_broken"]
        assert len(events) == 1 and "entry 2 was changed" in events[0].message
        assert s.audit("x", "y", "z", None, None, "ok").result(5) == 6  # appending still works
    assert "entry 2 was changed" in caplog.text
    with Store(db) as s:  # the same finding is not raised again on every open
        assert len([e for e in s.events() if e.kind == "audit_chain_broken"]) == 1


def test_migration_1_0_to_1_1_chains_existing_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "old.db"
    c = raw(db)
    c.execute("BEGIN")
    schema.apply(c, schema.SCHEMA_1_0)
    c.execute(f"PRAGMA user_version = {schema.encode(1, 0)}")
    c.execute("COMMIT")
    c.executemany("INSERT INTO audit (ts, actor, action, target, before, after, result) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [(T0 + i, "installer", "set_power_limit", "srv1", '{"limit_w": 800}', '{"limit_w": 600}', "ok")
                   for i in range(4)])
    c.close()
    with Store(db) as s:
        assert s.schema_version == (1, 1)
        assert s.audit("installer", "control_lock", "site", None, None, "ok").result(5) == 5
    rc, out = verify(db, capsys)
    assert rc == 0 and "5 entries, chain intact" in out, out
    rows = raw(db).execute("SELECT ts, result FROM audit ORDER BY id").fetchall()
    assert rows[:4] == [(float(T0 + i), "ok") for i in range(4)]  # contents unchanged


def test_audit_listing_is_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "a.db"
    write_entries(db, 2)
    assert main(["audit", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert any("set_outlet" in ln and "pdu1/outlet1" in ln and "ok" in ln and "2026-01-01 00:00:01" in ln
               for ln in lines), out
    assert any("refused: control locked" in ln for ln in lines), out


def test_audit_command_reads_while_a_writer_runs_and_errors_are_one_line(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    write_entries(db, 2)
    with Store(db):  # a writer holds the file
        p = subprocess.run([sys.executable, "-m", "console.cli", "audit", "--verify", "--db", str(db)],
                           cwd=REPO, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and "2 entries, chain intact" in p.stdout, (p.stdout, p.stderr)
    p = subprocess.run([sys.executable, "-m", "console.cli", "audit", "--db", str(tmp_path / "nope.db")],
                       cwd=REPO, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "no such site database" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "nope.db").exists()


def test_odd_audit_values_are_chained_as_stored_or_refused_alone(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """An int timestamp, a number as actor, unicode: hashed as SQLite returns them (REAL, TEXT),
    so the chain verifies; a missing actor fails alone and leaves no gap."""
    db = tmp_path / "odd.db"
    with Store(db, commit_interval=0.05) as s:
        assert s.audit(42, "set_valve", "heat1/valve", {"pos": 10}, {"pos": 12.5}, "ok", ts=T0).result(5) == 1
        with pytest.raises(sqlite3.IntegrityError):
            s.audit(None, "set_valve", "heat1/valve", None, None, "ok").result(5)  # type: ignore[arg-type]
        assert s.audit("Zoë ☃", "set_outlet", "pdu1/outlet1", None, None, "refused: über limit").result(5) == 2
    rc, out = verify(db, capsys)
    assert rc == 0 and "2 entries, chain intact" in out, out
