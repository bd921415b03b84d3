"""Helpers shared by tests: free ports, waiting on conditions (never bare sleeps), peers."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("HEATRACK_PEERS", REPO.parent / "shared" / "peers"))


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """An unused loopback port (TCP by default; socket.SOCK_DGRAM for UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond: Callable[[], object], timeout: float = 10.0, what: str = "condition",
               proc: subprocess.Popen | None = None) -> object:
    """Poll ``cond`` until it returns a truthy value; fail with ``what`` after ``timeout``.
    If ``proc`` dies meanwhile, fail at once with its output."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"{what}: process exited with {proc.returncode}: {out!r}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop a peer we started: SIGTERM, then SIGKILL after ``grace`` seconds; close its pipe."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout:
        proc.stdout.close()


def udp_sockets() -> dict[int, str]:
    """Local port -> local address of this machine's IPv4 UDP sockets (/proc/net/udp)."""
    out: dict[int, str] = {}
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        addr, port = line.split()[1].split(":")
        out[int(port, 16)] = socket.inet_ntoa(bytes.fromhex(addr)[::-1])
    return out
