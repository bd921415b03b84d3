"""Wall time and peak RSS of `heatrack log` / `heatrack probe` against a hostile Redfish BMC
(issue 7, item 3; the numbers are in docs/protocols.md). One run per invocation, because the
peak RSS of waited-for children is a process-wide maximum:

    .venv/bin/python benchmarks/hostile_bmc.py drip log          # --duration 10s
    .venv/bin/python benchmarks/hostile_bmc.py endless-chunked probe
    .venv/bin/python benchmarks/hostile_bmc.py drip log-sigterm  # SIGTERM after 4 s

MODE: endless-chunked | endless-close | drip | drip-headers. Everything on 127.0.0.1; a run
still going after CAP seconds (default 150) is killed and reported as such.
"""
from __future__ import annotations

import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.console.test_engine_engine import site_toml  # noqa: E402
from tests.hostile_http import HostileServer  # noqa: E402

BEHAVIOURS = {
    "endless-chunked": ("endless", True),
    "endless-close": ("endless", False),
    "drip": ("drip", 0.5, False),
    "drip-headers": ("drip", 0.5, True),
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in BEHAVIOURS or argv[1] not in ("log", "probe", "log-sigterm"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, cmd = argv[0], argv[1]
    cap = float(argv[2]) if len(argv) > 2 else 150.0
    srv = HostileServer(lambda method, path: BEHAVIOURS[mode])
    d = Path(tempfile.mkdtemp(prefix="hostile-bmc-"))
    site = d / "site.toml"
    site.write_text(site_toml([
        f'[[devices]]\nid = "srv1"\nkind = "server"\nprotocol = "redfish"\naddress = "{srv.address}"\n'
        'poll_interval = "10s"\ntimeout = "3s"\n',
        '[[devices]]\nid = "heat1"\nkind = "heat_controller"\nprotocol = "modbus"\naddress = "127.0.0.1:1"\n'
        'profile = "heatrack-default"\n']), encoding="utf-8")
    heatrack = [sys.executable, "-m", "console.cli"]
    if cmd.startswith("log"):
        args = [*heatrack, "log", "--site", str(site), "--db", str(d / "log.db")]
        if cmd == "log":
            args += ["--duration", "10s"]
    else:
        args = [*heatrack, "probe", f"redfish+http://{srv.address}", "--timeout", "3"]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    signalled = None
    try:
        if cmd == "log-sigterm":
            try:
                p.wait(4.0)
            except subprocess.TimeoutExpired:
                signalled = time.monotonic()
                p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=cap)
        outcome = f"rc={p.returncode}"
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        outcome = f"still running after {cap:g} s: killed"
    ended = time.monotonic()
    took = ended - t0
    srv.close()
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    after = f", {ended - signalled:.1f} s after SIGTERM" if signalled else ""
    print(f"{mode} {cmd}: {outcome}, wall {took:.1f} s{after}, peak RSS {rss_mb:.0f} MB, "
          f"server sent {srv.bytes_sent} bytes")
    last = [line for line in err.splitlines() if line.startswith("heatrack")]
    if last:
        print("  " + last[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
