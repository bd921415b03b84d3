"""The demo BMC (protocols/redfish/server.py) against a small fake model: sessions and auth,
values equal to the view, power-limit PATCH by both routes, concurrency, HTTPS, dead-BMC mode."""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import socket
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from protocols.redfish.server import DemoRedfishService
from protocols.redfish.server_resources import FAN_MAX_RPM
from tests.fakes.redfish_model import PASSWORD, USER, FakeModel
from tests.support import tcp_open, wait_until

# --- helpers --------------------------------------------------------------------------------

BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
C = "/redfish/v1/Chassis/1"
S = "/redfish/v1/Systems/1"


class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, raw: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


def request(svc: DemoRedfishService, method: str, path: str, *, auth: str | None = BASIC,
            token: str | None = None, body: Any = None, headers: dict[str, str] | None = None,
            timeout: float = 5.0, conn: http.client.HTTPConnection | None = None,
            context: ssl.SSLContext | None = None) -> Reply:
    hdrs = dict(headers or {})
    if token:
        hdrs["X-Auth-Token"] = token
    elif auth:
        hdrs["Authorization"] = auth
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    own = conn is None
    if conn is None:
        u = urlsplit(svc.url)
        if u.scheme == "https":
            conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=hdrs)
        r = conn.getresponse()
        return Reply(r.status, r.headers, r.read())
    finally:
        if own:
            conn.close()


def get(svc: DemoRedfishService, path: str, **kw: Any) -> Any:
    r = request(svc, "GET", path, **kw)
    assert r.status == 200, (path, r.status, r.raw[:300])
    return r.json


def assert_redfish_error(r: Reply, status: int, key: str) -> None:
    assert r.status == status, r.raw
    err = r.json["error"]
    assert err["code"].endswith("." + key)
    info = err["@Message.ExtendedInfo"]
    assert info and info[0]["MessageId"].endswith("." + key) and info[0]["Message"]


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def bmc(model: FakeModel) -> Iterator[DemoRedfishService]:
    svc = DemoRedfishService(model.view, model, username=USER, password=PASSWORD)
    svc.start()
    yield svc
    svc.stop()


