"""snmpsim (software nobody here wrote) serving the UPS/PDU recordings in
../shared/peers/snmp/recordings, and the recordings parsed the way tests read expected values."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocols.base import Credentials, DeviceSpec
from protocols.snmp.client import SnmpSource
from tests.support import REPO, free_port, stop_process, wait_until

SNMPSIM = REPO / ".venv" / "bin" / "snmpsim-command-responder"
V3_USER = {"username": "heatrack", "auth_key": "authpass123", "priv_key": "privpass123",
           "auth_protocol": "SHA", "priv_protocol": "AES"}

Records = dict[str, tuple[str, str]]


def read_snmprec(path: Path) -> Records:
    out: Records = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            oid, typ, value = line.split("|", 2)
            out[oid] = (typ, value)
    return out


def sort_key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split("."))


def write_snmprec(path: Path, records: Records) -> None:
    path.write_text("".join(f"{o}|{t}|{v}\n" for o, (t, v) in sorted(records.items(), key=lambda kv: sort_key(kv[0]))))


def text(records: Records, oid: str) -> str:
    """An OctetString as the device means it (``4x`` is hex), padding stripped."""
    typ, value = records[oid]
    return (bytes.fromhex(value).decode() if typ == "4x" else value).strip()


class Agent:
    def __init__(self, port: int, recordings: Path) -> None:
        self.port = port
        self.recordings = recordings

    def records(self, name: str) -> Records:
        return read_snmprec(self.recordings / f"{name}.snmprec")

    def source(self, name: str, *, timeout_s: float = 2.0, v3: bool = False, port: int | None = None,
               community: str | None = None, profile: str | None = None, **v3_overrides: str) -> SnmpSource:
        if v3:
            creds = Credentials(**{**V3_USER, **v3_overrides})
            options: dict[str, Any] = {"version": "3", "context": name}
        else:
            creds = Credentials(community=community or name)
            options = {"version": "2c"}
        return SnmpSource(DeviceSpec(id=name, kind="ups" if name.startswith("ups") else "pdu", protocol="snmp",
                                     address=f"127.0.0.1:{port or self.port}", profile=profile,
                                     options=options, credentials=creds, timeout_s=timeout_s))


@contextlib.contextmanager
def serve(peers_dir: Path, tmp: Path, extra: dict[str, Records] | None = None) -> Iterator[Agent]:
    """snmpsim-command-responder on 127.0.0.1:<free UDP port> over a tmp copy of the recordings
    (plus ``extra`` ones, by community name); cache, log and writecache in tmp (option order
    per notes/snmp.md §2). Skips when snmpsim is not installed."""
    if not SNMPSIM.exists():
        pytest.skip(f"{SNMPSIM} not installed")
    if importlib.util.find_spec("pysmi") is None:  # snmpsim imports it but does not declare it
        pytest.fail("snmpsim needs pysmi: add 'pysmi' to the test extra in pyproject.toml")
    data = tmp / "data"
    shutil.copytree(peers_dir / "snmp" / "recordings", data)
    for f in data.iterdir():
        f.chmod(0o644)
    (data / "README.md").unlink(missing_ok=True)
    for name, records in (extra or {}).items():
        write_snmprec(data / f"{name}.snmprec", records)
    port = free_port(socket.SOCK_DGRAM)
    log = tmp / "snmpsim.log"
    cmd = [str(SNMPSIM),
           f"--logging-method=file:{log}", "--log-level=info",
           f"--cache-dir={tmp / 'cache'}",
           f"--variation-module-options=writecache:file:{tmp / 'writecache.db'}",
           "--v3-engine-id=auto", f"--v3-user={V3_USER['username']}",
           f"--v3-auth-key={V3_USER['auth_key']}", "--v3-auth-proto=SHA",
           f"--v3-priv-key={V3_USER['priv_key']}", "--v3-priv-proto=AES",
           f"--data-dir={data}", f"--agent-udpv4-endpoint=127.0.0.1:{port}"]
    with (tmp / "stdout.txt").open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"})
    try:
        wait_until(lambda: log.exists() and "Listening at" in log.read_text(), timeout=30,
                   what="snmpsim to listen", proc=proc)
        yield Agent(port, data)
    finally:
        stop_process(proc)
