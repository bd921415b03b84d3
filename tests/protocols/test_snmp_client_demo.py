"""SnmpSource against the demo site's own agent (protocols/snmp/agent.py): what the demo model
puts in its views comes back, in canonical units, through the profiles the real devices use."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from protocols.base import (
    Action,
    ActionRefused,
    Credentials,
    DeviceSpec,
    Reading,
    SetBypass,
    SetOutlet,
    SetPowerLimit,
    SetPump,
    SetSetpoint,
    SetValve,
    Source,
    UpsSelfTest,
)
from protocols.snmp.agent import DemoSnmpAgent
from protocols.snmp.client import SnmpSource
from tests.fakes.demo_views import AUTH, PRIV, RO, RW, USER, ViewSite, demo_views


@pytest.fixture
def site() -> ViewSite:
    return demo_views()


@pytest.fixture
def ups_port(site: ViewSite) -> Iterator[int]:
    with DemoSnmpAgent(site.ups_view, None, site, community_ro=RO, community_rw=RW, v3_user=USER,
                       v3_auth_key=AUTH, v3_priv_key=PRIV) as agent:
        yield agent.port


@pytest.fixture
def pdu_port(site: ViewSite) -> Iterator[int]:
    with DemoSnmpAgent(None, site.pdu_view, site, community_ro=RO, community_rw=RW, v3_user=USER,
                       v3_auth_key=AUTH, v3_priv_key=PRIV) as agent:
        yield agent.port


def source(port: int, kind: str, community: str = RO, v3: bool = False) -> SnmpSource:
    creds = (Credentials(username=USER, auth_key=AUTH, priv_key=PRIV) if v3
             else Credentials(community=community))
    return SnmpSource(DeviceSpec(id=f"{kind}1", kind=kind, protocol="snmp",
                                 address=f"127.0.0.1:{port}", credentials=creds, timeout_s=2.0))


def run(src: SnmpSource, what: str | Action) -> Any:
    """``src.poll()`` for "poll", else ``src.perform(what)``; the source is closed after."""
    async def go() -> Any:
        try:
            return await (src.poll() if what == "poll" else src.perform(what))  # type: ignore[arg-type]
        finally:
            await src.close()
    return asyncio.run(go())


def values(readings: list[Reading]) -> dict[str, Any]:
    return {f"{r.channel}/{r.quantity}": r.value for r in readings if r.quantity != "alarm"}


@pytest.mark.parametrize("v3", [False, True])
def test_demo_ups_reads_back_its_view(site: ViewSite, ups_port: int, v3: bool) -> None:
    src = source(ups_port, "ups", v3=v3)
    readings = run(src, "poll")
    got = values(readings)
    ups = site.ups
    assert src.profile is not None and src.profile.name == "ups-mib"
    assert got["ups/state"] == "on_battery"
    assert got["battery/state"] == "low_battery"
    assert got["battery/charge"] == pytest.approx(ups.battery_charge_pct, abs=1)
    assert got["battery/runtime"] == pytest.approx(ups.runtime_s, abs=60)  # the MIB counts minutes
    assert got["battery/voltage"] == pytest.approx(ups.battery_voltage_v, abs=0.1)
    assert got["output/power"] == pytest.approx(ups.output_power_w, abs=1)
    assert got["output/load"] == pytest.approx(ups.output_load_pct, abs=1)
    assert got["output/voltage"] == pytest.approx(ups.output_voltage_v, abs=1)
    assert got["input/voltage"] == pytest.approx(ups.input_voltage_v, abs=1)
    assert [r.value for r in readings if r.quantity == "alarm"] == ups.alarms


def test_demo_ups_self_test(site: ViewSite, ups_port: int) -> None:
    result = run(source(ups_port, "ups", RW), UpsSelfTest())
    assert result.ok and site.calls == [("ups_self_test", "ups1")]
    with pytest.raises(ActionRefused):  # the read-only community may not start it
        run(source(ups_port, "ups", RO), UpsSelfTest())


def test_demo_pdu_reads_back_its_view(site: ViewSite, pdu_port: int) -> None:
    src = source(pdu_port, "pdu")
    got = values(run(src, "poll"))
    assert src.profile is not None and src.profile.name == "apc-rpdu2"
    assert got["total/power"] == pytest.approx(site.pdu.power_w, abs=10)  # 0.01 kW on the wire
    assert got["total/energy"] == pytest.approx(site.pdu.energy_kwh, abs=0.1)
    for o in site.pdu.outlets:
        assert got[f"outlet{o.number}/state"] == ("on" if o.on else "off")
        assert got[f"outlet{o.number}/power"] == pytest.approx(o.power_w, abs=1)
        assert got[f"outlet{o.number}/current"] == pytest.approx(o.current_a, abs=0.1)
        assert got[f"outlet{o.number}/energy"] == pytest.approx(o.energy_kwh, abs=0.1)


def test_demo_pdu_outlet_switching(site: ViewSite, pdu_port: int) -> None:
    off = run(source(pdu_port, "pdu", RW), SetOutlet(2, "off"))
    assert (off.ok, off.readback) == (True, "off")
    assert site.pdu.outlets[1].on is False and site.calls[-1] == ("set_outlet", "pdu1", 2, "off")
    on = run(source(pdu_port, "pdu", RW), SetOutlet(2, "on"))
    assert (on.ok, on.readback) == (True, "on") and site.pdu.outlets[1].on is True
    with pytest.raises(ActionRefused):
        run(source(pdu_port, "pdu", RO), SetOutlet(2, "off"))
    assert site.pdu.outlets[1].on is True


def test_demo_pdu_cycles_an_outlet_with_its_reboot_command(site: ViewSite, pdu_port: int) -> None:
    result = run(source(pdu_port, "pdu", RW), SetOutlet(3, "cycle"))
    assert (result.ok, result.action, result.target, result.requested) == (True, "outlet_cycle", "outlet3", "cycle")
    assert site.calls[-1] == ("set_outlet", "pdu1", 3, "reboot")


@pytest.mark.parametrize("action, why", [
    (SetValve(40), "takes only outlet on/off/cycle"), (SetBypass(10), "takes only outlet"),
    (SetPump(True), "takes only outlet"), (SetSetpoint("supply_setpoint", 50), "takes only outlet"),
    (SetPowerLimit(500), "takes only outlet"), (SetPowerLimit(250, gpu=0), "takes only outlet"),
    (SetOutlet(2, "off"), "not supported by profile ups-mib"),
    (SetOutlet(0, "off"), "whole number >= 1"), (SetOutlet(2, "reboot"), "on, off, cycle"),
    ("self_test", "not one of the actions"),
])
def test_a_ups_refuses_what_it_does_not_do_and_sets_nothing(site: ViewSite, ups_port: int,
                                                            action: Action, why: str) -> None:
    src = source(ups_port, "ups", RW)
    assert isinstance(src, Source)
    with pytest.raises(ActionRefused, match=why) as info:
        run(src, action)
    assert str(info.value).startswith(f"ups1 (127.0.0.1:{ups_port}): ")
    if isinstance(action, Action):
        assert action.describe() in str(info.value)
    assert site.calls == []


def test_a_pdu_refuses_a_ups_self_test(site: ViewSite, pdu_port: int) -> None:
    with pytest.raises(ActionRefused, match=r"pdu1 \(127.0.0.1:\d+\): ups_self_test ups: not supported by profile apc-rpdu2"):
        run(source(pdu_port, "pdu", RW), UpsSelfTest())
    assert site.calls == []
