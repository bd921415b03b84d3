"""Two writers on one site database, readers beside a writer, read-only files (issue 7, items
1 and 2). Real concurrent processes."""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from console.store import Store, StoreError, schema
from protocols.base import Reading
from tests.support import REPO

T0 = 1_767_225_600
TRIES = 25


def _contender(db_dir: str, tries: int, barrier: Any, results: Any, use_lock: bool) -> None:
    """One of two processes opening the same missing file at once, ``tries`` times."""
    import console.store.store as st
    from console.store import Store, StoreError

    if not use_lock:  # only the migration's own atomicity stands between the two
        st.WriterLock.acquire = classmethod(lambda cls, path: None)  # type: ignore[assignment]
    for t in range(tries):
        barrier.wait(60)
        path = Path(db_dir) / f"race{t}.db"
        store = None
        try:
            store = Store(path)
            outcome = ("ok", str(os.getpid()))
        except StoreError as e:
            outcome = ("refused", str(e))
        except Exception as e:  # noqa: BLE001 - reported to the test as a failure
            outcome = ("crash", f"{type(e).__name__}: {e}")
        results.put((t, outcome))
        barrier.wait(60)  # both have tried while the winner still holds the file
        if store is not None:
            store.close()


def race(tmp_path: Path, use_lock: bool) -> dict[int, list[tuple[str, str]]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_contender, args=(str(tmp_path), TRIES, barrier, results, use_lock))
             for _ in range(2)]
    for p in procs:
        p.start()
    out: dict[int, list[tuple[str, str]]] = {}
    try:
        for _ in range(2 * TRIES):
            t, outcome = results.get(timeout=60)
            out.setdefault(t, []).append(outcome)
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
                p.join()
    return out


def test_two_writers_racing_on_a_missing_file_one_wins_the_other_is_told_who(tmp_path: Path) -> None:
    out = race(tmp_path, use_lock=True)
    for t, outcomes in sorted(out.items()):
        oks = [o for o in outcomes if o[0] == "ok"]
        refused = [o for o in outcomes if o[0] == "refused"]
        assert len(oks) == 1 and len(refused) == 1, (t, outcomes)
        msg = refused[0][1]
        assert "not a heatrack database" not in msg
        assert f"pid {oks[0][1]}" in msg and socket.gethostname() in msg, msg
    for t in out:
        with sqlite3.connect(tmp_path / f"race{t}.db") as c:
            assert schema.decode(c.execute("PRAGMA user_version").fetchone()[0]) == (schema.MAJOR, schema.MINOR)


def test_creation_and_migration_are_atomic_even_without_the_writer_lock(tmp_path: Path) -> None:
    """user_version is read under the write lock: the second opener sees either nothing or the
    finished schema, never tables without a version ("not a heatrack database")."""
    out = race(tmp_path, use_lock=False)
    for t, outcomes in sorted(out.items()):
        assert all(o[0] in ("ok", "refused") for o in outcomes), (t, outcomes)
        assert not any("not a heatrack database" in o[1] for o in outcomes), (t, outcomes)


