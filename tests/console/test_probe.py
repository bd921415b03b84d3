"""``heatrack probe``: URL parsing (pure), and the command against real and dead peers."""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.probe import UsageError, probe_device, probe_once, url_to_spec
from protocols.base import Credentials, DeviceSpec, Identity, Reading, Unreachable
from protocols.demo_views import HeatControllerView
from protocols.modbus.profile import load_profile
from protocols.modbus.server import HeatControllerServer
from tests.fakes.headless import serving
from tests.support import REPO, free_port

HEATRACK = str(REPO / ".venv" / "bin" / "heatrack")


# ---------------------------------------------------------------- url_to_spec
def test_redfish_https_and_http() -> None:
    s = url_to_spec("redfish://bmc.example:8443", user="root", password="calvin", ca_file="/ca.pem")
    assert (s.protocol, s.kind, s.address, s.tls) == ("redfish", "server", "bmc.example:8443", True)
    assert s.credentials.username == "root" and s.credentials.password == "calvin"
    assert s.options == {"ca_file": "/ca.pem"}
    s = url_to_spec("redfish+http://127.0.0.1:8000", timeout=1.5)
    assert (s.tls, s.address, s.timeout_s) == (False, "127.0.0.1:8000", 1.5)
    assert url_to_spec("redfish://10.0.0.5").address == "10.0.0.5:443"
    assert url_to_spec("redfish+http://[::1]:8000").address == "[::1]:8000"


def test_snmp_v2c_community_from_url_or_env() -> None:
    s = url_to_spec("snmp://public@10.0.0.2:1161")
    assert (s.protocol, s.kind, s.address) == ("snmp", "ups", "10.0.0.2:1161")
    assert s.credentials.community == "public" and s.options == {"version": "2c"}
    s = url_to_spec("snmp://10.0.0.3?kind=pdu", password="s3cret")  # --password-env
    assert s.credentials.community == "s3cret" and s.kind == "pdu" and s.address == "10.0.0.3:161"
    assert url_to_spec("snmp://public@h:161", password="other").credentials.community == "other"
    assert "s3cret" not in repr(url_to_spec("snmp://h:161", password="s3cret"))


def test_snmpv3_user_keys_and_protocols() -> None:
    s = url_to_spec("snmpv3://heatrack@10.0.0.2:161?auth=sha256&priv=aes256", password="authkey1",
                    priv_key="privkey1")
    c = s.credentials
    assert (c.username, c.auth_key, c.priv_key) == ("heatrack", "authkey1", "privkey1")
    assert (c.auth_protocol, c.priv_protocol, s.options) == ("SHA256", "AES256", {"version": "3"})
    kr = Credentials(username="kr", auth_key="a" * 8, priv_key="p" * 8)  # --keyring
    s = url_to_spec("snmpv3://10.0.0.2:161", stored=kr)
    assert (s.credentials.username, s.credentials.auth_key, s.credentials.priv_key) == ("kr", "a" * 8, "p" * 8)
    s = url_to_spec("snmpv3://u@h:161?priv=none", password="authkey1")
    assert s.credentials.priv_key is None and s.credentials.priv_protocol == "NONE"


def test_modbus_profile_and_unit() -> None:
    s = url_to_spec("modbus://127.0.0.1:5020?profile=heatrack-default&unit=3")
    assert (s.protocol, s.kind, s.profile, s.options) == ("modbus", "heat_controller", "heatrack-default", {"unit": 3})
    s = url_to_spec("modbus://meter:502?kind=heat_meter", profile="generic-heat-meter")
    assert (s.kind, s.profile, s.options) == ("heat_meter", "generic-heat-meter", {})


def test_nvml() -> None:
    for url in ("nvml:", "nvml://", "nvml://local"):
        s = url_to_spec(url)
        assert (s.protocol, s.kind, s.address) == ("nvml", "gpu_host", "")


