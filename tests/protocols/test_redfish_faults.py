"""RedfishSource against misbehaving or absent BMCs: a tiny local HTTP service that can do
sessions, refuse credentials, send garbage, lose resources and store PATCHes."""
from __future__ import annotations

import asyncio
import json
import select
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocols.base import (
    Action,
    ActionRefused,
    AuthFailed,
    BadData,
    CertificateChanged,
    DeviceSpec,
    Reading,
    SetOutlet,
    SetPowerLimit,
    SetPump,
    SetSetpoint,
    SetValve,
    Unreachable,
    UpsSelfTest,
)
from protocols.redfish import parse
from protocols.redfish.client import RedfishSource
from tests.fakes.bmc import CONTROL, POWER, SESSIONS, FakeBmc, poll, self_signed, spec, tree, values
from tests.support import free_port


@pytest.fixture
def bmc_factory() -> Iterator[Any]:
    made: list[FakeBmc] = []

    def make(resources: dict[str, Any] | None = None, **kw: Any) -> FakeBmc:
        made.append(FakeBmc(tree() if resources is None else resources, **kw))
        return made[-1]

    yield make
    for b in made:
        b.close()



# ---------------------------------------------------------------- dead BMCs
def test_closed_port_fails_fast_naming_device_and_address() -> None:
    address = f"127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(Unreachable) as err:
        poll(spec(address, timeout_s=2.0))
    assert time.monotonic() - t0 < 1.0  # refused at once: no 1 s retry sleeps
    assert "srv9" in str(err.value) and address in str(err.value)


