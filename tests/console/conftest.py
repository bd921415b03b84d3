"""Fixtures shared by the console tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from protocols.modbus.profile import load_profile
from protocols.modbus.server import HeatControllerServer
from tests.fakes.headless import POINTS, serving


@pytest.fixture
def heat_server() -> Iterator[int]:
    """Our profile-driven Modbus heat controller on 127.0.0.1, in its own loop thread."""
    server = HeatControllerServer(load_profile("heatrack-default"), lambda: POINTS, lambda n, v: None)
    with serving(server) as port:
        yield port
