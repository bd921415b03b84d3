"""SNMP identity: snmpsim serving real UPS/PDU recordings (expected values read from the
.snmprec files), the demo agent, profile parsing and a hostile model string."""
from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocols.base import Credentials, DeviceSpec, Identity
from protocols.snmp.agent import DemoSnmpAgent
from protocols.snmp.client import SnmpSource
from protocols.snmp.profiles import ProfileError, load_profiles, parse_profile
from tests.fakes.demo_views import AUTH, PRIV, RO, RW, USER, ViewSite, demo_views
from tests.fakes.snmpsim import Agent, serve, text

SYS_DESCR, SYS_OID, SYS_NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"
UPS_IDENT = "1.3.6.1.2.1.33.1.1."
APC_UPS = "1.3.6.1.4.1.318.1.1.1.1."
RPDU2_IDENT = "1.3.6.1.4.1.318.1.1.26.2.1."


@pytest.fixture(scope="module")
def snmpsim(peers_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    with serve(peers_dir, tmp_path_factory.mktemp("snmpsim")) as agent:
        yield agent


def demo_source(port: int, kind: str) -> SnmpSource:
    return SnmpSource(DeviceSpec(id=f"{kind}1", kind=kind, protocol="snmp", address=f"127.0.0.1:{port}",
                                 credentials=Credentials(community=RO), timeout_s=2.0))


def identify(src: SnmpSource) -> Identity:
    async def go() -> Identity:
        try:
            return await src.identify()
        finally:
            await src.close()

    return asyncio.run(go())


# ---------------------------------------------------------------- snmpsim recordings
@pytest.mark.slow
@pytest.mark.parametrize("name", ["ups-ietf-eaton-93e", "ups-ietf-huawei-ups5000", "ups-ietf-santak-array3a3"])
def test_ups_mib_recordings(snmpsim: Agent, name: str) -> None:
    rec = snmpsim.records(name)
    ident = identify(snmpsim.source(name))
    assert ident.manufacturer == text(rec, UPS_IDENT + "1.0")
    assert ident.model == text(rec, UPS_IDENT + "2.0")
    assert ident.firmware == text(rec, UPS_IDENT + "3.0")
    extra = dict(ident.extra)
    assert extra["agent_firmware"] == text(rec, UPS_IDENT + "4.0")
    assert extra["sys_name"] == text(rec, SYS_NAME) and extra["sys_object_id"] == rec[SYS_OID][1]
    assert extra["profile"] == "ups-mib" and ident.serial is None  # UPS-MIB has no serial number


@pytest.mark.slow
def test_ups_mib_real_values(snmpsim: Agent) -> None:
    """The values themselves, as a person reads them off the recordings."""
    eaton = identify(snmpsim.source("ups-ietf-eaton-93e"))
    assert (eaton.manufacturer, eaton.model, eaton.firmware) == ("EATON", "EATON 93E 80", "INV: 2.08.0011")
    assert dict(eaton.extra)["agent_firmware"] == "Network Management Card V6.00 JH"
    santak = identify(snmpsim.source("ups-ietf-santak-array3a3"))
    assert (santak.manufacturer, santak.model) == ("Santak", "Array-3A3")  # the agent pads with spaces
    huawei = identify(snmpsim.source("ups-ietf-huawei-ups5000"))
    assert (huawei.manufacturer, huawei.model, huawei.firmware) == ("HUAWEI", "UPS5000", "V100R001C10B003SP00")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pdu-apc-ap8641", "pdu-apc-ap7902b"])
def test_apc_rpdu2_recordings(snmpsim: Agent, name: str) -> None:
    rec = snmpsim.records(name)
    ident = identify(snmpsim.source(name))
    assert ident.manufacturer == "APC"  # [identity.fixed]: rPDU2 names no maker
    assert ident.model == text(rec, RPDU2_IDENT + "8.1") and ident.model in ("AP8641", "AP7902B")
    assert ident.serial == text(rec, RPDU2_IDENT + "9.1")
    assert ident.firmware == text(rec, RPDU2_IDENT + "6.1") == "6.7.2"
    assert dict(ident.extra)["name"] == text(rec, RPDU2_IDENT + "3.1")
    assert dict(ident.extra)["sys_descr"].startswith("APC Web/SNMP Management Card")


@pytest.mark.slow
def test_apc_powernet_ups(snmpsim: Agent) -> None:
    rec = snmpsim.records("ups-apc-smartups-synthetic")
    ident = identify(snmpsim.source("ups-apc-smartups-synthetic"))
    assert (ident.manufacturer, ident.model) == ("APC", text(rec, APC_UPS + "1.1.0")) == ("APC", "Smart-UPS 1500")
    assert ident.serial == text(rec, APC_UPS + "2.3.0") == "AS1911000000"
    assert ident.firmware == text(rec, APC_UPS + "2.1.0") == "UPS 09.3 (ID18)"
    assert dict(ident.extra)["manufacture_date"] == "03/14/2019"


@pytest.mark.slow
@pytest.mark.parametrize("name, maker", [("pdu-raritan-px", "Raritan"), ("pdu-servertech-sentry4", "Server Technology")])
def test_pdus_without_identity_objects_say_what_the_system_group_says(snmpsim: Agent, name: str, maker: str) -> None:
    rec = snmpsim.records(name)
    ident = identify(snmpsim.source(name))
    assert ident.manufacturer == maker and ident.model is None and ident.serial is None  # not in the recording
    assert dict(ident.extra)["sys_descr"] == text(rec, SYS_DESCR)  # "Raritan Dominion PX - Firmware Version ..."


# ---------------------------------------------------------------- the demo agent
def agent(site: ViewSite, kind: str) -> DemoSnmpAgent:
    ups, pdu = (site.ups_view, None) if kind == "ups" else (None, site.pdu_view)
    return DemoSnmpAgent(ups, pdu, site, community_ro=RO, community_rw=RW, v3_user=USER,
                         v3_auth_key=AUTH, v3_priv_key=PRIV)


def test_demo_pdu_and_ups() -> None:
    site = demo_views()
    with agent(site, "pdu") as a:
        pdu = identify(demo_source(a.port, "pdu"))
    assert (pdu.manufacturer, pdu.model, pdu.firmware) == ("APC", site.pdu.model, "6.7.2")
    assert pdu.serial and len(pdu.serial) == 12
    with agent(site, "ups") as a:
        ups = identify(demo_source(a.port, "ups"))
    assert (ups.manufacturer, ups.model, ups.firmware) == ("APC", site.ups.model, "UPS 15.5 (ID1030)")
    assert dict(ups.extra)["agent_firmware"] == "heatrack demo agent 1.0"


def test_hostile_model_is_escaped_and_cut() -> None:
    site = demo_views()
    site.pdu = dataclasses.replace(site.pdu, model="AP\x1b]0;pwned\x07" + "X" * 1000)
    with agent(site, "pdu") as a:
        ident = identify(demo_source(a.port, "pdu"))
    assert ident.model is not None and ident.model.isprintable() and "\x1b" not in ident.model
    assert ident.model.startswith("AP\\x1b]0;pwned\\x07") and len(ident.model) == 128


# ---------------------------------------------------------------- profiles
def test_profiles_declare_known_identity_keys_only() -> None:
    base = {"name": "x", "match": {"probe": ["1.3.6.1.2.1.33.1.2.1.0"]}}
    with pytest.raises(ProfileError, match="unknown identity key 'colour'"):
        parse_profile({**base, "identity": {"colour": "1.3.6.1.2.1.1.1.0"}}, Path("x.toml"))
    with pytest.raises(ProfileError, match=r"\[identity.fixed\]"):
        parse_profile({**base, "identity": {"fixed": {"manufacturer": 3}}}, Path("x.toml"))
    with pytest.raises(ProfileError, match="bad OID"):
        parse_profile({**base, "identity": {"model": "not an oid!"}}, Path("x.toml"))
    p = parse_profile({**base, "identity": {"model": "1.2.3", "fixed": {"manufacturer": "ACME"}}}, Path("x.toml"))
    assert p.identity == {"model": "1.2.3"} and p.identity_fixed == {"manufacturer": "ACME"}
    shipped = load_profiles()
    assert shipped["apc-rpdu2"].identity_fixed == {"manufacturer": "APC"}
    assert set(shipped["ups-mib"].identity) == {"manufacturer", "model", "firmware", "agent_firmware", "name"}
