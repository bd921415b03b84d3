"""The demo SNMP agent read with plain pysnmp manager calls of the standard OIDs (never
through heatrack's client), so the agent is checked against the MIBs, not against our own
parser. Values come from a small fake view that the tests mutate."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    Integer,
    ObjectIdentifier,
    ObjectIdentity,
    ObjectType,
    OctetString,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    bulk_walk_cmd,
    get_cmd,
    set_cmd,
    usmAesCfb128Protocol,
    usmHMACSHAAuthProtocol,
    walk_cmd,
)
from pysnmp.proto.rfc1905 import EndOfMibView

from protocols.demo_views import OutletView, PduView, UpsView
from protocols.snmp.agent import DemoSnmpAgent
from tests.fakes.demo_views import ViewSite

UPS = "1.3.6.1.2.1.33.1"
RPDU2 = "1.3.6.1.4.1.318.1.1.26"
RO, RW = "demo-public", "demo-private"
USER, AUTH, PRIV = "heatrack", "authpass123", "privpass123"


def make_ups() -> UpsView:
    return UpsView(id="ups1", model="Smart-UPS SRT 3000", on_battery=False, low_battery=False,
                   battery_charge_pct=96.4, runtime_s=2710.0, battery_voltage_v=54.7,
                   battery_temp_c=27.6, input_voltage_v=229.6, input_frequency_hz=49.97,
                   output_voltage_v=230.4, output_power_w=1384.0, output_load_pct=46.1,
                   seconds_on_battery=0.0, self_test_result="none", alarms=[])


def make_pdu(n: int = 24) -> PduView:
    outlets = [OutletView(number=i, name=f"srv{i:02d}", on=i % 5 != 0, power_w=37.0 * i,
                          current_a=0.16 * i, energy_kwh=1.27 * i) for i in range(1, n + 1)]
    return PduView(id="pdu1", model="AP8641", voltage_v=231.0,
                   power_w=sum(o.power_w for o in outlets),
                   current_a=sum(o.current_a for o in outlets),
                   energy_kwh=sum(o.energy_kwh for o in outlets), outlets=outlets)


class FakeSite(ViewSite):
    """The shared view site, plus a model that can crash and an outlet the model refuses."""

    def __init__(self) -> None:
        super().__init__(make_ups(), make_pdu())
        self.broken = False

    def ups_view(self) -> UpsView:
        if self.broken:
            raise RuntimeError("model crashed")
        return super().ups_view()

    def set_outlet(self, pdu_id: str, outlet: int, command: str) -> None:
        if outlet == 13:
            self.calls.append(("set_outlet", pdu_id, outlet, command))
            raise ValueError("outlet 13 is locked by the model")
        super().set_outlet(pdu_id, outlet, command)


def agent_for(site: FakeSite, ups: bool, pdu: bool) -> DemoSnmpAgent:
    return DemoSnmpAgent(site.ups_view if ups else None, site.pdu_view if pdu else None, site,
                         community_ro=RO, community_rw=RW, v3_user=USER, v3_auth_key=AUTH,
                         v3_priv_key=PRIV)


@pytest.fixture
def site() -> FakeSite:
    return FakeSite()


@pytest.fixture
def ups_port(site: FakeSite) -> Iterator[int]:
    with agent_for(site, ups=True, pdu=False) as agent:
        yield agent.port


@pytest.fixture
def pdu_port(site: FakeSite) -> Iterator[int]:
    with agent_for(site, ups=False, pdu=True) as agent:
        yield agent.port


# ---------------------------------------------------------------- plain pysnmp manager
def v3(auth: str = AUTH, priv: str = PRIV) -> UsmUserData:
    return UsmUserData(USER, authKey=auth, privKey=priv, authProtocol=usmHMACSHAAuthProtocol,
                       privProtocol=usmAesCfb128Protocol)


class Manager:
    """Runs one pysnmp engine per test on a private loop; returns plain Python values."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.engine = SnmpEngine()

    def close(self) -> None:
        self.engine.close_dispatcher()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    async def _target(self, timeout: float) -> UdpTransportTarget:
        return await UdpTransportTarget.create(("127.0.0.1", self.port), timeout=timeout,
                                               retries=0)

    def get(self, *oids: str, auth: Any = None, context: str = "",
            timeout: float = 2.0) -> tuple[Any, str, list[tuple[str, Any]]]:
        async def run() -> Any:
            return await get_cmd(self.engine, auth or CommunityData(RO), await self._target(timeout),
                                 ContextData(contextName=context),
                                 *[ObjectType(ObjectIdentity(o)) for o in oids])
        ind, status, _idx, vbs = self.loop.run_until_complete(run())
        return ind, str(status) if status else "", [(str(o), v) for o, v in vbs]

    def values(self, *oids: str, **kw: Any) -> list[Any]:
        ind, status, vbs = self.get(*oids, **kw)
        assert ind is None and not status, (ind, status)
        return [v for _o, v in vbs]

    def set(self, oid: str, value: Any, auth: Any = None,
            *more: tuple[str, Any]) -> tuple[Any, str, list[Any]]:
        async def run() -> Any:
            return await set_cmd(self.engine, auth or CommunityData(RW), await self._target(2.0),
                                 ContextData(), ObjectType(ObjectIdentity(oid), value),
                                 *[ObjectType(ObjectIdentity(o), v) for o, v in more])
        ind, status, _idx, vbs = self.loop.run_until_complete(run())
        return ind, str(status) if status else "", [v for _o, v in vbs]

    def walk(self, root: str, auth: Any = None, bulk: bool = True,
             context: str = "") -> list[tuple[tuple[int, ...], Any]]:
        async def run() -> list[tuple[tuple[int, ...], Any]]:
            target = await self._target(2.0)
            out = []
            args = (self.engine, auth or CommunityData(RO), target, ContextData(contextName=context))
            gen = (bulk_walk_cmd(*args, 0, 25, ObjectType(ObjectIdentity(root)),
                                 lexicographicMode=False) if bulk else
                   walk_cmd(*args, ObjectType(ObjectIdentity(root)), lexicographicMode=False))
            async for ind, status, _idx, vbs in gen:
                assert ind is None and not status, (ind, status)
                out.extend((tuple(o), v) for o, v in vbs)
            return out
        return self.loop.run_until_complete(run())