def crawl(svc: DemoRedfishService, **kw: Any) -> dict[str, dict[str, Any]]:
    """Every resource reachable from the service root through @odata.id links."""
    seen: dict[str, dict[str, Any]] = {}
    todo = ["/redfish/v1"]

    def links(obj: Any) -> Iterator[str]:
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "@odata.id" and isinstance(v, str):
                    yield v.split("#", 1)[0]
                else:
                    yield from links(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from links(v)

    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen[path] = get(svc, path, **kw)
        todo += [p for p in links(seen[path]) if p not in seen]
    return seen


# --- protocol basics ------------------------------------------------------------------------

def test_anonymous_documents(bmc: DemoRedfishService) -> None:
    r = request(bmc, "GET", "/redfish", auth=None)
    assert r.status == 200 and r.json == {"v1": "/redfish/v1/"}
    r = request(bmc, "GET", "/redfish/v1/", auth=None)
    assert r.status == 200 and r.headers["OData-Version"] == "4.0"
    root = r.json
    assert root["@odata.type"].startswith("#ServiceRoot.v1_")
    assert root["Links"]["Sessions"]["@odata.id"] == "/redfish/v1/SessionService/Sessions"
    odata = request(bmc, "GET", "/redfish/v1/odata", auth=None).json
    assert {v["url"] for v in odata["value"]} >= {"/redfish/v1/", "/redfish/v1/Chassis", "/redfish/v1/Systems"}
    meta = request(bmc, "GET", "/redfish/v1/$metadata", auth=None)
    assert meta.status == 200 and meta.headers["Content-Type"].startswith("application/xml")
    ET.fromstring(meta.raw)  # well-formed


def test_everything_else_needs_credentials(bmc: DemoRedfishService) -> None:
    for path in (C, S, "/redfish/v1/SessionService/Sessions", f"{C}/Thermal", "/redfish/v1/AccountService"):
        r = request(bmc, "GET", path, auth=None)
        assert_redfish_error(r, 401, "NoValidSession")
        assert r.headers["WWW-Authenticate"].startswith("Basic")
    wrong = "Basic " + base64.b64encode(f"{USER}:nope".encode()).decode()
    assert request(bmc, "GET", C, auth=wrong).status == 401
    assert request(bmc, "GET", C, auth="Basic !!notbase64").status == 401
    assert request(bmc, "GET", C, auth=None, token="not-a-token").status == 401
    assert request(bmc, "GET", C).status == 200
    assert request(bmc, "PATCH", f"{C}/Power", auth=None, body={}).status == 401


def test_session_create_use_delete(bmc: DemoRedfishService) -> None:
    sessions = "/redfish/v1/SessionService/Sessions"
    bad = request(bmc, "POST", sessions, auth=None, body={"UserName": USER, "Password": "wrong"})
    assert bad.status == 401 and "error" in bad.json
    assert request(bmc, "POST", sessions, auth=None, body={"UserName": USER}).status == 400
    r = request(bmc, "POST", sessions, auth=None, body={"UserName": USER, "Password": PASSWORD})
    assert r.status == 201
    token, location = r.headers["X-Auth-Token"], r.headers["Location"]
    assert token and location.startswith(sessions + "/")
    assert r.json["@odata.id"] == location and r.json["UserName"] == USER
    assert get(bmc, location, token=token)["UserName"] == USER
    members = get(bmc, sessions, token=token)["Members"]
    assert {"@odata.id": location} in members
    assert get(bmc, C, token=token)["Id"] == "1"
    assert request(bmc, "DELETE", location, token=token).status == 204
    assert request(bmc, "GET", C, auth=None, token=token).status == 401
    assert get(bmc, sessions)["Members"] == []
    assert request(bmc, "DELETE", location).status == 404


def test_python_redfish_library_session_login(bmc: DemoRedfishService) -> None:
    import redfish

    client = redfish.redfish_client(base_url=bmc.url, username=USER, password=PASSWORD,
                                    default_prefix="/redfish/v1", timeout=5, max_retry=1)
    client.login(auth="session")
    try:
        assert client.get(f"{C}/Power").dict["PowerControl"][0]["PowerConsumedWatts"] == 1804.5
        assert len(get(bmc, "/redfish/v1/SessionService/Sessions")["Members"]) == 1
    finally:
        client.logout()
    assert get(bmc, "/redfish/v1/SessionService/Sessions")["Members"] == []


def test_unknown_paths_and_methods(bmc: DemoRedfishService) -> None:
    assert_redfish_error(request(bmc, "GET", f"{C}/Nope"), 404, "ResourceMissingAtURI")
    r = request(bmc, "PATCH", S, body={"AssetTag": "x"})
    assert_redfish_error(r, 405, "OperationNotAllowed")
    assert "PATCH" not in r.headers["Allow"]
    assert request(bmc, "POST", C, body={}).status == 405
    assert request(bmc, "PUT", f"{C}/Power", body={}).status == 405
    bad_json = request(bmc, "PATCH", f"{C}/Power", headers={"Content-Type": "application/json"})
    assert bad_json.status == 400
    head = request(bmc, "HEAD", C)
    assert head.status == 200 and head.raw == b""
    assert_redfish_error(request(bmc, "OPTIONS", C), 501, "GeneralError")
    with socket.create_connection(("127.0.0.1", urlsplit(bmc.url).port), timeout=5) as raw:
        raw.sendall(b"BLAH BLAH BLAH BLAH\r\n\r\n")
        reply = raw.makefile("rb").read()
    assert b'"@Message.ExtendedInfo"' in reply  # garbage gets an error (HTTP/0.9 style: no status line)
    assert request(bmc, "GET", C).status == 200


# --- values ---------------------------------------------------------------------------------

def test_every_resource_value_equals_the_view(bmc: DemoRedfishService, model: FakeModel) -> None:
    v = model.view()
    system = get(bmc, S)
    assert system["PowerState"] == "On" and system["SerialNumber"] == v.serial
    procs = get(bmc, f"{S}/Processors")
    assert procs["Members@odata.count"] == len(v.cpu_temps_c) + len(v.gpus)
    for i, t in enumerate(v.cpu_temps_c, 1):
        assert get(bmc, f"{S}/Processors/CPU{i}")["ProcessorType"] == "CPU"
        assert get(bmc, f"{S}/Processors/CPU{i}/EnvironmentMetrics")["TemperatureCelsius"]["Reading"] == t
    for g in v.gpus:
        p = get(bmc, f"{S}/Processors/GPU{g.index}")
        assert p["ProcessorType"] == "GPU" and p["Model"] == g.name
        assert g.uuid.endswith(p["UUID"])
        assert p["Throttled"] == bool(g.throttle_reasons & 0x4)
        env = get(bmc, p["EnvironmentMetrics"]["@odata.id"])
        assert env["TemperatureCelsius"]["Reading"] == g.temperature_c
        assert env["PowerWatts"]["Reading"] == g.power_w
        assert env["EnergyJoules"]["Reading"] == g.energy_j
        assert env["PowerLimitWatts"]["SetPoint"] == g.power_limit_w
        assert env["PowerLimitWatts"]["AllowableMax"] == g.power_limit_max_w
        assert get(bmc, p["Metrics"]["@odata.id"])["BandwidthPercent"] == g.utilization_pct

    thermal = get(bmc, f"{C}/Thermal")
    by_ctx: dict[str, list[float]] = {}
    for t in thermal["Temperatures"]:
        by_ctx.setdefault(t["PhysicalContext"], []).append(t["ReadingCelsius"])
    assert by_ctx["Intake"] == [v.inlet_c] and by_ctx["Exhaust"] == [v.exhaust_c]
    assert by_ctx["CPU"] == v.cpu_temps_c
    assert [f["Reading"] for f in thermal["Fans"]] == [round(r) for r in v.fans_rpm]
    assert {f["ReadingUnits"] for f in thermal["Fans"]} == {"RPM"}

    power = get(bmc, f"{C}/Power")
    pc = power["PowerControl"][0]
    assert pc["PowerConsumedWatts"] == v.chassis_power_w and pc["PowerLimit"]["LimitInWatts"] == v.power_limit_w
    assert [(p["PowerInputWatts"], p["LastPowerOutputWatts"]) for p in power["PowerSupplies"]] == [
        (p.input_w, p.output_w) for p in v.psus]

    tm = get(bmc, f"{C}/ThermalSubsystem/ThermalMetrics")
    assert tm["TemperatureSummaryCelsius"]["Intake"]["Reading"] == v.inlet_c
    assert tm["TemperatureSummaryCelsius"]["Exhaust"]["Reading"] == v.exhaust_c
    assert [r["Reading"] for r in tm["TemperatureReadingsCelsius"]] == [
        v.inlet_c, v.exhaust_c, *v.cpu_temps_c, *(g.temperature_c for g in v.gpus)]
    fans = get(bmc, f"{C}/ThermalSubsystem/Fans")["Members"]
    assert len(fans) == len(v.fans_rpm)
    for link, rpm in zip(fans, v.fans_rpm, strict=True):
        sp = get(bmc, link["@odata.id"])["SpeedPercent"]
        assert sp["SpeedRPM"] == rpm and sp["Reading"] == pytest.approx(rpm / FAN_MAX_RPM * 100, abs=0.05)
    cc = get(bmc, f"{C}/ThermalSubsystem/CoolantConnectors/1")
    assert cc["SupplyTemperatureCelsius"]["Reading"] == v.coolant_supply_c
    assert cc["ReturnTemperatureCelsius"]["Reading"] == v.coolant_return_c
    assert cc["DeltaTemperatureCelsius"]["Reading"] == pytest.approx(v.coolant_return_c - v.coolant_supply_c)
    assert cc["FlowLitersPerMinute"]["Reading"] == v.coolant_flow_lpm
    assert cc["HeatRemovedkW"]["Reading"] == pytest.approx(
        v.coolant_flow_lpm / 60 * 4.186 * (v.coolant_return_c - v.coolant_supply_c), abs=1e-3)

    for psu in v.psus:
        m = get(bmc, f"{C}/PowerSubsystem/PowerSupplies/{psu.id}/Metrics")
        assert m["InputPowerWatts"]["Reading"] == psu.input_w
        assert m["OutputPowerWatts"]["Reading"] == psu.output_w
        assert m["InputVoltage"]["Reading"] == psu.input_v
        assert m["EnergykWh"]["Reading"] == psu.energy_kwh

    env = get(bmc, f"{C}/EnvironmentMetrics")
    assert env["PowerWatts"]["Reading"] == v.chassis_power_w
    assert env["EnergykWh"]["Reading"] == v.energy_kwh
    assert env["TemperatureCelsius"]["Reading"] == v.inlet_c
    assert env["PowerLimitWatts"]["SetPoint"] == v.power_limit_w

    ctl = get(bmc, f"{C}/Controls/PowerLimit")
    assert (ctl["ControlType"], ctl["SetPointUnits"], ctl["ControlMode"]) == ("Power", "W", "Automatic")
    assert (ctl["SetPoint"], ctl["AllowableMin"], ctl["AllowableMax"]) == (
        v.power_limit_w, v.power_limit_min_w, v.power_limit_max_w)


def test_values_follow_the_live_view(bmc: DemoRedfishService, model: FakeModel) -> None:
    before = get(bmc, f"{C}/EnvironmentMetrics")["PowerWatts"]["Reading"]
    model.update(chassis_power_w=before + 123.25, inlet_c=30.5, powered=False, power_limit_w=None)
    assert get(bmc, f"{C}/EnvironmentMetrics")["PowerWatts"]["Reading"] == before + 123.25
    assert get(bmc, f"{C}/ThermalSubsystem/ThermalMetrics")["TemperatureSummaryCelsius"]["Intake"]["Reading"] == 30.5
    assert get(bmc, S)["PowerState"] == "Off"
    ctl = get(bmc, f"{C}/Controls/PowerLimit")
    assert ctl["SetPoint"] is None and ctl["ControlMode"] == "Disabled"
    assert get(bmc, f"{C}/Power")["PowerControl"][0]["PowerLimit"]["LimitInWatts"] is None


def test_every_link_resolves_and_excerpts_match_their_sensors(bmc: DemoRedfishService) -> None:
    tree = crawl(bmc)
    sensors = {p: body for p, body in tree.items() if body["@odata.type"].startswith("#Sensor.")}
    assert len(sensors) == get(bmc, f"{C}/Sensors")["Members@odata.count"] > 20
    checked = 0

    def walk(obj: Any) -> None:
        nonlocal checked
        if isinstance(obj, dict):
            uri = obj.get("DataSourceUri")
            if uri and "Reading" in obj:
                assert uri in sensors, uri
                assert obj["Reading"] == sensors[uri]["Reading"], uri
                checked += 1
            elif uri:
                assert uri in tree, uri
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    for body in tree.values():
        assert body["@odata.id"] in tree
        assert body["@odata.context"].startswith("/redfish/v1/$metadata#")
        walk(body)
    assert checked > 30


def test_metadata_references_exist_and_cover_every_type(bmc: DemoRedfishService, peers_dir: Path) -> None:
    csdl = peers_dir / "redfish" / "schemas" / "csdl"
    ns = {"edmx": "http://docs.oasis-open.org/odata/ns/edmx"}
    edm = "http://docs.oasis-open.org/odata/ns/edm"
    doc = ET.fromstring(request(bmc, "GET", "/redfish/v1/$metadata", auth=None).raw)
    included: set[str] = set()
    for ref in doc.findall("edmx:Reference", ns):
        schema_file = ET.parse(csdl / ref.get("Uri", "").rsplit("/", 1)[1]).getroot()
        defined = {s.get("Namespace") for s in schema_file.iter(f"{{{edm}}}Schema")}
        for inc in ref.findall("edmx:Include", ns):
            assert inc.get("Namespace") in defined, (ref.get("Uri"), inc.get("Namespace"))
            included.add(inc.get("Namespace"))
    for body in crawl(bmc).values():
        namespace = body["@odata.type"][1:].rsplit(".", 1)[0]
        assert namespace in included, namespace
    # The service's EntityContainer extends a container that the referenced CSDL really defines.
    container = doc.find(f"edmx:DataServices/{{{edm}}}Schema/{{{edm}}}EntityContainer", ns)
    assert container is not None
    base_ns, base_name = container.get("Extends", "").rsplit(".", 1)
    assert base_ns in included
    root_csdl = ET.parse(csdl / f"{base_ns.split('.')[0]}_v1.xml").getroot()
    assert any(s.get("Namespace") == base_ns and s.find(f"{{{edm}}}EntityContainer[@Name='{base_name}']") is not None
               for s in root_csdl.iter(f"{{{edm}}}Schema"))


# --- PATCH ----------------------------------------------------------------------------------

def test_patch_legacy_power_limit(bmc: DemoRedfishService, model: FakeModel) -> None:
    r = request(bmc, "PATCH", f"{C}/Power", body={"PowerControl": [{"PowerLimit": {"LimitInWatts": 1500}}]})
    assert r.status == 200
    assert model.calls == [("srv1", 1500.0)]
    assert r.json["PowerControl"][0]["PowerLimit"]["LimitInWatts"] == 1500
    assert get(bmc, f"{C}/Controls/PowerLimit")["SetPoint"] == 1500
    r = request(bmc, "PATCH", f"{C}/Power", body={"PowerControl": [{"PowerLimit": {"LimitInWatts": None}}]})
    assert r.status == 200 and model.view().power_limit_w is None


def test_patch_control_setpoint(bmc: DemoRedfishService, model: FakeModel) -> None:
    ctl = f"{C}/Controls/PowerLimit"
    r = request(bmc, "PATCH", ctl, body={"SetPoint": 1234.5})
    assert r.status == 200 and r.json["SetPoint"] == 1234.5
    assert get(bmc, f"{C}/Power")["PowerControl"][0]["PowerLimit"]["LimitInWatts"] == 1234.5
    assert get(bmc, f"{C}/EnvironmentMetrics")["PowerLimitWatts"]["SetPoint"] == 1234.5
    assert request(bmc, "PATCH", ctl, body={"ControlMode": "Disabled"}).json["SetPoint"] is None
    assert model.calls[-1] == ("srv1", None)
    r = request(bmc, "PATCH", f"{C}/EnvironmentMetrics", body={"PowerLimitWatts": {"SetPoint": 2000}})
    assert r.status == 200 and model.view().power_limit_w == 2000


def test_patch_errors_are_redfish_errors_and_change_nothing(bmc: DemoRedfishService, model: FakeModel) -> None:
    ctl = f"{C}/Controls/PowerLimit"
    before = model.view().power_limit_w
    too_high = model.view().power_limit_max_w + 1
    assert_redfish_error(request(bmc, "PATCH", ctl, body={"SetPoint": too_high}), 400, "PropertyValueOutOfRange")
    assert_redfish_error(request(bmc, "PATCH", f"{C}/Power",
                                 body={"PowerControl": [{"PowerLimit": {"LimitInWatts": 1}}]}),
                         400, "PropertyValueOutOfRange")
    assert_redfish_error(request(bmc, "PATCH", ctl, body={"SetPoint": "lots"}), 400, "PropertyValueTypeError")
    assert_redfish_error(request(bmc, "PATCH", ctl, body={"SetPoint": True}), 400, "PropertyValueTypeError")
    assert_redfish_error(request(bmc, "PATCH", ctl, body={"AllowableMax": 9999}), 400, "PropertyNotWritable")
    assert_redfish_error(request(bmc, "PATCH", ctl, body={"ControlMode": "Turbo"}), 400, "PropertyValueNotInList")
    assert_redfish_error(request(bmc, "PATCH", f"{C}/Power", body={"PowerControl": [{"PowerConsumedWatts": 1}]}),
                         400, "PropertyNotWritable")
    assert request(bmc, "PATCH", ctl, body={"SetPoint": 1000}, headers={"If-Match": '"stale"'}).status == 412
    assert model.view().power_limit_w == before
    assert get(bmc, ctl)["SetPoint"] == before
    etag = request(bmc, "GET", ctl).headers["ETag"]
    assert request(bmc, "PATCH", ctl, body={"SetPoint": 1000}, headers={"If-Match": etag}).status == 200


# --- concurrency, TLS, dead BMC -------------------------------------------------------------

def test_idle_keepalive_client_does_not_block_others(bmc: DemoRedfishService) -> None:
    u = urlsplit(bmc.url)
    idle = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    stalled = socket.create_connection((u.hostname, u.port), timeout=5)
    try:
        assert request(bmc, "GET", C, conn=idle).status == 200  # keep-alive: stays open
        stalled.sendall(b"GET /redfish/v1 HTTP/1.1\r\nHost: x\r\n")  # half a request, never finished
        t0 = time.monotonic()
        assert request(bmc, "GET", f"{C}/Power", timeout=2).status == 200
        assert time.monotonic() - t0 < 1.5  # not the 2 s timeout: nobody waited for the idle ones
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda p: request(bmc, "GET", p, timeout=5).status,
                                  [f"{C}/Sensors", f"{C}/Thermal", S, f"{C}/EnvironmentMetrics"] * 6))
        assert codes == [200] * 24
        assert request(bmc, "GET", S, conn=idle).status == 200  # the same connection is reused
    finally:
        idle.close()
        stalled.close()


