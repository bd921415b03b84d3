"""SnmpSource against snmpsim serving real UPS/PDU recordings (../shared/peers/snmp/recordings).

Expected values are read from the .snmprec files here, with the scaling the MIBs document,
so a wrong OID, scale or quirk in a profile fails a test.
"""
from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from protocols.base import (
    ActionRefused,
    AuthFailed,
    BadData,
    Reading,
    SetOutlet,
    Source,
    Unreachable,
    UpsSelfTest,
)
from protocols.snmp.client import SnmpSource
from tests.fakes.snmpsim import Agent, Records, read_snmprec, serve, sort_key
from tests.support import free_port

pytestmark = pytest.mark.slow

UPS = "1.3.6.1.2.1.33.1."
APC_UPS = "1.3.6.1.4.1.318.1.1.1."
RPDU2 = "1.3.6.1.4.1.318.1.1.26."
RARITAN = "1.3.6.1.4.1.13742.6."
SENTRY = "1.3.6.1.4.1.1718.4.1."

PROFILE_OF = {
    "ups-ietf-eaton-93e": "ups-mib",
    "ups-ietf-santak-array3a3": "ups-mib",
    "ups-ietf-huawei-ups5000": "ups-mib",
    "ups-apc-smartups-synthetic": "apc-powernet-ups",
    "pdu-apc-ap8641": "apc-rpdu2",
    "pdu-apc-ap8641-rw": "apc-rpdu2",
    "pdu-apc-ap7902b": "apc-rpdu2",
    "pdu-raritan-px": "raritan-pdu2",
    "pdu-servertech-sentry4": "servertech-sentry4",
    "ups-liebert-vertiv": None,  # LIEBERT-GP environmental MIB only: no UPS-MIB, no profile
}
WELL_KNOWN_ALARMS = {1: "BatteryBad", 2: "OnBattery", 3: "LowBattery"}


# ---------------------------------------------------------------- recordings, parsed here
def num(records: Records, oid: str) -> int:
    typ, value = records[oid]
    if ":" in typ:  # variation module: value=N / initial=N
        args = dict(a.split("=", 1) for a in value.split(",") if "=" in a)
        value = args.get("value", args.get("initial"))
    return int(value)


def column(records: Records, col: str) -> dict[int, int]:
    """Last index part -> value, for a column with one varying index part."""
    return {int(oid.rsplit(".", 1)[1]): num(records, oid)
            for oid in records if oid.startswith(col + ".")}


# ---------------------------------------------------------------- the agent
def derive_alarm_ups(src: Records) -> Records:
    """Santak recording turned into a UPS on battery, battery low, three alarms active, runtime
    as TimeTicks minutes, and upsTestId writable (snmpsim writecache)."""
    rec = dict(src)
    rec[UPS + "4.1.0"] = ("2", "5")  # upsOutputSource battery
    rec[UPS + "2.1.0"] = ("2", "3")  # upsBatteryStatus batteryLow
    rec[UPS + "2.3.0"] = ("67", "45")  # minutes, typed TimeTicks like the real Santak
    rec[UPS + "6.1.0"] = ("66", "3")
    for row, alarm in enumerate((2, 3, 1), start=1):
        rec[f"{UPS}6.2.1.1.{row}"] = ("2", str(row))
        rec[f"{UPS}6.2.1.2.{row}"] = ("6", f"{UPS}6.3.{alarm}")
        rec[f"{UPS}6.2.1.3.{row}"] = ("67", "0")
    rec[UPS + "7.1.0"] = ("6:writecache", f"value={UPS}7.7.1")
    return rec


