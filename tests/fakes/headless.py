"""What `heatrack log` tests poll: a source whose readings carry the current time, the values our
Modbus heat controller serves in them (the `heat_server` fixture is in tests/console/conftest.py),
and a site file pointing at it."""
from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from protocols.base import DeviceSpec, Reading
from tests.fakes.sites import device, site_toml

POINTS: dict[str, Any] = {
    "supply_temp": 44.31, "return_temp": 37.02, "tank_top_temp": 58.2, "flow": 11.5,
    "thermal_power": 2950.0, "thermal_energy": 87.65, "valve_position": 40.0,
    "pump_on": True, "outdoor_temp": -4.5, "model": "HR-DEMO",
}


class LiveSource:
    """Readings stamped with the current time (the store keys samples by series and ms)."""

    def __init__(self, spec: DeviceSpec, values: dict[str, float] | None, fail: Exception | None = None) -> None:
        self.spec, self.values, self.fail = spec, values or {}, fail
        self.closed = False

    async def poll(self) -> list[Reading]:
        if self.fail:
            raise self.fail
        ts = time.time()
        return [Reading(ts, self.spec.id, ch, "temperature", v, "°C") for ch, v in self.values.items()]

    async def close(self) -> None:
        self.closed = True


def write_site(tmp_path: Path, port: int, heat_interval: str = "100ms", heat_timeout: str = "90ms") -> Path:
    """heat1 answers (the Modbus server on ``port``); srv1 points at a closed port."""
    f = tmp_path / "site.toml"
    f.write_text(site_toml([
        device("srv1", "server", "redfish", 1).replace('poll_interval = "50ms"', 'poll_interval = "1s"')
        .replace('timeout = "40ms"', 'timeout = "500ms"'),
        device("heat1", "heat_controller", "modbus", port, 'profile = "heatrack-default"')
        .replace('poll_interval = "50ms"', f'poll_interval = "{heat_interval}"')
        .replace('timeout = "40ms"', f'timeout = "{heat_timeout}"'),
    ]), encoding="utf-8")
    return f


@contextlib.contextmanager
def serving(server: Any) -> Iterator[int]:
    """Run an asyncio protocol server (``start() -> port``, ``stop()``) on 127.0.0.1 in a loop
    thread of its own; yields its port, stops it on exit."""
    loop = asyncio.new_event_loop()
    port: list[int] = []
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        port.append(loop.run_until_complete(server.start()))
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    t = threading.Thread(target=main, daemon=True)
    t.start()
    assert ready.wait(10), "the server did not start within 10 s"
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
