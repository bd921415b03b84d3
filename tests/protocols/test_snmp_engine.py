"""SNMP sources on one event loop share a pysnmp engine (protocols/snmp/engine.py, issue 8 item 8):
one engine per loop and credential set, no MIB compiler built, and still one socket per source
bound where the route to its device leaves from."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pysnmp.entity.engine
import pysnmp.smi.compiler
import pytest

from protocols.base import AuthFailed, Credentials, DeviceSpec, Unreachable
from protocols.snmp.agent import DemoSnmpAgent
from protocols.snmp.client import SnmpSource
from protocols.snmp.engine import shared_engines
from tests.fakes.demo_views import AUTH, PRIV, RO, RW, USER, ViewSite, demo_views
from tests.support import free_port, udp_sockets

OTHER_AUTH, OTHER_PRIV = "other-auth-key", "other-priv-key"


def start_agent(site: ViewSite, auth: str = AUTH, priv: str = PRIV) -> DemoSnmpAgent:
    agent = DemoSnmpAgent(site.ups_view, None, site, community_ro=RO, community_rw=RW, v3_user=USER,
                          v3_auth_key=auth, v3_priv_key=priv)
    agent.start()
    return agent


@pytest.fixture(scope="module")
def agents() -> Iterator[list[DemoSnmpAgent]]:
    """Ten UPS agents, read only by these tests, so started once."""
    site = demo_views()
    started = [start_agent(site) for _ in range(10)]
    try:
        yield started
    finally:
        for a in started:
            a.stop()


def source(port: int, n: int = 1, v3: bool = False, timeout_s: float = 2.0, auth: str = AUTH,
           priv: str = PRIV) -> SnmpSource:
    creds = (Credentials(username=USER, auth_key=auth, priv_key=priv) if v3
             else Credentials(community=RO))
    return SnmpSource(DeviceSpec(id=f"ups{n}", kind="ups", protocol="snmp", address=f"127.0.0.1:{port}",
                                 credentials=creds, timeout_s=timeout_s))


class Counted:
    """Counts constructions of a pysnmp class while patched in."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
        self.count = 0
        cls = getattr(owner, name)
        original = cls.__init__
        counter = self

        def init(obj: Any, *args: Any, **kwargs: Any) -> None:
            counter.count += 1
            original(obj, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)