@pytest.fixture
def ups_mgr(ups_port: int) -> Iterator[Manager]:
    m = Manager(ups_port)
    yield m
    m.close()


@pytest.fixture
def pdu_mgr(pdu_port: int) -> Iterator[Manager]:
    m = Manager(pdu_port)
    yield m
    m.close()


def oid(s: str) -> tuple[int, ...]:
    return tuple(int(x) for x in s.split("."))


# ---------------------------------------------------------------- UPS-MIB
def test_ups_scalars_follow_the_view_in_rfc1628_units(site: FakeSite, ups_mgr: Manager) -> None:
    u = site.ups
    got = ups_mgr.values(
        "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0", f"{UPS}.1.2.0", f"{UPS}.2.1.0",
        f"{UPS}.2.3.0", f"{UPS}.2.4.0", f"{UPS}.2.5.0", f"{UPS}.2.7.0", f"{UPS}.3.3.1.2.1",
        f"{UPS}.3.3.1.3.1", f"{UPS}.4.1.0", f"{UPS}.4.4.1.2.1", f"{UPS}.4.4.1.4.1",
        f"{UPS}.4.4.1.5.1", f"{UPS}.6.1.0", f"{UPS}.7.3.0")
    assert tuple(got[0]) == oid("1.3.6.1.2.1.33")  # sysObjectID: generic UPS-MIB agent
    assert str(got[1]) == u.id and str(got[2]) == u.model
    assert [int(v) for v in got[3:]] == [
        2,  # batteryNormal
        round(u.runtime_s / 60), round(u.battery_charge_pct), round(u.battery_voltage_v * 10),
        round(u.battery_temp_c), round(u.input_frequency_hz * 10), round(u.input_voltage_v),
        3,  # output source normal
        round(u.output_voltage_v), round(u.output_power_w), round(u.output_load_pct),
        0,  # no alarms
        6,  # noTestsInitiated
    ]