@pytest.fixture(scope="session")
def snmpsim(peers_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """snmpsim over the recordings, plus a derived UPS with active alarms (ups-test-alarms)."""
    santak = read_snmprec(peers_dir / "snmp" / "recordings" / "ups-ietf-santak-array3a3.snmprec")
    with serve(peers_dir, tmp_path_factory.mktemp("snmpsim"), {"ups-test-alarms": derive_alarm_ups(santak)}) as agent:
        yield agent


def run(coro_fn: Callable[[], Any]) -> Any:
    return asyncio.run(coro_fn())


def poll(source: SnmpSource) -> list[Reading]:
    async def go() -> list[Reading]:
        try:
            return await source.poll()
        finally:
            await source.close()
    return run(go)


def values(readings: list[Reading]) -> dict[str, Any]:
    return {f"{r.channel}/{r.quantity}": r.value for r in readings if r.quantity != "alarm"}


# ---------------------------------------------------------------- expectations from the files
def expect_ups_mib(rec: Records, name: str) -> dict[str, Any]:
    # Huawei UPS5000 sends input/output voltage, output current and frequency in 0.1 units
    # (Gauge32) and -1 for what it does not know (notes/snmp.md §6).
    huawei = name == "ups-ietf-huawei-ups5000"
    volt = 0.1 if huawei else 1.0
    charge = num(rec, UPS + "2.4.0")
    minutes = num(rec, UPS + "2.3.0")
    out_power = column(rec, UPS + "4.4.1.4")
    exp: dict[str, Any] = {
        "ups/state": {3: "online", 4: "bypass", 5: "on_battery"}[num(rec, UPS + "4.1.0")],
        "battery/state": {2: "normal", 3: "low_battery"}[num(rec, UPS + "2.1.0")],
        "battery/charge": None if charge == -1 else charge,
        "battery/runtime": None if minutes == -1 else minutes * 60,
        "battery/voltage": num(rec, UPS + "2.5.0") * 0.1,
        "output/power": sum(out_power.values()),
        "alarms/count": 0,
        "battery_health/state": "ok",
    }
    for line, v in column(rec, UPS + "3.3.1.3").items():
        exp[f"input{line}/voltage"] = v * volt
    for line, v in column(rec, UPS + "4.4.1.2").items():
        exp[f"output{line}/voltage"] = v * volt
    for line, v in column(rec, UPS + "4.4.1.3").items():
        exp[f"output{line}/current"] = v * 0.1
    for line, v in out_power.items():
        exp[f"output{line}/power"] = v
    for line, v in column(rec, UPS + "4.4.1.5").items():
        exp[f"output{line}/load"] = v
    return exp


def expect_apc_ups(rec: Records, name: str) -> dict[str, Any]:
    return {
        "ups/state": {2: "online", 3: "on_battery"}[num(rec, APC_UPS + "4.1.1.0")],
        "battery/state": {2: "normal", 3: "low_battery"}[num(rec, APC_UPS + "2.1.1.0")],
        "battery_health/state": {1: "ok", 2: "replace"}[num(rec, APC_UPS + "2.2.4.0")],
        "battery/charge": num(rec, APC_UPS + "2.3.1.0") * 0.1,  # high precision, 0.1 %
        "battery/runtime": num(rec, APC_UPS + "2.2.3.0") / 100,  # TimeTicks
        "battery/temperature": num(rec, APC_UPS + "2.3.2.0") * 0.1,
        "input/voltage": num(rec, APC_UPS + "3.3.1.0") * 0.1,
        "output/voltage": num(rec, APC_UPS + "4.3.1.0") * 0.1,
        "output/load": num(rec, APC_UPS + "4.3.3.0") * 0.1,
        "output/power": num(rec, APC_UPS + "4.2.8.0"),
        "self_test/state": {1: "pass", 2: "fail"}[num(rec, APC_UPS + "7.2.3.0")],
        "alarms/count": 0,
    }


def expect_rpdu2(rec: Records, name: str) -> dict[str, Any]:
    def scaled(oid: str, scale: float) -> float | None:
        v = num(rec, oid)
        return None if v == -1 else v * scale
    exp: dict[str, Any] = {
        "total/power": scaled(RPDU2 + "4.3.1.5.1", 10),  # 0.01 kW
        "total/energy": scaled(RPDU2 + "4.3.1.9.1", 0.1),  # 0.1 kWh
        "phase1/current": scaled(RPDU2 + "6.3.1.5.1", 0.1),
        "phase1/voltage": scaled(RPDU2 + "6.3.1.6.1", 1),
    }
    for n, v in column(rec, RPDU2 + "9.4.3.1.7").items():
        exp[f"outlet{n}/power"] = v
    for n, v in column(rec, RPDU2 + "9.4.3.1.6").items():
        exp[f"outlet{n}/current"] = v * 0.1
    for n, v in column(rec, RPDU2 + "9.4.3.1.11").items():
        exp[f"outlet{n}/energy"] = v * 0.1
    return exp


def expect_raritan(rec: Records, name: str) -> dict[str, Any]:
    def sensor(table: str, digits: str, idx: str) -> float:
        return num(rec, f"{RARITAN}{table}.{idx}") / 10 ** num(rec, f"{RARITAN}{digits}.{idx}")
    exp = {"total/current": sensor("5.2.3.1.4", "3.3.4.1.7", "1.1.1"),
           "total/voltage": sensor("5.2.3.1.4", "3.3.4.1.7", "1.1.4"),
           "total/power": sensor("5.2.3.1.4", "3.3.4.1.7", "1.1.5"),
           "total/frequency": sensor("5.2.3.1.4", "3.3.4.1.7", "1.1.23")}
    for outlet in range(1, 13):
        exp[f"outlet{outlet}/current"] = sensor("5.4.3.1.4", "3.5.4.1.7", f"1.{outlet}.1")
        exp[f"outlet{outlet}/power"] = sensor("5.4.3.1.4", "3.5.4.1.7", f"1.{outlet}.5")
    return exp


def expect_sentry4(rec: Records, name: str) -> dict[str, Any]:
    exp = {"total/power": num(rec, SENTRY + "3.3.1.3.1.1"),
           "total/apparent_power": num(rec, SENTRY + "3.3.1.5.1.1"),
           "total/energy": num(rec, SENTRY + "3.3.1.10.1.1") * 0.1,
           "total/frequency": num(rec, SENTRY + "3.3.1.11.1.1") * 0.1}
    for p, v in column(rec, SENTRY + "5.3.1.3").items():
        exp[f"phase{p}/voltage"] = v * 0.1
    for p, v in column(rec, SENTRY + "5.3.1.8").items():
        exp[f"phase{p}/power"] = v
    for line, v in column(rec, SENTRY + "4.3.1.3").items():
        exp[f"line{line}/current"] = v * 0.01
    return exp


EXPECT = {"ups-mib": expect_ups_mib, "apc-powernet-ups": expect_apc_ups, "apc-rpdu2": expect_rpdu2,
          "raritan-pdu2": expect_raritan, "servertech-sentry4": expect_sentry4}


def assert_matches(got: dict[str, Any], exp: dict[str, Any]) -> None:
    assert exp, "no expectations"
    for key, want in exp.items():
        assert key in got, f"missing {key}"
        if want is None or isinstance(want, str):
            assert got[key] == want, key
        else:
            assert got[key] == pytest.approx(want), key


# ---------------------------------------------------------------- tests
def test_snmp_source_satisfies_the_source_protocol(snmpsim: Agent) -> None:
    assert isinstance(snmpsim.source("pdu-apc-ap8641"), Source)


@pytest.mark.parametrize("name", sorted(PROFILE_OF))
def test_every_recording_over_v2c(snmpsim: Agent, name: str) -> None:
    src = snmpsim.source(name)
    rec = snmpsim.records(name)
    if PROFILE_OF[name] is None:
        with pytest.raises(BadData, match=r"no supported UPS/PDU MIB .*1\.3\.6\.1\.4\.1\.476") as err:
            poll(src)
        assert err.value.device_id == name and err.value.address == f"127.0.0.1:{snmpsim.port}"
        return
    readings = poll(src)
    assert src.profile is not None and src.profile.name == PROFILE_OF[name]
    assert src.identity["sys_object_id"] == rec["1.3.6.1.2.1.1.2.0"][1]
    assert all(r.device_id == name and r.unit == r.unit.strip() for r in readings)
    assert len({r.series_key for r in readings if r.quantity != "alarm"}) == \
        len([r for r in readings if r.quantity != "alarm"]), "duplicate series"
    assert_matches(values(readings), EXPECT[src.profile.name](rec, name))


@pytest.mark.parametrize("name,count", [("pdu-apc-ap8641", 24), ("pdu-apc-ap7902b", 16)])
def test_apc_outlets_state_and_metering_where_metered(snmpsim: Agent, name: str, count: int) -> None:
    rec = snmpsim.records(name)
    got = values(poll(snmpsim.source(name)))
    states = {k: v for k, v in got.items() if k.endswith("/state") and k.startswith("outlet")}
    assert len(states) == len(column(rec, RPDU2 + "9.2.3.1.5")) == count
    assert set(states.values()) <= {"on", "off"}  # the recording animates these (numeric)
    metered = [k for k in got if k.startswith("outlet") and k.endswith("/power")]
    assert len(metered) == len(column(rec, RPDU2 + "9.4.3.1.7"))  # AP7902B: none


def test_ups_on_battery_with_active_alarms(snmpsim: Agent) -> None:
    rec = snmpsim.records("ups-test-alarms")
    readings = poll(snmpsim.source("ups-test-alarms"))
    got = values(readings)
    assert got["ups/state"] == "on_battery"
    assert got["battery/state"] == "low_battery"
    assert got["battery/runtime"] == num(rec, UPS + "2.3.0") * 60  # TimeTicks carrying minutes
    want = [WELL_KNOWN_ALARMS[int(rec[o][1].rsplit(".", 1)[1])]
            for o in sorted((o for o in rec if o.startswith(UPS + "6.2.1.2.")), key=sort_key)]
    assert [r.value for r in readings if r.quantity == "alarm"] == want
    assert got["alarms/count"] == len(want)
    assert got["battery_health/state"] == "replace"  # BatteryBad is among them


@pytest.mark.parametrize("name", ["pdu-apc-ap8641", "ups-ietf-eaton-93e", "pdu-raritan-px",
                                  "ups-apc-smartups-synthetic"])
def test_v3_authpriv_reads_what_v2c_reads(snmpsim: Agent, name: str) -> None:
    def steady(readings: list[Reading]) -> dict[str, Any]:
        return {k: v for k, v in values(readings).items()
                if not (k.startswith("outlet") and k.endswith("/state"))}  # animated by snmpsim
    v3 = snmpsim.source(name, v3=True)
    assert v3.version == "3"
    got = steady(poll(v3))
    assert got == steady(poll(snmpsim.source(name)))
    assert v3.profile is not None and v3.profile.name == PROFILE_OF[name]


@pytest.mark.parametrize("override", [{"auth_key": "wrongpass123"}, {"priv_key": "wrongpass123"},
                                      {"username": "nobody"}])
def test_wrong_v3_credentials_are_auth_failed(snmpsim: Agent, override: dict[str, str]) -> None:
    with pytest.raises(AuthFailed) as err:
        poll(snmpsim.source("pdu-apc-ap8641", v3=True, **override))
    assert err.value.device_id == "pdu-apc-ap8641" and str(snmpsim.port) in str(err.value)


def test_outlet_control_with_readback(snmpsim: Agent) -> None:
    name = "pdu-apc-ap8641-rw"
    rec = snmpsim.records(name)
    control = RPDU2 + "9.2.4.1.5"
    outlets = sorted(column(rec, control))
    src = snmpsim.source(name)

    async def go() -> list[Any]:
        try:
            results = []
            for outlet in (outlets[0], outlets[-1]):
                off = await src.perform(SetOutlet(outlet, "off"))
                after_off = (await src.get([f"{control}.{outlet}"]))[f"{control}.{outlet}"]
                on = await src.perform(SetOutlet(outlet, "on"))
                after_on = (await src.get([f"{control}.{outlet}"]))[f"{control}.{outlet}"]
                results.append((outlet, off, after_off, on, after_on))
            reboot = await src.perform(SetOutlet(outlets[1], "cycle"))
            await src.perform(SetOutlet(outlets[1], "on"))
            return [results, reboot]
        finally:
            await src.close()

    results, reboot = run(go)
    for outlet, off, after_off, on, after_on in results:
        assert (off.ok, off.action, off.target, off.requested, off.readback) == \
            (True, "outlet_off", f"outlet{outlet}", "off", "off")
        assert after_off == 2  # rPDU2 immediateOff, read back from the agent
        assert (on.ok, on.readback, after_on) == (True, "on", 1)
    assert reboot.ok and "pending" in reboot.message  # immediateReboot: accepted, in progress


def test_outlet_control_refusals(snmpsim: Agent) -> None:
    rec = snmpsim.records("pdu-apc-ap8641-rw")
    missing = max(column(rec, RPDU2 + "9.2.4.1.5")) + 1

    async def refused(src: SnmpSource, outlet: int, command: str) -> str:
        try:
            await src.perform(SetOutlet(outlet, command))
        except ActionRefused as exc:
            return str(exc)
        finally:
            await src.close()
        raise AssertionError("not refused")

    assert "does not exist" in run(lambda: refused(snmpsim.source("pdu-apc-ap8641-rw"), missing, "off"))
    assert "on, off, cycle" in run(lambda: refused(snmpsim.source("pdu-apc-ap8641-rw"), 1, "explode"))
    # the plain recording is read-only: snmpsim answers noSuchInstance with error-status 0
    assert "not writable" in run(lambda: refused(snmpsim.source("pdu-apc-ap8641"), 1, "off"))
    # Raritan PX1 in the recording has no outletSwitchingState: not a switched model
    assert "does not exist" in run(lambda: refused(snmpsim.source("pdu-raritan-px"), 1, "off"))


def test_self_test_ups_mib_and_apc(snmpsim: Agent) -> None:
    async def go(src: SnmpSource) -> Any:
        try:
            return await src.perform(UpsSelfTest())
        finally:
            await src.close()

    ietf = run(lambda: go(snmpsim.source("ups-test-alarms")))
    assert (ietf.ok, ietf.action, ietf.readback) == (True, "ups_self_test", UPS + "7.7.3")
    apc = run(lambda: go(snmpsim.source("ups-apc-smartups-synthetic")))
    rec = snmpsim.records("ups-apc-smartups-synthetic")
    assert apc.ok and apc.readback == {1: "pass", 2: "fail", 4: "in_progress"}[num(rec, APC_UPS + "7.2.3.0")]
    with pytest.raises(ActionRefused, match="not writable"):
        run(lambda: go(snmpsim.source("ups-ietf-santak-array3a3")))
    with pytest.raises(ActionRefused, match="not supported by profile apc-rpdu2"):
        run(lambda: go(snmpsim.source("pdu-apc-ap8641")))


def test_forced_profile_skips_detection(snmpsim: Agent) -> None:
    src = snmpsim.source("ups-ietf-eaton-93e", profile="ups-mib")
    got = values(poll(src))
    assert got["battery/charge"] == num(snmpsim.records("ups-ietf-eaton-93e"), UPS + "2.4.0")
    with pytest.raises(ValueError, match="unknown SNMP profile"):
        snmpsim.source("ups-ietf-eaton-93e", profile="no-such-profile")


def test_unknown_community_is_unreachable_within_the_timeout(snmpsim: Agent) -> None:
    src = snmpsim.source("ups-ietf-eaton-93e", community="not-a-recording", timeout_s=1.0)
    start = time.monotonic()
    with pytest.raises(Unreachable, match=r"no SNMP response within 1\.0 s") as err:
        poll(src)
    assert time.monotonic() - start < 2.5
    assert f"127.0.0.1:{snmpsim.port}" in str(err.value) and "ups-ietf-eaton-93e" in str(err.value)


def test_closed_port_is_unreachable_within_the_timeout(snmpsim: Agent) -> None:
    port = free_port(socket.SOCK_DGRAM)  # nothing listens there
    src = snmpsim.source("pdu-apc-ap8641", port=port, timeout_s=1.0)
    start = time.monotonic()
    with pytest.raises(Unreachable) as err:
        poll(src)
    assert time.monotonic() - start < 2.5
    assert err.value.address == f"127.0.0.1:{port}" and "within 1.0 s" in err.value.what


def test_second_poll_is_fast_and_detection_is_cached(snmpsim: Agent) -> None:
    src = snmpsim.source("pdu-apc-ap8641")

    async def go() -> tuple[float, int, int]:
        try:
            first = await src.poll()
            start = time.perf_counter()
            second = await src.poll()
            return time.perf_counter() - start, len(first), len(second)
        finally:
            await src.close()

    elapsed, n1, n2 = run(go)
    assert n1 == n2
    assert elapsed < 1.0  # 24 outlets x 4 columns + totals, bulk-walked