def test_sources_on_one_loop_share_one_engine_and_build_no_mib_compiler(
        agents: list[DemoSnmpAgent], monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: one SnmpEngine per source, each building pysmi's MIB compiler on its first
    request (~0.45 s of CPU per device)."""
    engines = Counted(monkeypatch, pysnmp.entity.engine, "SnmpEngine")
    compilers = Counted(monkeypatch, pysnmp.smi.compiler, "MibCompiler")
    sources = [source(a.port, n) for n, a in enumerate(agents[:4])]

    async def go() -> tuple[list[int], int]:
        try:
            counts = [len(r) for r in await asyncio.gather(*(s.poll() for s in sources))]
            return counts, len(shared_engines(asyncio.get_running_loop()))
        finally:
            for s in sources:
                await s.close()

    counts, held = asyncio.run(go())
    assert all(c > 0 for c in counts) and len(set(counts)) == 1
    assert engines.count == 1 and held == 1
    assert compilers.count == 0
    assert shared_engines() == []  # closed with its last source


def test_first_round_of_ten_devices_fits_their_timeout(agents: list[DemoSnmpAgent]) -> None:
    """Before: ten first polls on one loop spent ~0.45 s of CPU each building engines and MIB
    compilers, so with a 2 s timeout the first round came back 'no SNMP response'."""
    sources = [source(a.port, n, timeout_s=2.0) for n, a in enumerate(agents)]

    async def go() -> tuple[list[Any], float]:
        cpu = time.thread_time()  # this loop's thread only: the agents run in their own threads
        try:
            results = await asyncio.gather(*(s.poll() for s in sources), return_exceptions=True)
            return list(results), time.thread_time() - cpu
        finally:
            for s in sources:
                await s.close()

    results, cpu_s = asyncio.run(go())
    failed = [r for r in results if isinstance(r, BaseException)]
    assert not failed, failed[:2]
    assert cpu_s < 2.0, f"first round of 10 devices took {cpu_s:.2f} s of CPU"


def test_v2c_and_v3_devices_poll_side_by_side(agents: list[DemoSnmpAgent]) -> None:
    v2c, v3 = source(agents[0].port, 1), source(agents[1].port, 2, v3=True)

    async def go() -> list[set[tuple[str, str]]]:
        try:
            out = []
            for _ in range(2):  # the second round reuses the engines, USM user and sockets
                rounds = await asyncio.gather(v2c.poll(), v3.poll())
                out += [{(r.channel, r.quantity) for r in batch} for batch in rounds]
            return out
        finally:
            await v2c.close()
            await v3.close()

    series = asyncio.run(go())
    assert series[0] and all(s == series[0] for s in series)


def test_same_v3_user_name_with_different_keys_does_not_clash() -> None:
    """pysnmp keeps one USM row per user name: had both devices shared one engine, the second
    device's keys would replace the first's (or the first's be used for both)."""
    site = demo_views()
    first, second = start_agent(site), start_agent(site, OTHER_AUTH, OTHER_PRIV)
    a = source(first.port, 1, v3=True)
    b = source(second.port, 2, v3=True, auth=OTHER_AUTH, priv=OTHER_PRIV)

    async def go() -> list[int]:
        try:
            counts = []
            for _ in range(2):
                counts += [len(r) for r in await asyncio.gather(a.poll(), b.poll())]
            return counts
        finally:
            await a.close()
            await b.close()

    try:
        counts = asyncio.run(go())
    finally:
        first.stop()
        second.stop()
    assert all(c > 0 for c in counts)


def test_wrong_keys_for_the_same_user_fail_alone(agents: list[DemoSnmpAgent]) -> None:
    """A device configured with the wrong keys for a shared user name is refused on its own;
    the devices with the right keys keep polling."""
    good = source(agents[0].port, 1, v3=True)
    bad = source(agents[1].port, 2, v3=True, auth=OTHER_AUTH, priv=OTHER_PRIV)
    also_good = source(agents[2].port, 3, v3=True)

    async def go() -> list[Any]:
        try:
            return list(await asyncio.gather(good.poll(), bad.poll(), also_good.poll(),
                                             return_exceptions=True))
        finally:
            for s in (good, bad, also_good):
                await s.close()

    first, refused, third = asyncio.run(go())
    assert isinstance(first, list) and first and isinstance(third, list) and third
    assert isinstance(refused, AuthFailed) and refused.device_id == "ups2"


def test_closing_one_source_closes_its_socket_only(agents: list[DemoSnmpAgent]) -> None:
    a, b = source(agents[0].port, 1), source(agents[1].port, 2)

    async def go() -> tuple[int, int, bool, int]:
        try:
            await asyncio.gather(a.poll(), b.poll())
            bound_a, bound_b = a.local_address(), b.local_address()
            assert bound_a is not None and bound_b is not None and bound_a != bound_b
            assert bound_a[0] == bound_b[0] == "127.0.0.1"
            await a.close()
            still = bool(await b.poll())  # the shared engine lives on for b
            return bound_a[1], bound_b[1], still, len(shared_engines(asyncio.get_running_loop()))
        finally:
            await a.close()
            await b.close()

    port_a, port_b, still, held = asyncio.run(go())
    sockets = udp_sockets()
    assert still and held == 1
    assert port_a not in sockets and port_b not in sockets
    assert shared_engines() == []


async def until(cond: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll ``cond`` on the loop until it is true (a deadline, not a sleep for synchronisation)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("v3", [False, True], ids=["v2c", "v3"])
def test_an_abandoned_request_does_not_stop_the_engines_timeouts(v3: bool) -> None:
    """A source that stops waiting (a caller's deadline) and closes leaves pysnmp a request to
    retry on its socket's domain; that retry must not break the engine's timer, which every
    other source's timeout relies on."""
    dead = free_port(socket.SOCK_DGRAM)  # nothing answers there
    quitter = source(dead, 1, v3=v3, timeout_s=3.0)  # pysnmp retries its request after 1.5 s
    waiter = source(dead, 2, v3=v3, timeout_s=2.0)

    async def go() -> float:
        abandoned = asyncio.ensure_future(quitter.poll())
        await until(lambda: quitter.local_address() is not None)  # its request is out
        start = time.monotonic()
        waiting = asyncio.ensure_future(waiter.poll())  # holds the engine from now on
        await until(lambda: waiter.local_address() is not None)
        abandoned.cancel()
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        await quitter.close()
        try:
            with pytest.raises(Unreachable, match=r"within 2\.0 s"):
                await waiting  # its timeout spans the quitter's retry
            return time.monotonic() - start
        finally:
            await waiter.close()

    elapsed = asyncio.run(go())
    assert elapsed < 3.5  # pysnmp's own timeout fired (~2.2 s), not the client's outer deadline (4 s)


def test_each_loop_has_its_own_engine(agents: list[DemoSnmpAgent]) -> None:
    """The console's engine thread and a test's loop run side by side: an engine (its
    dispatcher and sockets) belongs to one loop."""
    seen: dict[str, Any] = {}
    ready = threading.Barrier(2, timeout=10)

    def run(name: str, port: int) -> None:
        src = source(port, 1)

        async def go() -> None:
            try:
                assert await src.poll()
                seen[name] = shared_engines(asyncio.get_running_loop())
                ready.wait()  # both loops hold an engine at the same time
                assert await src.poll()
            finally:
                await src.close()

        asyncio.run(go())

    threads = [threading.Thread(target=run, args=(n, a.port)) for n, a in zip("ab", agents[:2], strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(seen["a"]) == len(seen["b"]) == 1 and seen["a"][0] is not seen["b"][0]
    assert shared_engines() == []


def test_a_source_used_on_a_second_loop_gets_that_loops_engine(agents: list[DemoSnmpAgent]) -> None:
    """Closed before its loop ends (the contract: a socket cannot be closed through a closed
    loop), a source works again on the next loop, with that loop's engine."""
    src = source(agents[0].port, 1)

    async def once() -> tuple[int, Any]:
        try:
            return len(await src.poll()), shared_engines(asyncio.get_running_loop())[0]
        finally:
            await src.close()

    first, engine1 = asyncio.run(once())
    second, engine2 = asyncio.run(once())
    assert first == second > 0 and engine1 is not engine2
    assert shared_engines() == []