def test_ups_on_battery_shows_source_alarms_and_counters(site: FakeSite, ups_mgr: Manager) -> None:
    site.ups.on_battery, site.ups.low_battery = True, True
    site.ups.seconds_on_battery = 312.0
    site.ups.alarms = ["OnBattery", "LowBattery", "OutputOverload"]
    source, status, secs, present, line_bads = ups_mgr.values(
        f"{UPS}.4.1.0", f"{UPS}.2.1.0", f"{UPS}.2.2.0", f"{UPS}.6.1.0", f"{UPS}.3.1.0")
    assert (int(source), int(status), int(secs)) == (5, 3, 312)
    assert int(present) == len(site.ups.alarms) and int(line_bads) == 1
    descr = [v for o, v in ups_mgr.walk(f"{UPS}.6.2.1.2")]
    assert [tuple(v) for v in descr] == [oid(f"{UPS}.6.3.{x}") for x in (2, 3, 8)]
    site.ups.alarms = ["LowBattery"]  # cleared alarms leave the table, ids stay stable
    rows = ups_mgr.walk(f"{UPS}.6.2.1.2")
    assert [(o[-1], tuple(v)) for o, v in rows] == [(2, oid(f"{UPS}.6.3.3"))]


def test_walk_of_ups_mib_is_complete_and_ordered(site: FakeSite, ups_mgr: Manager) -> None:
    site.ups.alarms = ["OnBattery", "FanFailure"]
    bulk = ups_mgr.walk("1.3.6.1.2.1.33")
    names = [o for o, _v in bulk]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert all(o[:7] == oid("1.3.6.1.2.1.33") for o in names)
    for group in range(1, 8):
        if group != 5:  # no bypass on the demo UPS
            assert any(o[:9] == oid(f"{UPS}.{group}") for o in names), group
    alarm_ids = [int(v) for o, v in bulk if o[:-1] == oid(f"{UPS}.6.2.1.1")]
    assert len(alarm_ids) == len(site.ups.alarms)
    # GETNEXT and GETBULK agree (same lexicographic successor function)
    next_names = [o for o, _v in ups_mgr.walk("1.3.6.1.2.1.33", bulk=False)]
    assert next_names == names
    # and the system group precedes the UPS-MIB in a full walk
    everything = [o for o, _v in ups_mgr.walk("1.3.6.1")]
    assert everything[:7] == [oid(f"1.3.6.1.2.1.1.{i}.0") for i in range(1, 8)]
    assert everything[7:] == names


def test_missing_objects_and_instances(ups_mgr: Manager) -> None:
    _ind, _st, vbs = ups_mgr.get(f"{UPS}.2.4", f"{UPS}.3.3.1.3.2", "1.3.6.1.2.1.2.1.0")
    assert [type(v).__name__ for _o, v in vbs] == ["NoSuchInstance", "NoSuchInstance",
                                                    "NoSuchObject"]


def test_self_test_set_forwards_and_reads_back(site: FakeSite, ups_mgr: Manager) -> None:
    quick = ObjectIdentifier(f"{UPS}.7.7.4")
    ind, status, vbs = ups_mgr.set(f"{UPS}.7.1.0", quick)
    assert ind is None and not status and tuple(vbs[0]) == oid(f"{UPS}.7.7.4")
    assert site.calls == [("ups_self_test", "ups1")]
    test_id, summary, detail = ups_mgr.values(f"{UPS}.7.1.0", f"{UPS}.7.3.0", f"{UPS}.7.4.0")
    assert tuple(test_id) == oid(f"{UPS}.7.7.4") and int(summary) == 5  # inProgress
    assert "progress" in str(detail)
    # a second test while one runs is inconsistent; a made-up test id is a wrong value
    assert ups_mgr.set(f"{UPS}.7.1.0", quick)[1] == "inconsistentValue"
    site.ups.self_test_result = "pass"
    assert int(ups_mgr.values(f"{UPS}.7.3.0")[0]) == 1  # donePass
    assert ups_mgr.set(f"{UPS}.7.1.0", ObjectIdentifier(f"{UPS}.7.7.9"))[1] == "wrongValue"
    assert ups_mgr.set(f"{UPS}.7.1.0", Integer(4))[1] == "wrongType"
    assert len(site.calls) == 1


