"""One series catalogue for the demo: fast-forward stores exactly what polling the demo site
through the protocol clients stores — the same (device, channel, quantity, unit) set and, for
the same model state, the same values. The model clock is stopped (``clock=False``) so a poll
over the network and an in-process read see the same instant; tests move time themselves."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt_
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.demo import credentials as demo_creds
from console.demo.model import DemoSite
from console.demo.readout import BmcReadout, SiteReadout, _ReadOnly, run_now, site_specs
from console.demo.runner import DemoRunner, fast_forward
from console.site import device_spec
from console.store import Store
from protocols.base import Reading, Source
from protocols.demo_views import ServerView
from protocols.redfish import server_resources
from protocols.redfish.client import RedfishSource
from protocols.redfish.server import DemoRedfishService
from protocols.snmp.agent_mibs import DeviceMib, Oid, PduMib, UpsMib, Uptime

pytestmark = pytest.mark.slow  # real protocol servers on 127.0.0.1

START = dt_.datetime(2025, 11, 3, 6, tzinfo=dt_.UTC)  # a weekday morning
Key = tuple[str, str, str, str]


def key(r: Reading) -> Key:
    return (r.device_id, r.channel, r.quantity, r.unit)


class Poller:
    """Every device of a running demo site, polled through the engine's sources (the real
    clients over the network), on one event loop."""

    def __init__(self, runner: DemoRunner) -> None:
        self.loop = asyncio.new_event_loop()
        site = runner.site_model()
        self.sources: list[Source] = [
            runner.source_factory(device_spec(d, runner.resolve(d.credentials))) for d in site.devices]

    def poll(self) -> list[Reading]:
        async def go() -> list[Reading]:
            out: list[Reading] = []
            for src in self.sources:
                out += await src.poll()
            return out
        return self.loop.run_until_complete(go())

    def close(self) -> None:
        async def go() -> None:
            for src in self.sources:
                await src.close()
        self.loop.run_until_complete(go())
        self.loop.close()


@pytest.fixture
def runner() -> Iterator[DemoRunner]:
    with DemoRunner(seed=4, clock=False, start=START) as r:
        yield r


@pytest.fixture
def poller(runner: DemoRunner) -> Iterator[Poller]:
    p = Poller(runner)
    yield p
    p.close()


def series(db: Path) -> set[Key]:
    with Store(db) as store:
        return {(s.device_id, s.channel, s.quantity, s.unit) for s in store.series()}


def test_fast_forward_stores_exactly_the_series_polling_stores(tmp_path: Path) -> None:
    """The regression: fast-forward hand-copied every client's mapping and drifted (ups1 7
    series only when polled, gpuhost gpu0/fan_speed vs gpu0_fan0/fan_speed, servers'
    coolant/thermal_power and chassis/power_limit only when polled, chassis/state and GPU
    utilization only in fast-forward)."""
    faults = [("ups-on-battery", 20 * 60.0)]  # alarms appear: the set changes with the state
    polled_db, ff_db = tmp_path / "polled.db", tmp_path / "ff.db"
    with DemoRunner(seed=4, clock=False, start=START, faults=faults) as live, Store(polled_db) as store:
        poller = Poller(live)
        try:
            for _ in range(4):  # 0, 10, 20 and 30 simulated minutes
                store.add_readings(poller.poll())
                live.advance(600)
        finally:
            poller.close()
        store.flush()
    with DemoRunner(seed=4, clock=False, start=START, faults=faults, speed=1e9) as ff, Store(ff_db) as store:
        result = fast_forward(ff, store, 40 * 60.0)
        assert result.samples == 40 and [name for name, _ in ff.fired] == ["ups-on-battery"]
    polled, logged = series(polled_db), series(ff_db)
    assert ("ups1", "ups", "alarm", "") in polled  # the fault showed while polling...
    assert logged == polled, (f"only polled: {sorted(polled - logged)}; "
                              f"only fast-forward: {sorted(logged - polled)}")


@pytest.mark.parametrize("fault", [None, "ups-on-battery", "pump-failure", "outlet-tripped",
                                   "tank-sensor-stuck", "valve-stuck"])
def test_values_agree_with_polling_at_the_same_instant(runner: DemoRunner, poller: Poller,
                                                      fault: str | None) -> None:
    runner.advance(1800)
    if fault is not None:
        runner.inject(fault)
        runner.advance(1200)  # long enough for the controller's alarms (sensor_fault: 15 min)
    polled = Counter((key(r), r.value) for r in poller.poll())
    read = runner.readings()
    assert {r.ts for r in read} == {runner.sim_now}  # simulated time, not the wall clock
    got = Counter((key(r), r.value) for r in read)
    # Every value, not a sample (a UPS on battery has several ups/alarm readings): the same
    # bytes decoded by the same code give the same values.
    assert {k for k, _ in got} == {k for k, _ in polled}
    assert got == polled, f"only read: {got - polled}; only polled: {polled - got}"
    numbers = [v for (_, v) in got if isinstance(v, float)]
    assert len(numbers) > 150 and len(set(numbers)) > 50  # a live site, not zeros


def test_values_agree_while_the_served_data_changes_shape(runner: DemoRunner, poller: Poller) -> None:
    """One readout through a run whose served data changes shape: UPS alarm rows appear and
    go, an outlet goes off and on, a BMC drops capping (its Control reads null). What the
    readout remembers between polls (the parts it renders, the clients' row plans) never
    shows: at every step it gives what polling gives."""
    steps: list[tuple[str, Any]] = [("inject", "ups-on-battery"), ("inject", "outlet-tripped"),
                                    ("limit", None), ("clear", "ups-on-battery"), ("limit", 800.0),
                                    ("clear", "outlet-tripped")]
    runner.advance(600)
    seen = []
    for action, arg in [("", None), *steps]:
        if action == "limit":
            runner.site.set_power_limit("srv1", arg)
        elif action:
            getattr(runner, action)(arg)
        runner.advance(300)
        polled = _values(poller.poll())
        read = _values(runner.readings())
        assert read == polled, (action, arg, read - polled, polled - read)
        seen.append(frozenset((k, v is None) for k, v in read.elements()))
    assert len(set(seen)) >= 3  # what was served really changed along the way


def test_an_unreachable_bmc_gives_nothing_and_comes_back(runner: DemoRunner) -> None:
    readout = runner.readout
    target = runner.config.fault_server
    runner.inject("bmc-unreachable")
    with runner.lock:
        devices = {r.device_id for r in readout.read()}
    assert target not in devices and len(devices) == 6
    assert "did not reply" in readout.failures[target]
    runner.clear("bmc-unreachable")
    runner.advance(60)
    with runner.lock:
        assert target in {r.device_id for r in readout.read()}
    assert target not in readout.failures


def test_a_device_that_first_answers_late_is_discovered_then() -> None:
    """A BMC unreachable from the start: discovery waits for its first answer."""
    with DemoRunner(seed=4, clock=False, start=START, faults=[("bmc-unreachable", 0.0)]) as r:
        target = r.config.fault_server
        with r.lock:
            assert target not in {x.device_id for x in r.readout.read()}
        r.clear("bmc-unreachable")
        with r.lock:
            keys = {x.series_key for x in r.readout.read() if x.device_id == target}
        assert f"{target}/coolant/thermal_power" in keys and len(keys) == 31


def test_a_readout_never_writes() -> None:
    from console.demo.model import DemoSite

    site = DemoSite(seed=2)
    readout = SiteReadout(site)
    readout.read()
    ups = next(r for r in readout.readers if r.device_id == site.ups.spec.id)
    with pytest.raises(RuntimeError, match="readouts only read"):
        ups._mib.control.ups_self_test("ups1")  # type: ignore[attr-defined]


def test_run_now_refuses_a_read_that_would_wait() -> None:
    async def waits() -> Any:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="waited for I/O"):
        run_now(waits())

    async def answers() -> int:
        return 3

    assert run_now(answers()) == 3


def test_each_reading_resource_renders_as_in_the_whole_tree() -> None:
    """The readout's shortcut: a resource that carries readings, rendered alone, is the
    resource the whole tree holds at that URI (capping on and off, a pump failure)."""
    site = DemoSite(seed=3)
    checked = 0
    for step in range(3):
        if step == 1:
            site.inject("pump-failure")
            site.set_power_limit("srv2", None)
        site.step(600)
        for server in site.servers:
            view = site.server_view(server.spec.id)
            tree = server_resources.build_tree(view, {})
            for uri, render in server_resources.reading_resources(view).items():
                assert render() == tree[uri], uri
                checked += 1
    assert checked > 100


def _values(readings: list[Reading]) -> Counter[tuple[Key, Any]]:
    return Counter((key(r), r.value) for r in readings)


def test_a_bmc_whose_tree_changes_shape_reads_as_polling_it_does() -> None:
    """The readout renders only what the client polls, found from the URIs it asks for: when
    the served tree changes shape under a running client (a fan and a PSU gone, capping off,
    a GPU more, then all back), it still gives exactly what the same client over HTTP gives
    from the same views, missing resources and all."""
    site = DemoSite(seed=5)
    site.step(1800)
    sid = site.servers[0].spec.id
    base = site.server_view(sid)
    extra_gpu = dataclasses.replace(base.gpus[0], index=7, uuid="GPU-00000000-0000-0000-0000-000000000007")
    shapes: list[ServerView] = [
        base,
        dataclasses.replace(base, fans_rpm=base.fans_rpm[:-1], psus=base.psus[:1], power_limit_w=None),
        dataclasses.replace(base, gpus=[*base.gpus, extra_gpu], cpu_temps_c=base.cpu_temps_c[:1]),
        base,
    ]
    current = [base]
    spec = site_specs(site)[sid]
    creds = demo_creds.credentials("bmc")
    readout = BmcReadout(spec, lambda: current[0])
    loop = asyncio.new_event_loop()
    with DemoRedfishService(lambda: current[0], site, username=creds.username or "",
                            password=creds.password or "") as bmc:
        live = RedfishSource(dataclasses.replace(spec, address=f"127.0.0.1:{bmc.port}"))
        missing: list[frozenset[Key]] = []
        try:
            for view in shapes:
                current[0] = view
                polled = loop.run_until_complete(live.poll())
                read = readout.read(0.0)
                assert _values(read) == _values(polled), view
                missing.append(frozenset(key(r) for r in polled if r.value is not None))
        finally:
            loop.run_until_complete(live.close())
            loop.close()
    # each change showed (values gone), and the first shape reads whole again
    assert missing[1] < missing[0] and missing[2] < missing[0] and missing[3] == missing[0]


def _pyasn1(objects: dict[Oid, Any]) -> dict[Oid, tuple[str, str]]:
    """Comparable values; TimeTicks (the agent's uptime in wall time) left out."""
    return {o: (type(v).__name__, v.prettyPrint()) for o, v in objects.items()
            if type(v).__name__ != "TimeTicks"}


@pytest.mark.parametrize("kind", ["ups", "pdu"])
def test_each_agent_part_renders_as_in_the_whole_tree(kind: str) -> None:
    """The readout's SNMP shortcut: every object the agent serves lies under exactly one of
    its MIB's parts, and rendering only some parts gives their objects with the values a
    whole read gives (alarm rows and a tripped outlet included)."""
    site = DemoSite(seed=3)
    site.inject("ups-on-battery")
    site.inject("outlet-tripped")

    def mib() -> DeviceMib:
        if kind == "ups":
            return UpsMib(site.ups_view, _ReadOnly(), Uptime())
        return PduMib(site.pdu_view, _ReadOnly(), Uptime())

    whole, partial = mib(), mib()
    for _ in range(3):
        site.step(600)
        everything = whole.objects()
        for oid in everything:
            assert sum(oid[:len(p)] == p for p in whole.parts) == 1, oid
        for part in whole.parts:
            got = partial.objects({part})
            want = {o: v for o, v in everything.items() if o[:len(part)] == part}
            assert want and _pyasn1({o: got[o] for o in want}) == _pyasn1(want), part