def test_https_with_self_signed_certificate(model: FakeModel) -> None:
    with DemoRedfishService(model.view, model, username=USER, password=PASSWORD, tls=True) as svc:
        assert svc.url.startswith("https://127.0.0.1:")
        assert svc.cert_file is not None and svc.certificate_pem and svc.certificate_fingerprint
        with pytest.raises(ssl.SSLCertVerificationError):
            request(svc, "GET", "/redfish/v1", context=ssl.create_default_context())
        ctx = ssl.create_default_context(cafile=str(svc.cert_file))  # hostname 127.0.0.1 checked too
        assert get(svc, C, context=ctx)["Id"] == "1"
        u = urlsplit(svc.url)
        # A client that connects and never starts TLS must not hold up the accept loop.
        with socket.create_connection((u.hostname, u.port), timeout=5):
            assert get(svc, S, context=ctx)["Id"] == "1"
            with ctx.wrap_socket(socket.create_connection((u.hostname, u.port), timeout=5),
                                 server_hostname="127.0.0.1") as tls:
                der = tls.getpeercert(binary_form=True)
        digest = hashlib.sha256(der).hexdigest().upper()
        assert svc.certificate_fingerprint.replace(":", "") == digest
        assert ssl.DER_cert_to_PEM_cert(der).strip() == svc.certificate_pem.strip()
        assert request(svc, "GET", C, auth=None, context=ctx).status == 401
    assert not svc.cert_file or not svc.cert_file.exists()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_unreachable_bmc_times_out_then_recovers(model: FakeModel, tls: bool) -> None:
    with DemoRedfishService(model.view, model, username=USER, password=PASSWORD, tls=tls) as bmc:
        ctx = ssl.create_default_context(cafile=str(bmc.cert_file)) if tls else None
        u = urlsplit(bmc.url)
        if tls:
            kept: http.client.HTTPConnection = http.client.HTTPSConnection(
                u.hostname, u.port, timeout=0.3, context=ctx)
        else:
            kept = http.client.HTTPConnection(u.hostname, u.port, timeout=0.3)
        assert request(bmc, "GET", C, conn=kept).status == 200
        model.update(reachable=False)
        with pytest.raises(TimeoutError):
            request(bmc, "GET", C, timeout=0.3, context=ctx)  # new connection: TCP accepted, no reply
        with pytest.raises(TimeoutError):
            request(bmc, "GET", "/redfish/v1", auth=None, conn=kept)  # a kept-alive one goes silent too
        kept.close()
        assert tcp_open(u.port)  # a dead web server, not a closed port
        # Clients that gave up and closed do not leave hung handler threads behind.
        wait_until(lambda: bmc.connection_count == 0, 3.0, "hung connections released")
        model.update(reachable=True)
        assert get(bmc, C, timeout=2, context=ctx)["Id"] == "1"


