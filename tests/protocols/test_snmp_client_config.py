"""SnmpSource configuration details a careful user notices (issue 7, item 9): the client socket
binds to the local address that reaches the device, not 0.0.0.0, and an SNMPv3 key shorter
than 8 characters is a configuration error raised before anything is sent."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from protocols.base import Credentials, DeviceSpec, Unreachable
from protocols.snmp.agent import DemoSnmpAgent
from protocols.snmp.client import SnmpSource, local_address_for
from tests.fakes.demo_views import AUTH, PRIV, RO, RW, USER, ViewSite, demo_views
from tests.support import free_port, udp_sockets


@pytest.fixture
def agent() -> Iterator[DemoSnmpAgent]:
    site: ViewSite = demo_views()
    with DemoSnmpAgent(site.ups_view, None, site, community_ro=RO, community_rw=RW, v3_user=USER,
                       v3_auth_key=AUTH, v3_priv_key=PRIV) as a:
        yield a


def spec(address: str, timeout_s: float = 1.0, **creds: str) -> DeviceSpec:
    c = Credentials(**creds) if creds else Credentials(community=RO)
    return DeviceSpec(id="ups1", kind="ups", protocol="snmp", address=address, credentials=c,
                      timeout_s=timeout_s)


def test_client_socket_binds_the_loopback_address_for_a_loopback_device(agent: DemoSnmpAgent) -> None:
    src = SnmpSource(spec(f"127.0.0.1:{agent.port}"))

    async def go() -> tuple[tuple[str, int] | None, dict[int, str]]:
        try:
            assert await src.poll()
            return src.local_address(), udp_sockets()
        finally:
            await src.close()

    bound, sockets = asyncio.run(go())
    assert bound is not None and bound[0] == "127.0.0.1" and bound[1] > 0
    assert sockets[bound[1]] == "127.0.0.1"  # what the kernel says, not only what we asked for


def test_no_socket_is_left_behind_after_close(agent: DemoSnmpAgent) -> None:
    src = SnmpSource(spec(f"127.0.0.1:{agent.port}"))

    async def go() -> int:
        try:
            await src.poll()
            bound = src.local_address()
            assert bound is not None
            return bound[1]
        finally:
            await src.close()

    port = asyncio.run(go())
    assert port not in udp_sockets()


def test_ipv6_loopback_device_binds_ipv6_loopback() -> None:
    if not socket.has_ipv6 or local_address_for("::1", 161) is None:
        pytest.skip("no IPv6 loopback here")
    src = SnmpSource(spec(f"[::1]:{free_port(socket.SOCK_DGRAM)}", timeout_s=0.2))

    async def go() -> tuple[str, int] | None:
        try:
            with pytest.raises(Unreachable):  # nothing listens: the socket exists all the same
                await src.poll()
            return src.local_address()
        finally:
            await src.close()

    bound = asyncio.run(go())
    assert bound is not None and bound[0] == "::1"


def test_a_new_route_to_the_device_rebinds(agent: DemoSnmpAgent, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the address the route leaves from changes (DHCP, a VPN), the next poll rebinds
    instead of sending from an address that may be gone."""
    import protocols.snmp.client as client

    src = SnmpSource(spec(f"127.0.0.1:{agent.port}"))

    async def go() -> list[tuple[str, int] | None]:
        try:
            await src.poll()
            first = src.local_address()
            monkeypatch.setattr(client, "local_address_for", lambda host, port: "127.0.0.2")
            assert await src.poll()  # the agent answers the new address too
            return [first, src.local_address()]
        finally:
            await src.close()

    first, second = asyncio.run(go())
    assert first is not None and first[0] == "127.0.0.1"
    assert second is not None and second[0] == "127.0.0.2"


def test_local_address_is_what_the_kernel_routes_from() -> None:
    assert local_address_for("127.0.0.1", 161) == "127.0.0.1"
    assert local_address_for("127.3.2.1", 161) == "127.0.0.1"  # any loopback target
    assert local_address_for("ups.example", 161) is None  # not an address: leave the default


@pytest.mark.parametrize(("key", "short"), [("auth_key", "abc12"), ("priv_key", "1234567")])
def test_short_v3_key_is_a_configuration_error_before_anything_is_sent(key: str, short: str) -> None:
    # Nothing listens: had the client sent a request, poll would say "no response". It must
    # not get that far.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trap:
        trap.bind(("127.0.0.1", 0))
        trap.setblocking(False)
        creds = {"username": USER, "auth_key": AUTH, "priv_key": PRIV, key: short}
        with pytest.raises(ValueError) as info:
            SnmpSource(spec(f"127.0.0.1:{trap.getsockname()[1]}", **creds))
        with pytest.raises(BlockingIOError):
            trap.recv(2048)  # no datagram arrived
    msg = str(info.value)
    which = "auth" if key == "auth_key" else "privacy"
    assert msg.startswith("ups1: ") and f"SNMPv3 {which} key" in msg and "at least 8" in msg
    assert short not in msg  # the key itself is never shown
    assert len(msg.splitlines()) == 1


def test_privacy_key_without_auth_key_is_a_configuration_error() -> None:
    """SNMPv3 has no privacy without authentication: the key was silently dropped and the
    requests went out unencrypted."""
    with pytest.raises(ValueError, match="ups1: SNMPv3 privacy key without an auth key"):
        SnmpSource(spec("127.0.0.1:161", username=USER, priv_key=PRIV))


def test_short_v3_key_reaches_the_engine_as_a_configuration_message(agent: DemoSnmpAgent) -> None:
    """Through the registry, as `heatrack log` opens it: the message, not 'undecodable'."""
    from protocols.registry import open_source

    with pytest.raises(ValueError, match="SNMPv3 auth key is shorter than 8 characters"):
        open_source(spec(f"127.0.0.1:{agent.port}", username=USER, auth_key="abc", priv_key=PRIV))


def test_eight_character_keys_work(agent: DemoSnmpAgent) -> None:
    """The boundary: 8 is enough (the demo agent's keys are 11; pysnmp accepts 8)."""
    src = SnmpSource(spec(f"127.0.0.1:{agent.port}", username=USER, auth_key=AUTH, priv_key=PRIV))

    async def go() -> int:
        try:
            return len(await src.poll())
        finally:
            await src.close()

    assert asyncio.run(go()) > 0
    SnmpSource(spec("127.0.0.1:161", username=USER, auth_key="12345678", priv_key="abcdefgh"))
