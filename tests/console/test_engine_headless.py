"""``heatrack log``: the session's engine into a real SQLite store; end to end against our Modbus
heat-controller server; Ctrl-C loses nothing already polled."""
from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from console.commands.log import poll_printing
from console.engine import DeviceState
from console.session import Session
from console.site import parse_site
from console.store import Store
from protocols.base import BadData, Credentials, DeviceSpec
from protocols.modbus.profile import load_profile
from tests.fakes.headless import POINTS, LiveSource, write_site
from tests.fakes.sites import device, site_toml
from tests.support import REPO, wait_until

HEATRACK = str(REPO / ".venv" / "bin" / "heatrack")


def count_samples(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as c:
        return dict(c.execute("SELECT s.device_id, count(*) FROM samples JOIN series s ON s.id = series_id "
                              "GROUP BY s.device_id").fetchall())


def test_run_headless_writes_real_store(tmp_path: Path) -> None:
    site = parse_site(site_toml([
        device("srv1", "server", "redfish", 1),
        device("heat1", "heat_controller", "modbus", 3),
    ]))
    values = {"srv1": {"inlet": 21.25, "exhaust": 33.5}, "heat1": None}

    def factory(spec: DeviceSpec) -> LiveSource:
        return LiveSource(spec, values[spec.id],
                          BadData(spec.id, spec.address, "register 8: NaN") if values[spec.id] is None else None)

    out = io.StringIO()
    store = Store(tmp_path / "site.db", commit_interval=0.05)
    with Session(site, store, source_factory=factory, credential_resolver=lambda ref: Credentials()) as session:
        statuses = asyncio.run(poll_printing(session, 0.3, out=out, install_signals=False))
        session.flush()
        latest = store.latest()
        events = store.events()
    assert {k: v.value for k, v in latest.items()} == {f"srv1/{ch}/temperature": v for ch, v in values["srv1"].items()}
    assert count_samples(tmp_path / "site.db")["srv1"] == statuses["srv1"].readings > 2
    assert statuses["heat1"].state is DeviceState.FAULTY and statuses["heat1"].readings == 0
    assert [(e.device_id, e.severity) for e in events] == [("heat1", "warning")]
    lines = out.getvalue().splitlines()  # one line per transition, not per poll
    assert len(lines) == 2 and any("heat1 faulty: " in x and "NaN" in x for x in lines)


def test_log_end_to_end_against_modbus_server(tmp_path: Path, heat_server: int) -> None:
    site, db = write_site(tmp_path, heat_server), tmp_path / "log.db"
    t0 = time.monotonic()
    p = subprocess.run([HEATRACK, "log", "--site", str(site), "--db", str(db), "--duration", "1s"],
                       check=False, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert time.monotonic() - t0 < 15
    out = p.stdout
    assert re.search(r"heat1 ok: \d+ readings", out)
    # srv1 points at a closed port: its failure is a transition line and in the summary
    assert "srv1 unreachable" in out or "srv1 faulty" in out
    m = re.search(r"^heat1\s+ok\s+(\d+) readings", out, re.MULTILINE)
    assert m, out
    store = Store(db)
    try:
        latest = store.latest("heat1")
    finally:
        store.close()
    profile = load_profile("heatrack-default")
    for name in ("supply_temp", "return_temp", "flow", "outdoor_temp"):
        pt = profile.point(name)
        assert latest[f"heat1/{pt.channel}/{pt.quantity}"].value == pytest.approx(POINTS[name], abs=pt.scale)
    assert latest["heat1/pump/state"].value == "on"
    assert count_samples(db)["heat1"] == int(m.group(1))


def test_log_sigint_flushes_everything(tmp_path: Path, heat_server: int) -> None:
    site, db = write_site(tmp_path, heat_server), tmp_path / "log.db"
    p = subprocess.Popen([HEATRACK, "log", "--site", str(site), "--db", str(db)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines: list[str] = []

        def saw_ok() -> bool:
            line = p.stdout.readline() if p.stdout else ""
            lines.append(line)
            return "heat1 ok" in line

        wait_until(saw_ok, timeout=20, what="heat1 ok line", proc=p)
        p.send_signal(signal.SIGINT)
        rest, _ = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, rest
    m = re.search(r"^heat1\s+ok\s+(\d+) readings", rest, re.MULTILINE)
    assert m, rest
    assert count_samples(db)["heat1"] == int(m.group(1)) > 0


def test_log_reports_site_errors_and_bad_duration(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(site_toml([device("srv1", "server", "snmp", 1)]), encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "console.cli", "log", "--site", str(bad), "--db",
                        str(tmp_path / "x.db")], check=False, capture_output=True, text=True, timeout=30, cwd=REPO)
    assert p.returncode == 1 and "protocol" in p.stderr and str(bad) in p.stderr
    assert not (tmp_path / "x.db").exists()
    p = subprocess.run([sys.executable, "-m", "console.cli", "log", "--site", str(bad), "--db",
                        str(tmp_path / "x.db"), "--duration", "soon"], check=False, capture_output=True, text=True,
                       timeout=30, cwd=REPO)
    assert p.returncode == 2 and "duration" in p.stderr


def test_log_stops_with_one_clear_line_when_the_store_fails(tmp_path: Path, heat_server: int,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A writer that stopped (disk full, database locked by another program for too long) used
    to leave the logger polling into the void with a traceback per poll, then a traceback at exit."""
    import argparse

    import console.store
    from console.commands.log import log_command
    from console.store import StoreError

    class StoppedWriter(Store):
        def add_readings(self, readings: Any) -> None:
            raise StoreError(f"{self.path}: the writer stopped: database is locked")

        def flush(self, timeout: float | None = None) -> None:
            raise StoreError(f"{self.path}: the writer stopped: database is locked")

    monkeypatch.setattr(console.store, "Store", StoppedWriter)
    site, db = write_site(tmp_path, heat_server), tmp_path / "log.db"
    t0 = time.monotonic()
    rc = log_command(argparse.Namespace(site=str(site), db=str(db), duration="20s"))
    elapsed = time.monotonic() - t0
    out, err = capsys.readouterr()
    assert rc == 1
    assert elapsed < 10  # stopped at the first refusal, not after the 20 s asked for
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) <= 2 and all("database is locked" in ln for ln in lines)
    assert sum("stopping" in ln for ln in lines) == 1
    assert "logged" in out  # the summary still comes


def test_log_exits_3_when_no_device_was_ever_reached(tmp_path: Path) -> None:
    """Logging nothing at all is a failure a script must be able to see (issue 7, item 9)."""
    from tests.support import free_port

    site, db = tmp_path / "site.toml", tmp_path / "log.db"
    site.write_text(site_toml([
        device("srv1", "server", "redfish", free_port()).replace('"50ms"', '"1s"').replace('"40ms"', '"500ms"'),
        device("heat1", "heat_controller", "modbus", free_port(), 'profile = "heatrack-default"')
        .replace('"50ms"', '"1s"').replace('"40ms"', '"500ms"'),
    ]), encoding="utf-8")
    p = subprocess.run([HEATRACK, "log", "--site", str(site), "--db", str(db), "--duration", "1s"],
                       check=False, capture_output=True, text=True, timeout=30)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert "heatrack log: no device was reached during the run" in p.stderr
    assert re.search(r"^srv1\s+unreachable", p.stdout, re.MULTILINE) and "logged 0 readings" in p.stdout
