"""Fixtures shared by the console tests."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from protocols.modbus.profile import load_profile
from protocols.modbus.server import HeatControllerServer
from tests.fakes.headless import POINTS


@pytest.fixture
def heat_server() -> Iterator[int]:
    """Our profile-driven Modbus heat controller on 127.0.0.1, in its own loop thread."""
    loop = asyncio.new_event_loop()
    server = HeatControllerServer(load_profile("heatrack-default"), lambda: POINTS, lambda n, v: None)
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
    assert ready.wait(10)
    yield port[0]
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)