def test_stop_releases_hung_handlers_and_the_port(model: FakeModel) -> None:
    svc = DemoRedfishService(model.view, model, username=USER, password=PASSWORD)
    port = svc.start()
    model.update(reachable=False)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /redfish/v1 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: svc.connection_count == 1, 3.0, "connection accepted")
        t0 = time.monotonic()
        svc.stop()
        assert time.monotonic() - t0 < 2.0
        try:
            reply = conn.recv(1)
        except ConnectionResetError:
            reply = b""
        assert reply == b""  # closed (FIN or RST), never an HTTP reply
    wait_until(lambda: not tcp_open(port), 2.0, "port released")


def test_a_client_polls_no_legacy_resource_the_new_model_covers(bmc: DemoRedfishService) -> None:
    """Our BMC serves both models, with every legacy value also in the new one: discovery must
    drop Thermal and Power (two GETs per poll for nothing; a bug once ranked by the last probe)."""
    import asyncio

    from protocols.base import Credentials, DeviceSpec
    from protocols.redfish.client import RedfishSource

    spec = DeviceSpec(id="srv1", kind="server", protocol="redfish", address=f"127.0.0.1:{bmc.port}",
                      credentials=Credentials(USER, PASSWORD), timeout_s=5.0)

    async def go() -> tuple[list[str], list[str]]:
        src = RedfishSource(spec)
        try:
            readings = await src.poll()
            assert src.map is not None
            return list(src.map.uris), [src.provenance[r.series_key] for r in readings]
        finally:
            await src.close()

    uris, provenance = asyncio.run(go())
    legacy = [u for u in uris if u.endswith(("/Thermal", "/Power"))]
    assert legacy == [], f"polled though every value they give is discarded: {legacy}"
    assert not any("/Thermal#" in p or "/Power#" in p for p in provenance)