def test_self_test_with_spinlock_is_test_and_incr(site: FakeSite, ups_mgr: Manager) -> None:
    (lock,) = ups_mgr.values(f"{UPS}.7.2.0")
    general = (f"{UPS}.7.1.0", ObjectIdentifier(f"{UPS}.7.7.3"))
    # a stale spinlock value rejects the whole SET, the test request included
    assert ups_mgr.set(f"{UPS}.7.2.0", Integer(int(lock) + 1), None, general)[1] == \
        "inconsistentValue"
    assert site.calls == []
    ind, status, _ = ups_mgr.set(f"{UPS}.7.2.0", Integer(int(lock)), None, general)
    assert ind is None and not status
    assert site.calls == [("ups_self_test", "ups1")]
    assert int(ups_mgr.values(f"{UPS}.7.2.0")[0]) == int(lock) + 1


def test_read_only_community_and_objects_refuse_writes(site: FakeSite, ups_mgr: Manager) -> None:
    ind, status, _ = ups_mgr.set(f"{UPS}.7.1.0", ObjectIdentifier(f"{UPS}.7.7.3"),
                                 auth=CommunityData(RO))
    assert ind is None and status == "noAccess"
    assert ups_mgr.set(f"{UPS}.2.4.0", Integer(5))[1] == "notWritable"
    assert ups_mgr.set(f"{UPS}.2.99.0", Integer(5))[1] == "noCreation"
    assert site.calls == []


def test_v1_and_unknown_community(site: FakeSite, ups_mgr: Manager) -> None:
    (charge,) = ups_mgr.values(f"{UPS}.2.4.0", auth=CommunityData(RO, mpModel=0))
    assert int(charge) == round(site.ups.battery_charge_pct)
    ind, _st, _vbs = ups_mgr.get(f"{UPS}.2.4.0", auth=CommunityData("guess"), timeout=0.3)
    assert ind is not None  # no reply at all, like a real agent


def test_v3_auth_priv(site: FakeSite, ups_mgr: Manager) -> None:
    name, charge = ups_mgr.values("1.3.6.1.2.1.1.5.0", f"{UPS}.2.4.0", auth=v3())
    assert str(name) == site.ups.id and int(charge) == round(site.ups.battery_charge_pct)
    walked = ups_mgr.walk(UPS, auth=v3())
    assert [o for o, _ in walked] == [o for o, _ in ups_mgr.walk(UPS)]
    ind, _st, vbs = ups_mgr.get(f"{UPS}.2.4.0", auth=v3(auth="wrongpass99"), timeout=0.5)
    assert ind is not None and not vbs  # digest mismatch: no valid response
    ind, _st, vbs = ups_mgr.get(f"{UPS}.2.4.0", auth=v3(priv="wrongpass99"), timeout=0.5)
    assert ind is not None and not vbs  # undecryptable: no valid response


def test_broken_view_costs_one_gen_err(site: FakeSite, ups_mgr: Manager) -> None:
    site.broken = True
    ind, status, _ = ups_mgr.get(f"{UPS}.2.4.0")
    assert ind is None and status == "genErr"
    site.broken = False
    assert int(ups_mgr.values(f"{UPS}.2.4.0")[0]) == round(site.ups.battery_charge_pct)


# ---------------------------------------------------------------- APC rPDU2
def test_pdu_ident_device_and_phase(site: FakeSite, pdu_mgr: Manager) -> None:
    p = site.pdu
    got = pdu_mgr.values(
        "1.3.6.1.2.1.1.2.0", f"{RPDU2}.2.1.3.1", f"{RPDU2}.2.1.8.1", f"{RPDU2}.2.1.9.1",
        f"{RPDU2}.4.3.1.5.1", f"{RPDU2}.4.3.1.9.1", f"{RPDU2}.6.3.1.5.1", f"{RPDU2}.6.3.1.6.1",
        f"{RPDU2}.6.3.1.7.1", f"{RPDU2}.9.1.0", f"{RPDU2}.4.3.1.4.1", auth=v3())
    assert tuple(got[0]) == oid("1.3.6.1.4.1.318.1.3.4.6")
    assert (str(got[1]), str(got[2])) == (p.id, p.model) and len(str(got[3])) == 12
    assert [int(v) for v in got[4:10]] == [
        round(p.power_w / 10), round(p.energy_kwh * 10), round(p.current_a * 10),
        round(p.voltage_v), round(p.power_w / 10), len(p.outlets)]
    assert int(got[10]) in (1, 2, 3, 4)


