"""``heatrack demo``: fault listing and parsing, the no-display message, --serve as a
subprocess, and both --headless modes writing a real store."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from console.cli import main
from console.commands.demo import LIVE_MAX_SPEED, parse_fault
from console.demo.faults import FAULTS
from console.site import SiteError, parse_site
from console.store import Store
from tests.support import REPO, tcp_open, wait_until


def test_list_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--list-faults"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == list(FAULTS)
    assert all(len(ln.split(None, 1)[1]) > 10 for ln in lines)  # each has a description


def test_parse_fault() -> None:
    assert parse_fault("pump-failure@2h") == ("pump-failure", 7200.0)
    assert parse_fault("valve-stuck@90") == ("valve-stuck", 90.0)
    assert parse_fault("no-heat-demand") == ("no-heat-demand", 0.0)


@pytest.mark.parametrize(("arg", "expect"), [
    ("pump-fail@1h", "unknown fault 'pump-fail'; valid faults: " + ", ".join(FAULTS)),
    ("pump-failure@soon", "bad time 'soon'"),
])
def test_bad_fault_is_a_clear_usage_error(capsys: pytest.CaptureFixture[str], arg: str, expect: str) -> None:
    assert main(["demo", "--headless", "--duration", "1m", "--fault", arg]) == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err


def test_fault_after_the_end_of_the_run_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    # it used to be accepted and silently never injected
    assert main(["demo", "--headless", "--duration", "1h", "--speed", "1e9", "--db", str(tmp_path / "f.db"),
                 "--fault", "pump-failure@2h"]) == 2
    err = capsys.readouterr().err
    assert "pump-failure@2h" in err and "after the end of the run (1h)" in err and "Traceback" not in err
    assert not (tmp_path / "f.db").exists()


def test_no_display_says_how_to_run_headless(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert main(["demo"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "heatrack demo --headless --duration 10m" in err and "QT_QPA_PLATFORM=offscreen" in err


@pytest.mark.slow
def test_serve_prints_a_valid_site_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    err = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "console.cli", "demo", "--serve", "--speed", "5"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True)
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        def parsed() -> object:
            try:
                return parse_site("".join(chunks))
            except SiteError:
                return None
        site = wait_until(parsed, timeout=20, what="a valid site file on stdout", proc=proc)
        heat = site.device("heat1")
        assert tcp_open(int(heat.address.rsplit(":", 1)[1]))  # the equipment is live
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(5)
        proc.stdout.close()
        err.close()
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()


@pytest.mark.slow
def test_headless_live_logs_every_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "live.db"
    speed = 10.0
    assert speed <= LIVE_MAX_SPEED
    assert main(["demo", "--headless", "--duration", "60s", "--speed", str(speed), "--db", str(db),
                 "--fault", "ups-on-battery@20s"]) == 0
    out = capsys.readouterr().out
    assert "mode: live" in out
    with Store(db) as store:
        latest = store.latest()
        devices = {k.split("/")[0] for k in latest}
        assert devices == {"srv1", "srv2", "srv3", "gpuhost", "ups1", "pdu1", "heat1"}
        events = [e for e in store.events() if e.kind == "fault_injected"]
    assert [(e.device_id, "ups-on-battery" in e.message) for e in events] == [("ups1", True)]


@pytest.mark.slow
def test_headless_fast_forward_writes_rollups_and_fault_events(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ff.db"
    assert main(["demo", "--headless", "--duration", "2d", "--speed", "1e9", "--db", str(db),
                 "--fault", "pump-failure@1d"]) == 0
    out = capsys.readouterr().out
    assert "fast-forward" in out
    with Store(db) as store:
        flow = store.find_series("heat1/loop/flow")
        assert flow is not None
        last = store.latest("heat1")["heat1/loop/flow"].ts
        hours = store.range("heat1/loop/flow", last - 2 * 86400, last + 60, resolution="1h")
        assert 47 <= len(hours) <= 49 and all(p.n <= 60 for p in hours)
        events = [e for e in store.events() if e.kind == "fault_injected"]
        assert len(events) == 1 and events[0].device_id == "heat1"
        fired = events[0].ts
        before = store.range("heat1/loop/flow", fired - 3600, fired, resolution="raw")
        after = store.range("heat1/loop/flow", fired + 600, fired + 3600, resolution="raw")
        assert min(p.mean for p in before) > 0.5  # the pump ran...
        assert max(p.mean for p in after) < 0.1  # ...until the fault stopped it
        assert last == pytest.approx(fired + 86400, abs=120)


@pytest.mark.slow
def test_console_window_on_the_demo_site(qtbot, tmp_path: Path) -> None:
    """What `heatrack demo` opens: every demo device reports through the real clients."""
    from console.demo.runner import DemoRunner
    from console.ui.app import ConsoleSession

    with DemoRunner(seed=3) as runner:
        site = runner.site_model()
        session = ConsoleSession(site, tmp_path / "demo.db", demo=True, demo_hooks=runner,
                                 source_factory=runner.source_factory, credential_resolver=runner.resolve)
        try:
            w = session.window
            w.navigate("devices", site.devices[0].id)
            devices = w.pages["devices"]
            qtbot.waitUntil(lambda: all(devices.tree.state_of(d.id) == "ok" for d in site.devices), timeout=20_000)
            assert f"{len(site.devices)} of {len(site.devices)} devices reporting" in w.status.text()
            qtbot.waitUntil(lambda: devices.values.rowCount() > 10, timeout=5000)
            if os.environ.get("HEATRACK_SCREENSHOTS"):
                w.grab().save(str(Path(os.environ["HEATRACK_SCREENSHOTS"]) / "demo-main-window.png"))
        finally:
            session.close()


def test_headless_store_failure_is_one_line_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    import console.store
    from console.store import StoreError

    class StoppedWriter(Store):
        def add_readings(self, readings: object) -> None:
            raise StoreError(f"{self.path}: the writer stopped: disk full")

    monkeypatch.setattr(console.store, "Store", StoppedWriter)
    assert main(["demo", "--headless", "--duration", "1h", "--speed", "1e9", "--db", str(tmp_path / "d.db")]) == 1
    err = capsys.readouterr().err
    assert "not everything was stored" in err and "disk full" in err and "Traceback" not in err
