"""Links taken from a BMC's answers (``@odata.id``, a session's Location) stay on that BMC: a
link to another host, port or scheme is bad data, and nothing is sent there (issue 7, item 4)."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from protocols.base import BadData
from protocols.redfish.transport import NotSameService, same_service_path
from tests.fakes.bmc import SESSIONS, FakeBmc, poll, spec, tree
from tests.hostile_http import HostileServer
from tests.support import REPO

HEATRACK = str(REPO / ".venv" / "bin" / "heatrack")


@pytest.fixture
def recorder() -> Iterator[HostileServer]:
    """Another service on 127.0.0.1 that records whatever reaches it: it must get nothing."""
    srv = HostileServer(lambda method, path: ("json", {}))
    yield srv
    srv.close()


@pytest.fixture
def bmc_factory() -> Iterator[Any]:
    made: list[FakeBmc] = []

    def make(resources: dict[str, Any], **kw: Any) -> FakeBmc:
        made.append(FakeBmc(resources, **kw))
        return made[-1]

    yield make
    for b in made:
        b.close()


# ---------------------------------------------------------------- the rule, pure
@pytest.mark.parametrize("uri, path", [
    ("/redfish/v1/Chassis/1", "/redfish/v1/Chassis/1"),
    ("/redfish/v1/Chassis/1/Thermal#/Temperatures/0", "/redfish/v1/Chassis/1/Thermal"),
    ("http://127.0.0.1:8000/redfish/v1/Chassis/1", "/redfish/v1/Chassis/1"),
    ("HTTP://127.0.0.1:8000/redfish/v1?$top=1", "/redfish/v1?$top=1"),
    ("/redfish/v1/a@b", "/redfish/v1/a@b"),  # an @ after the first / is part of the path
])
def test_same_service_paths_are_accepted_and_normalised(uri: str, path: str) -> None:
    assert same_service_path(uri, "http", "127.0.0.1", 8000) == path


def test_default_ports_and_ipv6_compare_as_the_same_origin() -> None:
    assert same_service_path("https://bmc.example/redfish/v1", "https", "BMC.example", 443) == "/redfish/v1"
    assert same_service_path("https://[::1]:8443/x", "https", "::1", 8443) == "/x"


@pytest.mark.parametrize("uri", [
    "@127.0.0.1:9/redfish/v1/SessionService/Sessions",  # base_url + this = another port
    "//evil.example/redfish/v1",
    "http://evil.example/redfish/v1",
    "http://127.0.0.1:9/redfish/v1",  # same host, other port
    "https://127.0.0.1:8000/redfish/v1",  # same host and port, other scheme
    "http://admin@127.0.0.1:8000/redfish/v1",  # userinfo
    "redfish/v1/Chassis",  # not starting with /
    "",
    "/redfish/v1\r\nX-Injected: 1",
    "/redfish/v1\n",
    "/redfish/v1\x00",
    "\\\\evil.example\\x",
    "/\\evil.example/x",
    "file:///etc/passwd",
    "javascript:alert(1)",
])
def test_other_services_and_malformed_links_are_refused(uri: str) -> None:
    with pytest.raises(NotSameService):
        same_service_path(uri, "http", "127.0.0.1", 8000)


# ---------------------------------------------------------------- against a BMC
def test_session_link_to_another_port_sends_nothing_there(bmc_factory: Any, recorder: HostileServer) -> None:
    """The attack from issue 7: the login POST (user name and password) went to another port."""
    res = tree()
    evil = f"@127.0.0.1:{recorder.port}{SESSIONS}"
    res["/redfish/v1"]["Links"]["Sessions"]["@odata.id"] = evil
    bmc = bmc_factory(res, password="secret")
    with pytest.raises(BadData) as err:
        poll(spec(bmc.address))
    assert "srv9" in str(err.value) and repr(evil) in str(err.value) and "nothing sent" in str(err.value)
    assert recorder.connections == 0 and recorder.requests == []
    assert bmc.calls("POST") == []  # no login anywhere, not even with a mangled URL


@pytest.mark.parametrize("member", ["http://127.0.0.1:{other}/redfish/v1/Chassis/1", "//127.0.0.1:{other}/x",
                                    "redfish/v1/Chassis/1"])
def test_member_link_elsewhere_is_bad_data(bmc_factory: Any, recorder: HostileServer, member: str) -> None:
    res = tree()
    res["/redfish/v1/Chassis"]["Members"] = [{"@odata.id": member.format(other=recorder.port)}]
    bmc = bmc_factory(res, password="secret")
    with pytest.raises(BadData, match="not a path on this service"):
        poll(spec(bmc.address))
    assert recorder.connections == 0


def test_absolute_same_origin_links_are_followed_as_paths(bmc_factory: Any) -> None:
    res = tree()
    bmc = bmc_factory(res, password="secret")
    res["/redfish/v1/Chassis"]["Members"] = [{"@odata.id": f"http://{bmc.address}/redfish/v1/Chassis/1"}]
    _, readings = poll(spec(bmc.address))
    assert readings
    assert [c[1] for c in bmc.calls("GET") if "Chassis/1" in c[1]][0] == "/redfish/v1/Chassis/1"


def test_session_location_elsewhere_gets_no_token(bmc_factory: Any, recorder: HostileServer) -> None:
    """A Location header pointing at another port would get the token at logout (DELETE)."""
    bmc = bmc_factory(tree(), password="secret")
    bmc.overrides[SESSIONS] = (201, {"X-Auth-Token": "t0k", "Location": f"@127.0.0.1:{recorder.port}/s/1"})
    with pytest.raises(BadData, match="Location"):
        poll(spec(bmc.address))
    assert recorder.connections == 0


def test_probe_exits_non_zero_and_sends_nothing_elsewhere(bmc_factory: Any, recorder: HostileServer) -> None:
    res = tree()
    res["/redfish/v1"]["Links"]["Sessions"]["@odata.id"] = f"@127.0.0.1:{recorder.port}{SESSIONS}"
    bmc = bmc_factory(res, password="secret")
    env = {**os.environ, "HEATRACK_TEST_BMC_PW": "secret"}
    p = subprocess.run([HEATRACK, "probe", f"redfish+http://{bmc.address}", "--user", "admin",
                        "--password-env", "HEATRACK_TEST_BMC_PW", "--timeout", "3"],
                       capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad data" in lines[0] and "not a path on this service" in lines[0], p.stderr
    assert recorder.connections == 0 and recorder.requests == []