def test_outlet_columns_walk_every_row_in_order(site: FakeSite, pdu_mgr: Manager) -> None:
    outlets = site.pdu.outlets
    expected = {
        f"{RPDU2}.9.2.3.1.3": [o.name for o in outlets],
        f"{RPDU2}.9.2.3.1.5": [2 if o.on else 1 for o in outlets],
        f"{RPDU2}.9.2.4.1.5": [1 if o.on else 2 for o in outlets],
        f"{RPDU2}.9.4.3.1.6": [round(o.current_a * 10) for o in outlets],
        f"{RPDU2}.9.4.3.1.7": [round(o.power_w) for o in outlets],
        f"{RPDU2}.9.4.3.1.11": [round(o.energy_kwh * 10) for o in outlets],
    }
    for column, values in expected.items():
        rows = pdu_mgr.walk(column)
        assert [o for o, _ in rows] == [oid(column) + (o.number,) for o in outlets]
        got = [str(v) if isinstance(values[0], str) else int(v) for _, v in rows]
        assert got == values, column
    table = [o for o, _ in pdu_mgr.walk(f"{RPDU2}.9.4.3")]
    assert table == sorted(table) and len(table) == 10 * len(outlets)


def test_set_outlet_forwards_and_next_get_reads_the_view(site: FakeSite, pdu_mgr: Manager) -> None:
    n = next(o.number for o in site.pdu.outlets if o.on)
    state, cmd = f"{RPDU2}.9.2.3.1.5.{n}", f"{RPDU2}.9.2.4.1.5.{n}"
    assert [int(v) for v in pdu_mgr.values(state, cmd)] == [2, 1]
    ind, status, vbs = pdu_mgr.set(cmd, Integer(2))
    assert ind is None and not status and int(vbs[0]) == 2
    assert site.calls == [("set_outlet", "pdu1", n, "off")]
    assert [int(v) for v in pdu_mgr.values(state, cmd)] == [1, 2]
    assert not pdu_mgr.set(cmd, Integer(1), auth=v3())[1]  # v3 may write too
    assert site.calls[-1] == ("set_outlet", "pdu1", n, "on")
    assert int(pdu_mgr.values(state)[0]) == 2
    assert not pdu_mgr.set(cmd, Integer(3))[1]
    assert site.calls[-1] == ("set_outlet", "pdu1", n, "reboot")


def test_set_outlet_errors(site: FakeSite, pdu_mgr: Manager) -> None:
    cmd = f"{RPDU2}.9.2.4.1.5.3"
    assert pdu_mgr.set(cmd, Integer(2), auth=CommunityData(RO))[1] == "noAccess"
    for bad in (0, 4, 7, 99):
        assert pdu_mgr.set(cmd, Integer(bad))[1] == "wrongValue"
    assert pdu_mgr.set(cmd, OctetString("off"))[1] == "wrongType"
    assert pdu_mgr.set(f"{RPDU2}.9.2.3.1.5.3", Integer(1))[1] == "notWritable"
    assert pdu_mgr.set(f"{RPDU2}.9.2.4.1.5.99", Integer(1))[1] == "noCreation"
    # one bad varbind rejects the whole PDU: outlet 1 stays as it is
    assert pdu_mgr.set(f"{RPDU2}.9.2.4.1.5.1", Integer(2), None,
                       (f"{RPDU2}.9.2.4.1.5.2", Integer(9)))[1] == "wrongValue"
    assert site.calls == []
    assert pdu_mgr.set(f"{RPDU2}.9.2.4.1.5.13", Integer(2))[1] == "wrongValue"  # model refuses
    assert site.calls == [("set_outlet", "pdu1", 13, "off")]