def test_second_writer_in_the_same_process_is_refused_then_admitted(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    first = Store(db)
    try:
        with pytest.raises(StoreError) as e:
            Store(db)
        msg = str(e.value)
        assert f"pid {os.getpid()}" in msg and socket.gethostname() in msg and "since" in msg
    finally:
        first.close()
    with Store(db) as again:  # released on close
        assert again.series() == []


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    child = subprocess.Popen([sys.executable, "-c", "import sys; from console.store import Store; "
                              "s = Store(sys.argv[1]); print('open', flush=True); sys.stdin.read()", str(db)],
                             cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match=f"pid {child.pid}"):
            Store(db)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
    with Store(db) as s:  # a SIGKILLed writer leaves no stale lock behind
        s.add_readings([Reading(T0, "d", "c", "power", 1.0, "W")])
        s.flush(timeout=5)


def test_a_reader_in_another_process_works_beside_the_writer(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    with Store(db) as w:
        w.add_readings([Reading(T0 + i, "srv1", "inlet", "temperature", 20.0 + i, "°C") for i in range(5)])
        w.audit("installer", "set_power_limit", "srv1", None, {"limit_w": 600}, "ok").result(5)
        w.flush(timeout=5)
        code = ("import sys; from console.store import Store\n"
                "r = Store(sys.argv[1], readonly=True)\n"
                "print(len(r.range('srv1/inlet/temperature', 0, 2e9, resolution='raw')), len(r.audit_log()))\n"
                "try:\n    r.add_event(0, 'info', None, 'x', 'y')\nexcept Exception as e:\n    print(e)\n"
                "r.close()")
        p = subprocess.run([sys.executable, "-c", code, str(db)], cwd=REPO, capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr
        counts, refusal = p.stdout.splitlines()
        assert counts == "5 1"
        assert "read-only" in refusal


def test_readonly_open_of_a_missing_or_foreign_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such"):
        Store(tmp_path / "missing.db", readonly=True)
    assert not (tmp_path / "missing.db").exists()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE x (a)")
    with pytest.raises(StoreError, match="not a heatrack database"):
        Store(other, readonly=True)


def _without_write_permission() -> list[str]:
    """Run a child so that file permissions apply to it (root bypasses them)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def _log_site(tmp_path: Path) -> Path:
    from tests.fakes.sites import device, site_toml

    site = tmp_path / "site.toml"
    site.write_text(site_toml([
        device("srv1", "server", "redfish", 1).replace('poll_interval = "50ms"', 'poll_interval = "1s"')
        .replace('timeout = "40ms"', 'timeout = "500ms"'),
        device("heat1", "heat_controller", "modbus", 1, 'profile = "heatrack-default"')
        .replace('poll_interval = "50ms"', 'poll_interval = "1s"').replace('timeout = "40ms"', 'timeout = "500ms"'),
    ]), encoding="utf-8")
    return site


@pytest.mark.parametrize("how", ["file", "directory"])
def test_read_only_database_is_refused_at_open_before_polling(tmp_path: Path, how: str) -> None:
    where = tmp_path / "ro"
    where.mkdir()
    db = where / "site.db"
    with Store(db) as s:
        s.add_readings([Reading(T0, "srv1", "inlet", "temperature", 21.0, "°C")])
    for leftover in where.glob("site.db-*"):
        leftover.unlink()
    if how == "file":
        db.chmod(0o444)
    else:
        (where / "site.db.lock").unlink(missing_ok=True)
        where.chmod(0o555)
    try:
        p = subprocess.run([*_without_write_permission(), sys.executable, "-m", "console.cli", "log",
                            "--site", str(_log_site(tmp_path)), "--db", str(db), "--duration", "30s"],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    finally:
        where.chmod(0o755)
        db.chmod(0o644)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "read-only" in lines[0], p.stderr
    assert "logging" not in p.stdout  # refused before polling started
    with sqlite3.connect(db) as c:  # and untouched
        assert c.execute("SELECT count(*) FROM samples").fetchone()[0] == 1


def test_console_window_refuses_a_database_in_use_with_one_line(qtbot, tmp_path: Path,  # noqa: ANN001
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The window offers to view read-only (console/ui/open_flow.py); declined, it refuses in one
    line and opens nothing."""
    import console.ui.open_flow
    from console.site import load_site
    from console.ui.app import run_gui

    asked: list[str] = []
    monkeypatch.setattr(console.ui.open_flow, "ask_read_only", lambda e, parent=None: asked.append(str(e)) or False)
    site = load_site(REPO / "resources" / "sites" / "example.toml")
    db = tmp_path / "gui.db"
    with Store(db):  # heatrack log is writing it
        assert run_gui(site, db) == 1
    assert len(asked) == 1 and "already open for writing" in asked[0]
    err = capsys.readouterr().err
    assert "already open for writing" in err and f"pid {os.getpid()}" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("readonly", [False, True])
def test_bad_database_paths_are_clear_errors(tmp_path: Path, readonly: bool) -> None:
    """A folder, an empty name or a missing folder: StoreError with one line (a ValueError from
    pathlib used to escape for an empty name)."""
    for path, says in [(tmp_path, "folder"), ("", "empty name"),
                       (tmp_path / "nope" / "x.db", "does not exist" if not readonly else "no such")]:
        with pytest.raises(StoreError, match=says) as e:
            Store(path, readonly=readonly)
        assert "\n" not in str(e.value)


def test_a_symlink_to_the_database_is_the_same_database(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    Store(real).close()
    (tmp_path / "link.db").symlink_to(real)
    with Store(real):
        with pytest.raises(StoreError, match="already open for writing"):
            Store(tmp_path / "link.db")


def test_a_full_disk_when_recording_the_writer_still_locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing the owner record failed with ENOSPC on a full tmpfs and escaped as a traceback."""
    import errno

    import console.store.lock as lock_module

    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lock_module.os, "pwrite", full)
    monkeypatch.setattr(lock_module, "_read_owner", lambda fd, wait=1.0: lock_module._parse(b""))
    db = tmp_path / "full.db"
    with Store(db):
        with pytest.raises(StoreError, match="has not recorded who it is"):
            Store(db)
