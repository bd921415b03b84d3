"""sushy-static (DMTF's Redfish mockup server, software nobody here wrote) as a test peer:
one process per mockup on loopback, and the mockup's own JSON to compare against."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from protocols.base import Credentials, DeviceSpec
from tests.support import free_port, tcp_open, wait_until

SUSHY = Path(sys.executable).parent / "sushy-static"


class Sushy:
    """One sushy-static process (single-threaded: one per fixture), its log in a tmp file."""

    def __init__(self, mockup: Path, log: Path, port: int | None = None,
                 cert: Path | None = None, key: Path | None = None) -> None:
        if not SUSHY.exists():
            pytest.skip("sushy-static not installed (pip install sushy-tools)")
        self.mockup, self.log, self.port = mockup, log, port or free_port()
        args = [str(SUSHY), "-i", "127.0.0.1", "-p", str(self.port), "-m", str(mockup)]
        if cert and key:
            args += ["-c", str(cert), "-k", str(key)]
        self._out = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=subprocess.STDOUT)
        wait_until(lambda: tcp_open(self.port), timeout=10, what=f"sushy-static on {self.port}", proc=self.proc)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def gets(self, path: str) -> int:
        """How many GETs of exactly ``path`` the server logged."""
        return len(re.findall(rf'"GET {re.escape(path)} HTTP', self.log.read_text()))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._out.close()


def load(mockup: Path, resource: str) -> dict:
    return json.loads((mockup / resource / "index.json").read_text())


def spec(address: str, **options: object) -> DeviceSpec:
    return DeviceSpec(id="srv1", kind="server", protocol="redfish", address=address,
                      credentials=Credentials("admin", "not-a-real-password"), timeout_s=2.0,
                      tls=bool(options.pop("tls", False)), options=dict(options))
