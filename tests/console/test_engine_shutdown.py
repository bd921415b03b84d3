"""Stopping the engine never waits on a device (issue 7, item 3): not for a poll's whole
timeout, and not for a worker thread that a blocking client call keeps busy."""
from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from console.engine import Engine
from console.site import parse_site
from protocols.base import Credentials, DeviceSpec, Reading
from tests.fakes.engine import FakeSource
from tests.fakes.sites import FakeStore, device, site_toml
from tests.hostile_http import HostileServer
from tests.support import REPO, wait_until

HEATRACK = str(REPO / ".venv" / "bin" / "heatrack")


def slow_site() -> Any:
    """srv1 polled every 30 s with a 3 s call timeout: the engine bounds its poll at 30 s."""
    return parse_site(site_toml([
        device("srv1", "server", "redfish", 1).replace('"50ms"', '"30s"').replace('"40ms"', '"3s"'),
        device("ups1", "ups", "snmp", 2),
        device("heat1", "heat_controller", "modbus", 3),
    ]))


def run_in_thread(engine: Engine) -> tuple[threading.Thread, list[float]]:
    """asyncio.run(engine.run()) in a thread; the list gets the time it returned."""
    ended: list[float] = []

    def main() -> None:
        asyncio.run(engine.run())
        ended.append(time.monotonic())

    t = threading.Thread(target=main, daemon=True)
    t.start()
    return t, ended


def test_stop_cancels_a_poll_in_flight_instead_of_waiting_for_its_timeout() -> None:
    started = threading.Event()

    class Hang(FakeSource):
        async def poll(self) -> list[Reading]:
            started.set()
            await asyncio.Event().wait()
            return []

    def factory(spec: DeviceSpec) -> FakeSource:
        return Hang(spec, []) if spec.id == "srv1" else FakeSource(spec, [[]])

    engine = Engine(slow_site(), FakeStore(), source_factory=factory, credential_resolver=lambda r: Credentials())
    t, ended = run_in_thread(engine)
    assert started.wait(10)
    stop = time.monotonic()
    engine.request_stop()
    t.join(10)
    assert ended, "the engine was still waiting for the hung poll after 10 s"
    assert ended[0] - stop < 4.0  # a short grace, then the poll is cancelled and the source closed


def test_a_worker_thread_stuck_in_a_blocking_call_does_not_hold_the_loop_at_exit() -> None:
    """asyncio.run() joins the default executor's threads when it ends, and concurrent.futures
    joins them again at interpreter exit: a blocking client call stuck for ever (NVML, a BMC)
    in asyncio.to_thread would keep the program alive."""
    release = threading.Event()
    entered = threading.Event()
    workers: list[threading.Thread] = []

    class Blocking(FakeSource):
        async def poll(self) -> list[Reading]:
            def call() -> None:
                workers.append(threading.current_thread())
                entered.set()
                release.wait(60)

            await asyncio.to_thread(call)
            return []

    def factory(spec: DeviceSpec) -> FakeSource:
        return Blocking(spec, []) if spec.id == "srv1" else FakeSource(spec, [[]])

    engine = Engine(slow_site(), FakeStore(), source_factory=factory, credential_resolver=lambda r: Credentials())
    t, ended = run_in_thread(engine)
    try:
        assert entered.wait(10)
        stop = time.monotonic()
        engine.request_stop()
        t.join(10)
        assert ended, "asyncio.run() was still waiting for the stuck worker thread after 10 s"
        assert ended[0] - stop < 4.0
        stuck = [th for th in threading.enumerate() if th.is_alive() and not th.daemon
                 and th is not threading.main_thread()]
        assert stuck == [], f"non-daemon threads would hold the interpreter's exit: {stuck}"
    finally:
        release.set()
    wait_until(lambda: not workers[0].is_alive(), what="the released worker to end")


# ---------------------------------------------------------------- heatrack log, end to end
def hostile_site(tmp_path: Any, address: str) -> Any:
    from tests.support import free_port

    site = tmp_path / "site.toml"
    site.write_text(site_toml([
        f'[[devices]]\nid = "srv1"\nkind = "server"\nprotocol = "redfish"\naddress = "{address}"\n'
        'poll_interval = "10s"\ntimeout = "3s"\n',
        device("heat1", "heat_controller", "modbus", free_port(), 'profile = "heatrack-default"')
        .replace('"50ms"', '"1s"').replace('"40ms"', '"500ms"'),
    ]), encoding="utf-8")
    return site


@pytest.mark.slow
@pytest.mark.parametrize("behaviour", [("drip", 0.5, True), ("endless", True)], ids=["drip", "endless"])
def test_log_duration_ends_on_time_against_a_hostile_bmc(tmp_path: Any, behaviour: tuple[Any, ...]) -> None:
    """Issue 7: a dripping BMC kept `heatrack log --duration 10s` alive for 123 s."""
    srv = HostileServer(lambda method, path: behaviour)
    try:
        t0 = time.monotonic()
        p = subprocess.run([HEATRACK, "log", "--site", str(hostile_site(tmp_path, srv.address)),
                            "--db", str(tmp_path / "log.db"), "--duration", "2s"],
                           capture_output=True, text=True, timeout=120)
        took = time.monotonic() - t0
    finally:
        srv.close()
    assert p.returncode == 3, (p.stdout, p.stderr)  # nothing was reached, and it says so
    assert re.search(r"^srv1\s+(pending|unreachable|faulty)", p.stdout, re.M), p.stdout  # poll cut at the stop
    assert took < 2 + 6, took  # the duration + stop grace + close + interpreter start-up


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_log_stops_promptly_on_a_signal_while_a_bmc_drips(tmp_path: Any, sig: signal.Signals) -> None:
    srv = HostileServer(lambda method, path: ("drip", 0.5, True))
    p = subprocess.Popen([HEATRACK, "log", "--site", str(hostile_site(tmp_path, srv.address)),
                          "--db", str(tmp_path / "log.db")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        wait_until(lambda: srv.requests, timeout=20, what="srv1's poll in flight")
        sent = time.monotonic()
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        srv.close()
    assert took < 5.0, took
    assert "Traceback" not in err, err
    assert "logged 0 readings" in out