@pytest.mark.parametrize(("url", "kw", "needle"), [
    ("http://h:80", {}, "unknown URL"),
    ("h:80", {}, "unknown URL"),
    ("redfish://root:calvin@h:443", {}, "never put a password in the URL"),
    ("snmp://public:x@h:161", {}, "never put a password"),
    ("redfish://h:99999", {}, "(?i)port out of range"),
    ("redfish://h:0", {}, "port out of range"),
    ("redfish://:443", {}, "no host"),
    ("redfish://h:443/redfish/v1", {}, "unexpected path"),
    ("redfish://h:443?unit=1", {}, "unknown parameter 'unit'"),
    ("redfish+http://h:80", {"ca_file": "/ca.pem"}, "HTTPS"),
    ("snmp://h:161", {}, "needs a community"),
    ("snmp://public@h:161?kind=server", {}, "kind must be one of"),
    ("snmpv3://h:161", {"password": "k"}, "needs a user"),
    ("snmpv3://u@h:161", {}, "authentication key"),
    ("snmpv3://u@h:161?priv=AES", {"password": "k"}, "privacy key"),
    ("snmpv3://u@h:161?auth=CRC", {"password": "k"}, "auth=CRC"),
    ("modbus://h:502", {}, "register map"),
    ("modbus://h:502?profile=p&unit=x", {}, "unit=x"),
    ("modbus://h:502?profile=p&unit=300", {}, "0-247"),
    ("nvml://10.0.0.1", {}, "local GPUs only"),
    ("redfish://h:443", {"timeout": 0}, "--timeout"),
])
def test_usage_errors(url: str, kw: dict[str, Any], needle: str) -> None:
    with pytest.raises(UsageError, match=needle if needle.startswith("(?i)") else needle.replace("?", r"\?")):
        url_to_spec(url, **kw)


# ---------------------------------------------------------------- probe_once
def test_probe_once_times_out_and_closes() -> None:
    class Hang:
        def __init__(self, spec: DeviceSpec) -> None:
            self.spec, self.closed = spec, False

        async def poll(self) -> list[Any]:
            await asyncio.Event().wait()
            return []

        async def close(self) -> None:
            self.closed = True

    made: list[Hang] = []
    spec = url_to_spec("redfish+http://127.0.0.1:1", timeout=0.05)
    with pytest.raises(Unreachable, match="127.0.0.1:1.*within 0.05"):
        asyncio.run(probe_once(spec, lambda s: made.append(Hang(s)) or made[-1]))
    assert made[0].closed


# ---------------------------------------------------------------- the command
def run_probe(*args: str, timeout: float = 30) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    p = subprocess.run([HEATRACK, "probe", *args], capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - t0


@pytest.fixture
def mute_port() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) but never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.mark.parametrize("scheme", ["modbus", "redfish+http"])
def test_probe_unreachable_fails_within_timeout(scheme: str, mute_port: int) -> None:
    closed = free_port()
    for port, what in ((closed, "refused"), (mute_port, "silent")):
        url = f"{scheme}://127.0.0.1:{port}" + ("?profile=heatrack-default" if scheme == "modbus" else "")
        p, took = run_probe(url, "--timeout", "1.5")
        assert p.returncode == 1, (what, p.stdout, p.stderr)
        assert p.stdout == ""
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "probe" in lines[0], (what, p.stderr)
        assert took < 1.5 + 3.0, (what, took)  # the timeout, plus interpreter start-up


def test_probe_usage_errors_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    p, _ = run_probe("gopher://h:70")
    assert p.returncode == 2 and "unknown URL" in p.stderr
    monkeypatch.delenv("HEATRACK_TEST_NOPE", raising=False)
    p, _ = run_probe("redfish://h:443", "--user", "root", "--password-env", "HEATRACK_TEST_NOPE")
    assert p.returncode == 2 and "HEATRACK_TEST_NOPE is not set" in p.stderr
    p, _ = run_probe("modbus://127.0.0.1:1?profile=no-such-profile")
    assert p.returncode == 2 and "no-such-profile" in p.stderr


def test_probe_reads_modbus_server_as_json_lines() -> None:
    profile = load_profile("heatrack-default")
    points = {"supply_temp": 47.25, "return_temp": 39.5, "flow": 9.75, "pump_on": True}
    with serving(HeatControllerServer(profile, lambda: points, lambda n, v: None)) as port:
        p, _ = run_probe(f"modbus://127.0.0.1:{port}?profile=heatrack-default&unit=1", "--timeout", "3")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    if "identity" in rows[0]:  # what the device says it is comes first, one line
        assert set(rows.pop(0)) == {"device", "identity"}
    assert all(set(r) == {"ts", "device", "channel", "quantity", "value", "unit"} for r in rows)
    got = {(r["channel"], r["quantity"]): r for r in rows}
    for name, value in points.items():
        pt = profile.point(name)
        r = got[(pt.channel, pt.quantity)]
        if isinstance(value, bool):
            assert r["value"] == "on"
        else:
            assert r["value"] == pytest.approx(value, abs=pt.scale) and r["unit"] in ("°C", "L/min")
    assert abs(rows[0]["ts"] - time.time()) < 60