def test_bulk_walk_24_outlets_5_columns_timing(site: FakeSite, pdu_mgr: Manager) -> None:
    """The poll a PDU client makes: 5 outlet columns in multi-varbind GETBULKs."""
    columns = [oid(c) for c in (f"{RPDU2}.9.2.3.1.5", f"{RPDU2}.9.4.3.1.3",
                                f"{RPDU2}.9.4.3.1.6", f"{RPDU2}.9.4.3.1.7",
                                f"{RPDU2}.9.4.3.1.11")]

    async def walk_columns(auth: Any) -> tuple[dict[tuple[int, ...], list[Any]], int]:
        target = await UdpTransportTarget.create(("127.0.0.1", pdu_mgr.port), timeout=2,
                                                 retries=0)
        rows: dict[tuple[int, ...], list[Any]] = {c: [] for c in columns}
        cursor = {c: c for c in columns}
        requests = 0
        while cursor:
            live = list(cursor)
            ind, status, _idx, vbs = await bulk_cmd(
                pdu_mgr.engine, auth, target, ContextData(), 0, 25,
                *[ObjectType(ObjectIdentity(cursor[c])) for c in live])
            requests += 1
            assert ind is None and not status, (ind, status)
            for i, (name, value) in enumerate(vbs):
                column = live[i % len(live)]
                if column not in cursor:
                    continue
                if tuple(name)[:len(column)] != column or isinstance(value, EndOfMibView):
                    del cursor[column]  # left the column
                    continue
                rows[column].append((tuple(name), value))
                cursor[column] = tuple(name)
        return rows, requests

    for label, auth in (("v2c", CommunityData(RO)), ("v3 authPriv", v3())):
        pdu_mgr.loop.run_until_complete(walk_columns(auth))  # warm up (v3 engine discovery)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            rows, requests = pdu_mgr.loop.run_until_complete(walk_columns(auth))
            times.append((time.perf_counter() - t0) * 1000)
        n = sum(len(r) for r in rows.values())
        print(f"\nGETBULK 24 outlets x 5 columns, {label}: {n} varbinds in {requests} "
              f"request(s), median {sorted(times)[2]:.1f} ms, best {min(times):.1f} ms "
              "(manager and agent share one process)")
        numbers = [o.number for o in site.pdu.outlets]
        for column, got in rows.items():
            assert [name for name, _ in got] == [column + (x,) for x in numbers]
        assert n == 5 * len(numbers)


# ---------------------------------------------------------------- both devices, one agent
def test_one_agent_two_devices_by_context(site: FakeSite) -> None:
    with agent_for(site, ups=True, pdu=True) as agent:
        m = Manager(agent.port)
        try:
            assert tuple(m.values("1.3.6.1.2.1.1.2.0")[0]) == oid("1.3.6.1.2.1.33")
            (pdu_oid,) = m.values("1.3.6.1.2.1.1.2.0", auth=CommunityData(RO + "@pdu"))
            assert tuple(pdu_oid) == oid("1.3.6.1.4.1.318.1.3.4.6")
            (count,) = m.values(f"{RPDU2}.9.1.0", auth=v3(), context="pdu")
            assert int(count) == len(site.pdu.outlets)
            (charge,) = m.values(f"{UPS}.2.4.0", auth=v3(), context="ups")
            assert int(charge) == round(site.ups.battery_charge_pct)
        finally:
            m.close()


def test_agent_binds_loopback_only_and_frees_its_port(site: FakeSite) -> None:
    with pytest.raises(ValueError):
        DemoSnmpAgent(site.ups_view, None, site, community_ro=RO, community_rw=RW,
                      v3_user=USER, v3_auth_key=AUTH, v3_priv_key=PRIV, host="0.0.0.0")
    agent = agent_for(site, ups=True, pdu=False)
    port = agent.start()
    agent.stop()
    agent.stop()
    again = DemoSnmpAgent(site.ups_view, None, site, community_ro=RO, community_rw=RW,
                          v3_user=USER, v3_auth_key=AUTH, v3_priv_key=PRIV, port=port)
    assert again.start() == port
    again.stop()