@pytest.mark.parametrize("tls", [False, True])
def test_blackhole_fails_within_the_timeout(tls: bool) -> None:
    """A port that accepts TCP but never answers (hung BMC web server)."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)
        address = f"127.0.0.1:{hole.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(Unreachable) as err:
            poll(spec(address, timeout_s=0.5, tls=tls))
        elapsed = time.monotonic() - t0
    assert 0.4 < elapsed < 1.5, elapsed
    assert address in str(err.value)


# ---------------------------------------------------------------- garbage
def test_malformed_service_root_is_bad_data(bmc_factory: Any) -> None:
    bmc = bmc_factory({"/redfish/v1": '{"Chassis": {"@odata.id": '})
    with pytest.raises(BadData, match="invalid JSON"):
        poll(spec(bmc.address, password=""))


def test_malformed_resource_is_bad_data_naming_it(bmc_factory: Any) -> None:
    res = tree()
    res[POWER] = "Power: 250 W"  # not JSON at all
    bmc = bmc_factory(res, password="secret")
    with pytest.raises(BadData, match=POWER):
        poll(spec(bmc.address))


def test_non_numeric_reading_is_bad_data(bmc_factory: Any) -> None:
    res = tree()
    res[POWER]["PowerControl"][0]["PowerConsumedWatts"] = "lots"
    bmc = bmc_factory(res)
    with pytest.raises(BadData, match="PowerConsumedWatts"):
        poll(spec(bmc.address))


def test_dangling_links_and_vanished_resources_are_tolerated(bmc_factory: Any) -> None:
    res = tree()
    res["/redfish/v1/Chassis/1"]["Thermal"] = {"@odata.id": "/redfish/v1/Chassis/1/Thermal"}  # 404
    res["/redfish/v1/Chassis/1"]["ThermalSubsystem"] = {"@odata.id": "/nowhere"}  # 404
    res["/redfish/v1/Chassis"]["Members"].append({"@odata.id": "/redfish/v1/Chassis/ghost"})
    bmc = bmc_factory(res)
    setpoint = res[CONTROL]["SetPoint"]

    async def go() -> tuple[list[Reading], list[Reading]]:
        src = RedfishSource(spec(bmc.address))
        try:
            first = await src.poll()
            del bmc.resources[CONTROL]  # pulled after discovery
            return first, await src.poll()
        finally:
            await src.close()

    first, second = asyncio.run(go())
    assert values(first)["chassis", "power_limit"] == setpoint
    assert values(second)["chassis", "power_limit"] is None  # Control gone: no value, series kept
    assert values(second)["chassis", "power"] == res[POWER]["PowerControl"][0]["PowerConsumedWatts"]


# ---------------------------------------------------------------- authentication
def test_session_is_reused_and_logged_out(bmc_factory: Any) -> None:
    bmc = bmc_factory(password="secret")
    src, readings = poll(spec(bmc.address), times=3)
    assert src.auth_mode == "session"
    assert len(bmc.calls("POST", SESSIONS)) == 1
    gets = [c for c in bmc.calls("GET") if c[1] != "/redfish/v1"]
    assert gets and all("X-Auth-Token" in c[2] for c in gets)
    assert "Authorization" not in gets[0][2]
    assert [c[1] for c in bmc.calls("DELETE")] == [f"{SESSIONS}/1"] and bmc.tokens == {}
    assert values(readings)["psu1", "power"] == tree()[POWER]["PowerSupplies"][0]["PowerInputWatts"]


def test_expired_session_logs_in_again(bmc_factory: Any) -> None:
    bmc = bmc_factory(password="secret")

    async def go() -> list[Reading]:
        src = RedfishSource(spec(bmc.address))
        try:
            await src.poll()
            bmc.tokens.clear()  # the BMC forgot our session
            return await src.poll()
        finally:
            await src.close()

    assert values(asyncio.run(go()))["chassis", "power"] == 250
    assert len(bmc.calls("POST", SESSIONS)) == 2


def test_no_session_service_falls_back_to_basic(bmc_factory: Any) -> None:
    bmc = bmc_factory(password="secret", sessions=False)
    src, readings = poll(spec(bmc.address))
    assert src.auth_mode == "basic" and readings
    assert not bmc.calls("DELETE")


@pytest.mark.parametrize("auth", ["session", "basic"])
def test_wrong_password_is_auth_failed(bmc_factory: Any, auth: str) -> None:
    bmc = bmc_factory(password="secret")
    with pytest.raises(AuthFailed) as err:
        poll(spec(bmc.address, password="wrong", auth=auth))
    assert "srv9" in str(err.value) and "401" in str(err.value)


def test_redirects_are_not_followed_with_credentials(bmc_factory: Any) -> None:
    """A BMC (or whatever answers at its address) that redirects the session login or a
    resource elsewhere must not get the password or the session token sent there: that would
    bypass the pinned certificate (https -> http, or another host)."""
    elsewhere = bmc_factory()
    bmc = bmc_factory(password="secret")
    bmc.overrides[SESSIONS] = (307, {"Location": f"http://{elsewhere.address}{SESSIONS}"})
    with pytest.raises(BadData, match="redirect") as err:
        poll(spec(bmc.address))
    assert "srv9" in str(err.value) and elsewhere.address in str(err.value)
    assert elsewhere.log == [], "the login was replayed to another address"

    bmc.overrides.clear()
    bmc.overrides[POWER] = (302, {"Location": f"http://{elsewhere.address}{POWER}"})
    with pytest.raises(BadData, match="redirect"):
        poll(spec(bmc.address))
    assert elsewhere.log == [], "the session token was sent to another address"


def test_busy_bmc_during_discovery_is_retried_not_forgotten(bmc_factory: Any) -> None:
    """HTTP 503 (iDRAC: too many sessions, web server busy) on a resource during discovery is
    "try later", not "this resource does not exist": the power readings must come back."""
    bmc = bmc_factory(password="secret")
    bmc.overrides[POWER] = (503, {"Retry-After": "7"})

    async def go() -> list[Reading]:
        src = RedfishSource(spec(bmc.address))
        try:
            with pytest.raises(Unreachable, match="503") as err:
                await src.poll()
            assert "7 s" in str(err.value)
            bmc.overrides.clear()
            return await src.poll()
        finally:
            await src.close()

    readings = asyncio.run(go())
    assert values(readings)["chassis", "power"] == tree()[POWER]["PowerControl"][0]["PowerConsumedWatts"]


class ConnectProxy:
    """An HTTP CONNECT proxy that tunnels every request to ``target`` whatever was asked: what
    a TLS-intercepting proxy (or a hijacked one) looks like to the client."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.tunnels = 0
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                proxy.tunnels += 1
                with socket.create_connection(target, timeout=5) as up:
                    self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    socks = [self.request, up]
                    while True:
                        ready, _, _ = select.select(socks, [], [], 5)
                        if not ready:
                            return
                        for s in ready:
                            data = s.recv(65536)
                            if not data:
                                return
                            (up if s is self.request else self.request).sendall(data)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_pinned_certificate_is_checked_through_an_https_proxy(
        bmc_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """requests routes HTTPS through $HTTPS_PROXY with a second connection pool: the pin must
    hold there too, or an intercepting proxy reads the password and feeds us its data."""

    genuine = bmc_factory(password="secret", tls=self_signed(tmp_path, "genuine")[:2])
    impostor = bmc_factory(tls=self_signed(tmp_path, "impostor")[:2])
    proxy = ConnectProxy(("127.0.0.1", impostor.server.server_address[1]))
    try:
        for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("https_proxy", proxy.url)
        with pytest.raises(CertificateChanged):
            poll(spec(genuine.address, tls=True))  # pins the genuine one directly, then the proxy
        assert proxy.tunnels >= 1, "the test proxy was not used"
        assert impostor.log == [], "requests went to the impostor behind the proxy"
    finally:
        proxy.close()
    honest = ConnectProxy(("127.0.0.1", genuine.server.server_address[1]))
    try:
        monkeypatch.setenv("HTTPS_PROXY", honest.url)
        monkeypatch.setenv("https_proxy", honest.url)
        _, readings = poll(spec(genuine.address, tls=True))  # a proxy that only tunnels still works
        assert honest.tunnels >= 1
        assert values(readings)["chassis", "power"] == tree()[POWER]["PowerControl"][0]["PowerConsumedWatts"]
    finally:
        honest.close()


# ---------------------------------------------------------------- actions
def test_power_limit_written_via_control_and_read_back(bmc_factory: Any) -> None:
    bmc = bmc_factory(etag='W/"7"')

    async def go() -> Any:
        src = RedfishSource(spec(bmc.address))
        try:
            ok = await src.perform(SetPowerLimit(350))
            with pytest.raises(ActionRefused, match="outside"):
                await src.perform(SetPowerLimit(50))
            return ok, await src.poll()
        finally:
            await src.close()

    result, readings = asyncio.run(go())
    assert result.ok and result.readback == 350 and result.requested == 350
    patch = bmc.calls("PATCH", CONTROL)
    assert len(patch) == 1 and json.loads(patch[0][3]) == {"SetPoint": 350.0}
    assert patch[0][2].get("If-Match") == 'W/"7"'
    assert values(readings)["chassis", "power_limit"] == 350


@pytest.mark.parametrize("action, why", [
    (SetValve(40), "takes only a chassis power limit"), (SetPump(True), "takes only a chassis power limit"),
    (SetOutlet(2, "off"), "takes only a chassis power limit"), (UpsSelfTest(), "takes only a chassis"),
    (SetSetpoint("supply_setpoint", 50), "takes only a chassis power limit"),
    (SetPowerLimit(250, gpu=0), "through NVML"),
    (SetPowerLimit(float("nan")), "finite number of watts"), (SetPowerLimit(-5), "finite number of watts"),
    (SetPowerLimit("300"), "finite number of watts"), ("set_power_limit", "not one of the actions"),
])
def test_a_bmc_refuses_what_it_does_not_do_and_sends_nothing(bmc_factory: Any, action: Action, why: str) -> None:
    bmc = bmc_factory()
    src = RedfishSource(spec(bmc.address))
    with pytest.raises(ActionRefused, match=why) as info:
        asyncio.run(src.perform(action))
    name = action.describe() if isinstance(action, Action) else "a str"
    assert str(info.value).startswith(f"{src.spec.id} ({bmc.address}): {name}")
    assert bmc.log == []  # not a single request


def test_power_limit_via_legacy_power_when_no_control(bmc_factory: Any) -> None:
    res = tree()
    del res["/redfish/v1/Chassis/1"]["Controls"]
    bmc = bmc_factory(res)

    async def go() -> Any:
        src = RedfishSource(spec(bmc.address))
        try:
            return await src.perform(SetPowerLimit(321))
        finally:
            await src.close()

    result = asyncio.run(go())
    assert result.ok and res[POWER]["PowerControl"][0]["PowerLimit"]["LimitInWatts"] == 321


# ---------------------------------------------------------------- parsing
@pytest.mark.parametrize(("text", "channel"), [
    ("CPU1 Temp", "cpu1"), ("CPUTemp1", "cpu1"), ("DIMM2Temp", "dimm2"), ("PS1InputPower", "psu1"),
    ("PS2Energy", "psu2"), ("PS1OutputPower", "psu1_out"), ("TotalPower", "chassis"),
    ("AmbientTemp", "ambient"), ("Battery1Temp", "battery1"),
])
def test_channel_names_are_short_and_stable(text: str, channel: str) -> None:
    assert parse.channel_name(text) == channel


@pytest.mark.parametrize(("text", "channel"), [
    ("Fan 1", "fan1"), ("Fan1", "fan1"), ("Bay1", "fan_bay1"), ("CPU1", "fan_cpu1"),
    ("BaseBoard System Fan", "fan_base_board_system"),
])
def test_fan_channels_match_across_models(text: str, channel: str) -> None:
    assert parse.fan_channel(text) == channel


def test_number_accepts_numbers_and_numeric_strings_only() -> None:
    assert parse.number("103", "x") == 103.0 and parse.number(None, "x") is None
    for bad in (True, "n/a", {"Reading": 1}):
        with pytest.raises(parse.BadValue):
            parse.number(bad, "x")



def test_dripping_bmc_holds_at_most_one_worker_thread() -> None:
    """A BMC that sends a byte now and then never trips the per-recv timeout. Each poll must fail
    within its deadline instead of parking worker after worker."""
    import socket
    import threading

    from protocols.base import Unreachable
    from protocols.redfish.client import RedfishSource

    stop = threading.Event()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]

    def drip() -> None:
        conns = []
        srv.settimeout(0.05)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass
            for c in conns:
                try:
                    c.sendall(b" ")
                except OSError:
                    pass
            stop.wait(0.1)
        for c in conns:
            c.close()

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    src = RedfishSource(DeviceSpec("srv9", "server", "redfish", f"127.0.0.1:{port}", timeout_s=0.5))
    loop = asyncio.new_event_loop()  # one loop, as in the engine (asyncio.run would wait for the worker)
    try:
        # The request deadline (timeout_s) ends the poll before the engine's bound would.
        with pytest.raises(Unreachable, match="no complete answer within 0.5 s"):
            loop.run_until_complete(asyncio.wait_for(src.poll(), 1.5))  # the engine's bound on a poll
        start = time.monotonic()
        # The abandoned worker was aborted; if it is still winding down, this poll says so
        # rather than queue behind it; either way it ends within the request deadline.
        with pytest.raises(Unreachable, match="previous request has not returned|no complete answer within 0.5 s"):
            loop.run_until_complete(src.poll())
        assert time.monotonic() - start < 2.0
    finally:
        stop.set()
        t.join(5)
        srv.close()
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