def test_probe_prints_the_devices_identity_first() -> None:
    view = HeatControllerView("heat1", {"supply_temp": 47.25},
                              {"model": "HR-DEMO1", "serial": "HR000042", "firmware_version": 1.02})

    class Control:
        def heat_write(self, controller_id: str, point: str, value: Any) -> None: ...

    with serving(HeatControllerServer.for_view(lambda: view, Control())) as port:  # type: ignore[arg-type]
        p, _ = run_probe(f"modbus://127.0.0.1:{port}?profile=heatrack-default", "--timeout", "3")
    assert p.returncode == 0, p.stderr
    first, *readings = (json.loads(line) for line in p.stdout.splitlines())
    assert first == {"device": "probe", "identity": {
        "manufacturer": "heatrack", "model": "HR-DEMO1", "serial": "HR000042", "firmware": "1.02",
        "extra": {"product_code": "HR-DEMO1", "product_name": "heatrack reference heat-reuse controller"}}}
    assert readings and all("quantity" in r for r in readings)


def test_probe_device_keeps_the_readings_when_identity_fails() -> None:
    class NoIdentity:
        def __init__(self, spec: DeviceSpec) -> None:
            self.spec = spec

        async def poll(self) -> list[Reading]:
            return [Reading(1.0, "probe", "supply", "temperature", 40.0, "°C")]

        async def identify(self) -> Identity:
            raise Unreachable("probe", "127.0.0.1:1", "GET /redfish/v1/Managers: HTTP 503 (BMC busy)")

        async def close(self) -> None: ...

    spec = url_to_spec("redfish+http://127.0.0.1:1", timeout=1.0)
    result = asyncio.run(probe_device(spec, NoIdentity))
    assert len(result.readings) == 1 and result.identity is None
    assert result.identity_error == "GET /redfish/v1/Managers: HTTP 503 (BMC busy)"


def test_probe_keeps_its_deadline_even_if_a_client_blocks_the_loop() -> None:
    # A (buggy) client that blocks the event loop: wait_for cannot help, the watchdog must.
    code = (
        "import sys, time, argparse\n"
        "import protocols.registry as reg\n"
        "class Blocking:\n"
        "    def __init__(self, spec): self.spec = spec\n"
        "    async def poll(self):\n"
        "        time.sleep(30)\n"
        "    async def close(self): pass\n"
        "reg.open_source = Blocking\n"
        "from console.cli import main\n"
        "sys.exit(main(['probe', 'redfish+http://127.0.0.1:9', '--timeout', '0.5']))\n"
    )
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=REPO)
    took = time.monotonic() - t0
    assert p.returncode == 1 and "127.0.0.1:9" in p.stderr and "did not return" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and took < 0.5 + 1.5 + 3.0


@pytest.mark.slow
def test_probe_pins_on_first_use_refuses_a_change_and_retrusts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import json as _json

    from console.cli import main as cli_main
    from console.demo.credentials import BMC_PASSWORD, BMC_USER
    from console.demo.runner import DemoRunner
    from console.paths import pin_store_path

    monkeypatch.setenv("HEATRACK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HR_BMC_PW", BMC_PASSWORD)
    with DemoRunner(tls=True, clock=False) as r:
        address = r.site_model().device("srv1").address
        real = r.redfish["srv1"].certificate_fingerprint
        argv = ["probe", f"redfish://{address}", "--user", BMC_USER, "--password-env", "HR_BMC_PW", "--timeout", "5"]
        assert cli_main(argv) == 0
        err = capsys.readouterr().err
        assert f"pinned certificate SHA-256 {real}" in err and "first use" in err

        pins = _json.loads(pin_store_path().read_text())
        [key] = pins
        pins[key] = "AA:" * 31 + "AA"  # as if the BMC had shown another certificate before
        pin_store_path().write_text(_json.dumps(pins))
        assert cli_main(argv) == 1
        err = capsys.readouterr().err
        assert "certificate changed" in err and f"--retrust redfish://{address}" in err

        assert cli_main([*argv, "--retrust"]) == 0
        captured = capsys.readouterr()
        assert "forgot the pinned certificate AA:AA" in captured.err and real in captured.err
        assert captured.out.count("\n") > 10  # readings printed
        assert _json.loads(pin_store_path().read_text())[key] == real
