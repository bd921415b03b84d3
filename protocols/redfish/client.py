"""Redfish client: one BMC as a Source of Readings, plus its power-limit action (perform).

python-redfish-library is synchronous, so every call runs in a worker thread under a
per-device lock: a daemon thread of its own, not the loop's default executor, because a worker
stuck on a hostile BMC must never hold up the program's exit (asyncio.run() and
concurrent.futures both join executor threads at exit). When the caller stops waiting (the
poll's deadline, a shutdown) the worker's socket is shut down, so it ends at once; every request
also has a wall-clock deadline and a size cap of its own (protocols/redfish/transport.py).
The resource map is discovered once (Chassis,
their legacy and new thermal/power resources, Sensors, Controls, Systems' Processors) and
each poll then GETs only the cached URIs.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redfish
import requests
from redfish.rest.v1 import (
    InvalidCredentialsError,
    JsonDecodingError,
    RestResponse,
    RetriesExhaustedError,
    RisObject,
)

from protocols.base import (
    Action,
    ActionRefused,
    ActionResult,
    AuthFailed,
    BadData,
    CertificateChanged,
    DeviceError,
    DeviceSpec,
    Identity,
    Reading,
    SetPowerLimit,
    Unreachable,
    check,
    now,
    refuse,
)
from protocols.redfish import parse
from protocols.redfish.parse import Extractor, Payload, Sample, as_dict
from protocols.redfish.tls import PinnedAdapter, PinStore, fetch_fingerprint
from protocols.redfish.transport import (
    MAX_RESPONSE_BYTES,
    Aborted,
    CallGuard,
    DeadlineExceeded,
    NotSameService,
    ResponseTooLarge,
    SameServiceSession,
    current_guard,
    same_service_path,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

ROOT = "/redfish/v1"
_MISSING = {404, 405, 410, 501}  # a link that leads nowhere: tolerated
_BUSY = {429, 503}  # the BMC asks to come back later


@dataclasses.dataclass(slots=True)
class Probe:
    """One cached URI and how to turn its payload into samples."""

    uri: str
    extract: Extractor
    kind: str  # for provenance and tests: "Thermal", "Sensor", "Control", ...


@dataclasses.dataclass(slots=True)
class ResourceMap:
    """What discovery found. Polls read ``probes``; actions use the power-limit targets."""

    probes: list[Probe] = dataclasses.field(default_factory=list)
    power_control_uri: str | None = None  # new model: Control with ControlType Power
    legacy_power_uri: str | None = None  # legacy: Power (PowerControl[0].PowerLimit)
    gpus: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # inventory
    chassis: list[str] = dataclasses.field(default_factory=list)

    @property
    def uris(self) -> list[str]:
        return list(dict.fromkeys(p.uri for p in self.probes))


class RedfishSource:
    """A server BMC over Redfish. ``spec.options``: ``ca_file`` (verify against this CA),
    ``pin_store`` (JSON file of pinned certificate fingerprints; in memory when absent),
    ``auth`` ("session", default, falls back to Basic where sessions do not work; or "basic"),
    ``max_response_bytes`` (cap on one response body, default MAX_RESPONSE_BYTES = 4 MiB)."""

    def __init__(self, spec: DeviceSpec) -> None:
        self.spec = spec
        self._lock = asyncio.Lock()
        self._thread_lock = threading.Lock()
        self._client: Any = None
        # How the current (or last) connection authenticated: "session" | "basic" | None.
        self.auth_mode: str | None = None
        self.map: ResourceMap | None = None
        # (channel, quantity) -> (URI, sample) of the last poll: see ``provenance``.
        self._merged: dict[tuple[str, str], tuple[str, Sample]] = {}
        self.requests_made = 0
        self.clock: Callable[[], float] = now  # stamps readings (fast-forward: simulated time)
        self._fresh: dict[str, Payload] = {}
        self._root: Payload = {}
        # Every payload the last discovery read, kept for identify() (Systems, Chassis): the
        # identity right after discovery costs only the Manager's GETs.
        self._recording: dict[str, Payload] | None = None
        self._discovered: dict[str, Payload] = {}
        u = urlsplit("//" + spec.address)
        if not u.hostname:
            raise ValueError(f"{spec.id}: bad Redfish address {spec.address!r} (want host:port)")
        self.host = u.hostname
        self.port = u.port or (443 if spec.tls else 80)
        self.scheme = "https" if spec.tls else "http"
        self.pin_key = f"{self.host}:{self.port}"
        self.pins = PinStore(spec.options.get("pin_store"))
        cap = spec.options.get("max_response_bytes", MAX_RESPONSE_BYTES)
        if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            raise ValueError(f"{spec.id}: max_response_bytes must be a positive whole number of bytes, got {cap!r}")
        self.max_response_bytes = cap

    # ------------------------------------------------------------ async API
    async def poll(self) -> list[Reading]:
        async with self._lock:
            return await self._in_worker(self._poll)

    async def close(self) -> None:
        async with self._lock:
            await self._in_worker(self._disconnect)

    async def identify(self) -> Identity:
        """Manufacturer, model, serial and BIOS from the ComputerSystem (the primary Chassis
        where the system lacks them, or where there is no system: a CDU), the BMC's firmware
        from its Manager. Reuses what discovery just read; called once per connection."""
        async with self._lock:
            return await self._in_worker(self._identify)

    async def discover(self) -> ResourceMap:
        """(Re)discover the resource map now; poll() does it on first use."""
        async with self._lock:
            return await self._in_worker(self._rediscover)

    async def perform(self, action: Action) -> ActionResult:
        """A BMC takes one action: the chassis power limit (SetPowerLimit without a GPU),
        written to the new Control if offered, else legacy PowerControl, bounds-checked, then
        re-read: ok only when the read-back equals the request. Anything else is refused."""
        check(self.spec.id, self.spec.address, action)
        if not isinstance(action, SetPowerLimit):
            raise refuse(self.spec.id, self.spec.address, action,
                         "a Redfish BMC here takes only a chassis power limit (SetPowerLimit)")
        if action.gpu is not None:
            raise refuse(self.spec.id, self.spec.address, action,
                         "a GPU is capped through NVML on its host, not through the BMC")
        async with self._lock:
            return await self._in_worker(self._set_power_limit, float(action.watts))

    async def _in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in a daemon thread; if the caller is cancelled, abort the thread's I/O."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        guard = CallGuard()

        def settle(ok: bool, value: Any) -> None:
            if not fut.done():
                fut.set_result(value) if ok else fut.set_exception(value)

        def work() -> None:
            with guard.active():
                try:
                    outcome: tuple[bool, Any] = (True, self._locked(fn, *args))
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                    outcome = (False, exc)
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                loop.call_soon_threadsafe(settle, *outcome)

        threading.Thread(target=work, name=f"redfish:{self.spec.id}", daemon=True).start()
        try:
            return await fut
        except asyncio.CancelledError:
            guard.abort()
            raise

    def retrust(self) -> None:
        """Forget the pinned certificate: the next connection pins whatever it is shown."""
        self.pins.forget(self.pin_key)

    def _locked(self, fn: Any, *args: Any) -> Any:
        # A BMC that drips bytes defeats per-recv timeouts and keeps a worker thread busy after
        # the engine gave up on the poll. Never queue a second worker behind it: that would
        # drain the shared thread pool and stall every other device.
        if not self._thread_lock.acquire(timeout=self.spec.timeout_s):
            raise self._err(Unreachable, f"the previous request has not returned after {self.spec.timeout_s:g} s "
                                         "more (the BMC answers too slowly); not queuing another")
        try:
            guard = current_guard()
            if guard is not None:
                guard.check()  # given up on while waiting for the lock
            return fn(*args)
        finally:
            self._thread_lock.release()

    # ------------------------------------------------------------ errors
    def _err(self, cls: type[DeviceError], what: str) -> DeviceError:
        return cls(self.spec.id, self.spec.address, what)

    def _map_exception(self, exc: BaseException, what: str) -> DeviceError:
        if isinstance(exc, DeviceError):
            return exc
        if isinstance(exc, RetriesExhaustedError):
            cause = exc.__cause__ or exc
            if isinstance(cause, NotSameService):
                return self._err(BadData, f"{what}: {cause}")
            if isinstance(cause, ResponseTooLarge):
                return self._err(BadData, f"{_naming(what, cause)} (max_response_bytes)")
            if isinstance(cause, (DeadlineExceeded, Aborted)):
                return self._err(Unreachable, _naming(what, cause))
            if isinstance(cause, requests.exceptions.SSLError) and "ingerprint" in str(cause):
                return self._certificate_changed()
            if isinstance(cause, requests.exceptions.SSLError):
                return self._err(AuthFailed, f"{what}: TLS certificate not trusted: {_short(cause)}")
            if isinstance(cause, requests.exceptions.TooManyRedirects):
                return self._redirect_refused(cause, what)
            if isinstance(cause, requests.exceptions.ReadTimeout):
                return self._err(Unreachable, f"{what}: no answer within {self.spec.timeout_s:g} s "
                                 "(connected, but the BMC did not reply)")
            if isinstance(cause, requests.exceptions.ConnectTimeout):
                return self._err(Unreachable, f"{what}: no connection within {self.spec.timeout_s:g} s")
            return self._err(Unreachable, f"{what}: {type(cause).__name__}: {_short(cause)}")
        if isinstance(exc, JsonDecodingError):
            return self._err(BadData, f"{what}: invalid JSON")
        if isinstance(exc, InvalidCredentialsError):
            return self._err(AuthFailed, f"{what}: credentials refused (HTTP 401)")
        if isinstance(exc, parse.BadValue):
            return self._err(BadData, f"{what}: {exc}")
        return self._err(BadData, f"{what}: {type(exc).__name__}: {_short(exc)}")

    def _redirect_refused(self, exc: requests.exceptions.TooManyRedirects, what: str) -> DeviceError:
        resp = exc.response
        status = resp.status_code if resp is not None else "3xx"
        target = resp.headers.get("Location", "?") if resp is not None else "?"
        hint = " (the BMC wants HTTPS: use redfish://)" if not self.spec.tls and \
            str(target).lower().startswith("https:") else ""
        return self._err(BadData, f"{what}: HTTP {status} redirect to {_short_text(str(target))} refused: credentials "
                                  f"and session go only to {self.spec.address}{hint}")

    def _certificate_changed(self) -> DeviceError:
        pinned = self.pins.get(self.pin_key) or "?"
        try:
            current = self._fingerprint()
        except OSError:
            current = "(unavailable)"
        return self._err(CertificateChanged,
                         f"certificate changed: pinned {pinned}, now {current}; re-trust it if expected")

    # ------------------------------------------------------------ connection
    def _fingerprint(self) -> str:
        """The presented certificate's fingerprint, within the request deadline."""
        guard = current_guard()
        with guard.deadline(self.spec.timeout_s) if guard is not None else contextlib.nullcontext():
            return fetch_fingerprint(self.host, self.port, self.spec.timeout_s)

    def _trusted_fingerprint(self) -> str:
        """Pin on first use; refuse a certificate that differs from the pin."""
        try:
            current = self._fingerprint()
        except (OSError, ssl.SSLError) as exc:
            raise self._err(Unreachable, f"TLS handshake failed: {type(exc).__name__}: {_short(exc)}") from exc
        try:
            pinned = self.pins.get(self.pin_key)
        except ValueError as exc:
            raise self._err(AuthFailed, str(exc)) from exc
        if pinned is None:
            self.pins.set(self.pin_key, current)
            log.info("%s: pinned certificate %s for %s", self.spec.id, current, self.pin_key)
            return current
        if pinned.upper() != current:
            raise self._err(CertificateChanged,
                            f"certificate changed: pinned {pinned}, now {current}; re-trust it if expected")
        return current

    def _connect(self) -> None:
        if self._client is not None:
            return
        spec = self.spec
        adapter = None
        cafile = None
        if spec.tls:
            cafile = spec.options.get("ca_file")
            if not cafile:
                adapter = PinnedAdapter(self._trusted_fingerprint())
        host = f"[{self.host}]" if ":" in self.host else self.host
        # max_retry=0: the library's retry loop sleeps 1 s and retries, so max_retry=1 would
        # double the time a dead BMC takes; one attempt fails in ~timeout_s.
        client = redfish.redfish_client(
            base_url=f"{self.scheme}://{host}:{self.port}", username=spec.credentials.username,
            password=spec.credentials.password, default_prefix=ROOT, cafile=cafile,
            timeout=spec.timeout_s, max_retry=0, check_connectivity=False, https_adapter=adapter)
        # Every request, the library's own login and logout included, goes through a session
        # that sends nothing off this BMC's origin.
        session = SameServiceSession(self.scheme, self.host, self.port, deadline_s=spec.timeout_s,
                                     max_bytes=self.max_response_bytes)
        if adapter is not None:
            session.mount("https://", adapter)
        client._session.close()
        client._session = session
        # Never follow a redirect: requests would replay the session POST (password) or send
        # X-Auth-Token to wherever it points, over plain HTTP or to another host, bypassing
        # the pinned certificate.
        client._session.max_redirects = 0
        try:
            resp = self._request(client, "GET", ROOT)
            if resp.status == 503:
                raise self._err(Unreachable, "service root: HTTP 503 (busy)")
            root: Payload = {}
            if resp.status != 401:  # some BMCs wrongly protect the root
                if resp.status != 200:
                    raise self._err(BadData, f"service root: HTTP {resp.status}, not a Redfish service")
                root = self._json(resp, ROOT)
            client.root = RisObject.parse(root)
            client.root_resp = resp
            links = as_dict(root.get("Links"))
            sessions = parse.odata_id(links.get("Sessions"))
            client.login_url = self._path(sessions) if sessions else f"{ROOT}/SessionService/Sessions"
            self._root = root
            self._login(client)
        except DeviceError:
            client._session.close()
            raise
        except Exception as exc:
            client._session.close()
            raise self._map_exception(exc, "connect") from exc
        self._client = client

    def _login(self, client: Any) -> None:
        creds = self.spec.credentials
        if not creds.username:
            self.auth_mode = None
            return
        if self.spec.options.get("auth", "session") == "session":
            resp = self._request(client, "POST", client.login_url,
                                 body={"UserName": creds.username, "Password": creds.password or ""})
            if resp.status in (401, 403):
                raise self._err(AuthFailed, f"session login refused (HTTP {resp.status})")
            token = resp.getheader("X-Auth-Token")
            if token and resp.status in (200, 201, 202, 204):
                location = resp.getheader("Location")
                if not location:
                    try:
                        body = resp.dict
                        location = body.get("@odata.id") if isinstance(body, dict) else None
                    except JsonDecodingError:
                        location = None
                if location:
                    try:
                        location = same_service_path(location, self.scheme, self.host, self.port)
                    except NotSameService as e:
                        raise self._err(BadData, f"session Location {_short_text(location)!r} is not a path "
                                                 f"on this service ({e}); nothing sent there") from None
                client.set_session_key(token)
                client.set_session_location(location)
                self.auth_mode = "session"
                return
            log.info("%s: no working SessionService (HTTP %s, token %s); using Basic auth",
                     self.spec.id, resp.status, "present" if token else "absent")
        client.login(auth="basic")
        self.auth_mode = "basic"

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self.auth_mode == "session" and client.get_session_location():
                client.logout()  # BMCs run out of sessions when clients leak them
        except Exception as exc:  # noqa: BLE001 - closing must not fail the caller
            log.info("%s: logout failed: %s", self.spec.id, _short(exc))
        finally:
            client._session.close()

    def _path(self, uri: str) -> str:
        """The path a link from a response names on this BMC; BadData if it leads anywhere else."""
        try:
            return same_service_path(uri, self.scheme, self.host, self.port)
        except NotSameService as e:
            raise self._err(BadData, f"link {_short_text(uri)!r} is not a path on this service ({e}); "
                                     "nothing sent") from None

    def _request(self, client: Any, method: str, uri: str, body: Any = None,
                 headers: dict[str, str] | None = None) -> RestResponse:
        """The one place requests are made: the target is checked before anything is sent."""
        uri = self._path(uri)
        self.requests_made += 1
        if method == "GET":
            return client.get(uri, headers=headers)
        if method == "POST":
            return client.post(uri, body=body, headers=headers)
        if method == "PATCH":
            return client.patch(uri, body=body, headers=headers)
        raise ValueError(method)

    def _json(self, resp: RestResponse, uri: str) -> Payload:
        try:
            data = resp.dict
        except JsonDecodingError:
            raise self._err(BadData, f"{uri}: invalid JSON") from None
        if not isinstance(data, dict):
            raise self._err(BadData, f"{uri}: expected a JSON object, got {type(data).__name__}")
        return data

    def _get(self, uri: str, *, optional: bool = True) -> Payload | None:
        """GET a resource. None for a missing one (404...) when optional. Re-logs in once
        when a session expired."""
        assert self._client is not None
        try:
            resp = self._request(self._client, "GET", uri)
            if resp.status == 401 and self.auth_mode == "session":
                self._client.set_session_key(None)
                self._login(self._client)
                resp = self._request(self._client, "GET", uri)
        except DeviceError:
            raise
        except Exception as exc:
            raise self._map_exception(exc, f"GET {uri}") from exc
        if resp.status in (401, 403):
            raise self._err(AuthFailed, f"GET {uri}: HTTP {resp.status}, credentials refused")
        if resp.status in _BUSY:
            # "Try later", not "missing": during discovery it would drop the resource for good.
            raise self._err(Unreachable, f"GET {uri}: HTTP {resp.status} (BMC busy){_retry_after(resp)}")
        if resp.status == 200:
            payload = self._json(resp, uri)
            if self._recording is not None:
                self._recording[uri] = payload
            return payload
        if optional and (resp.status in _MISSING or resp.status >= 500):
            return None
        raise self._err(BadData, f"GET {uri}: HTTP {resp.status}")

    # ------------------------------------------------------------ discovery
    def _rediscover(self) -> ResourceMap:
        self._connect()
        self._recording = {}
        try:
            self.map = self._discover()
        except DeviceError:
            raise
        except Exception as exc:
            raise self._map_exception(exc, "discovery") from exc
        finally:
            self._discovered, self._recording = self._recording, None
        return self.map

    # ------------------------------------------------------------ identity
    def _identify(self) -> Identity:
        if self.map is None:
            self._rediscover()
        else:
            self._connect()
        seen, self._discovered = self._discovered, {}  # fresh once: a later call reads anew

        def get(uri: str | None) -> Payload | None:
            if not uri:
                return None
            return seen[uri] if uri in seen else self._get(uri)

        def members(link: Any) -> list[tuple[str, Payload]]:
            coll = get(parse.odata_id(link))
            return [(u, p) for u in (parse.members(coll) if coll else []) if (p := get(u)) is not None]

        try:
            root = self._root
            systems = members(root.get("Systems"))
            chassis = members(root.get("Chassis"))
            managers = members(root.get("Managers"))
        except DeviceError:
            raise
        except Exception as exc:
            raise self._map_exception(exc, "identity") from exc
        return identity_of(root, systems, chassis, managers)

    def _discover(self) -> ResourceMap:
        m = ResourceMap()
        seen: dict[str, Payload] = {}  # payloads read during discovery, to rank overlaps

        def add(uri: str, payload: Payload, extract: Extractor, kind: str) -> None:
            m.probes.append(Probe(uri, extract, kind))
            seen[uri] = payload

        root = self._root
        chassis_uris = self._members(parse.odata_id(root.get("Chassis")))
        chassis = [(u, c) for u in chassis_uris if (c := self._get(u)) is not None]
        primary = _primary_chassis(chassis)
        sensors: list[tuple[str, Payload, tuple[str, str, str, float]]] = []
        for uri, c in chassis:
            m.chassis.append(uri)
            prefix = "" if uri == primary else parse.slug(str(c.get("Id") or uri.rsplit("/", 1)[-1])) + "_"
            self._discover_thermal(c, prefix, add)
            self._discover_power(c, prefix, add)
            env_uri = parse.odata_id(c.get("EnvironmentMetrics"))
            if env_uri and (env := self._get(env_uri)) is not None:
                add(env_uri, env, parse.environment_metrics(prefix + "chassis", parse.SUBSYSTEM, False),
                    "EnvironmentMetrics")
            for ctl_uri in self._members(parse.odata_id(c.get("Controls"))):
                ctl = self._get(ctl_uri)
                if ctl is None or ctl.get("ControlType") != "Power" or ctl.get("SetPointUnits", "W") != "W":
                    continue
                ctx = ctl.get("PhysicalContext")
                ch = prefix + ("chassis" if ctx in (None, "Chassis", "SystemBoard") else parse.slug(str(ctx)))
                if ch == "chassis" and m.power_control_uri is None:
                    m.power_control_uri = ctl_uri
                add(ctl_uri, ctl, parse.control(ch), "Control")
            for s_uri in self._members(parse.odata_id(c.get("Sensors"))):
                s = self._get(s_uri)
                if s is not None and (kind := parse.classify_sensor(s)) is not None:
                    ch, q, unit, factor = kind
                    sensors.append((s_uri, s, (prefix + ch, q, unit, factor)))
            for legacy, extractor in (("Thermal", parse.legacy_thermal), ("Power", parse.legacy_power)):
                l_uri = parse.odata_id(c.get(legacy))
                if l_uri and (payload := self._get(l_uri)) is not None:
                    add(l_uri, payload, extractor(prefix), legacy)
                    if legacy == "Power" and uri == primary:
                        m.legacy_power_uri = l_uri
        self._discover_processors(root, m, add)

        # Sensors only where no subsystem resource already reports that channel/quantity
        # (keeps polls cheap); legacy only where it adds something the new model lacks.
        covered: dict[tuple[str, str], int] = {}  # the best rank anyone reports each with
        for p in m.probes:
            for smp in p.extract(seen[p.uri]):
                key = (smp.channel, smp.quantity)
                covered[key] = max(smp.rank, covered.get(key, -1))
        # A Sensor that an excerpt already quotes (its DataSourceUri) is the same reading again.
        quoted = {u for p in m.probes for u in parse.data_source_uris(seen[p.uri])}
        for s_uri, s, (ch, q, unit, factor) in sensors:
            if s_uri.rstrip("/") in quoted:
                continue
            if covered.get((ch, q), -1) < parse.SENSOR:
                add(s_uri, s, parse.sensor(ch, q, unit, factor), "Sensor")
                covered[(ch, q)] = parse.SENSOR
        m.probes = [p for p in m.probes if p.kind not in ("Thermal", "Power")
                    or any(covered.get((s.channel, s.quantity), -1) <= parse.LEGACY
                           for s in p.extract(seen[p.uri]))]
        log.info("%s: discovered %d resources to poll", self.spec.id, len(m.uris))
        self._fresh = {u: seen[u] for u in m.uris}  # the first poll reuses what was just read
        return m

    def _discover_thermal(self, c: Payload, prefix: str, add: Any) -> None:
        ts_uri = parse.odata_id(c.get("ThermalSubsystem"))
        ts = self._get(ts_uri) if ts_uri else None
        if ts is None:
            return
        tm_uri = parse.odata_id(ts.get("ThermalMetrics"))
        if tm_uri and (tm := self._get(tm_uri)) is not None:
            add(tm_uri, tm, parse.thermal_metrics(prefix), "ThermalMetrics")
        for f_uri in self._members(parse.odata_id(ts.get("Fans"))):
            f = self._get(f_uri)
            if f is None or _absent(f):
                continue
            ch = prefix + parse.fan_channel(str(f.get("Id") or f_uri.rsplit("/", 1)[-1]))
            add(f_uri, f, parse.fan(ch, parse.fan_reports_rpm(f)), "Fan")
        connectors = [(u, cc) for u in self._members(parse.odata_id(ts.get("CoolantConnectors")))
                      if (cc := self._get(u)) is not None and not _absent(cc)]
        for cc_uri, cc in connectors:
            p = prefix if len(connectors) == 1 else \
                prefix + parse.slug(str(cc.get("Id") or cc_uri.rsplit("/", 1)[-1])) + "_"
            add(cc_uri, cc, parse.coolant_connector(p), "CoolantConnector")

    def _discover_power(self, c: Payload, prefix: str, add: Any) -> None:
        ps_uri = parse.odata_id(c.get("PowerSubsystem"))
        ps = self._get(ps_uri) if ps_uri else None
        if ps is None:
            return
        for i, psu_uri in enumerate(self._members(parse.odata_id(ps.get("PowerSupplies")))):
            psu = self._get(psu_uri)
            if psu is None or _absent(psu):
                continue
            met_uri = parse.odata_id(psu.get("Metrics"))
            if met_uri and (met := self._get(met_uri)) is not None:
                add(met_uri, met, parse.psu_metrics(f"{prefix}psu{i + 1}"), "PowerSupplyMetrics")

    def _discover_processors(self, root: Payload, m: ResourceMap, add: Any) -> None:
        procs: list[tuple[str, Payload]] = []
        for sys_uri in self._members(parse.odata_id(root.get("Systems"))):
            system = self._get(sys_uri)
            if system is None:
                continue
            for p_uri in self._members(parse.odata_id(system.get("Processors"))):
                p = self._get(p_uri)
                if p is not None and not _absent(p):
                    procs.append((p_uri, p))
        names: dict[str, list[tuple[str, Payload]]] = {}
        for p_uri, p in procs:
            kind = "gpu" if p.get("ProcessorType") == "GPU" else "cpu" if p.get("ProcessorType", "CPU") == "CPU" \
                else parse.slug(str(p.get("ProcessorType")))
            names.setdefault(kind, []).append((p_uri, p))
        for kind, group in names.items():
            numbers = [parse.trailing_number(str(p.get("Id") or u.rsplit("/", 1)[-1])) for u, p in group]
            unique = None not in numbers and len(set(numbers)) == len(numbers)
            for i, (p_uri, p) in enumerate(group):
                ch = f"{kind}{numbers[i] if unique else i}"
                if kind == "gpu":
                    m.gpus.append({"channel": ch, "uri": p_uri, "model": p.get("Model"),
                                   "environment_metrics": parse.odata_id(p.get("EnvironmentMetrics"))})
                env_uri = parse.odata_id(p.get("EnvironmentMetrics"))
                if env_uri and (env := self._get(env_uri)) is not None:
                    add(env_uri, env, parse.environment_metrics(ch, parse.DIRECT, True), "ProcessorEnvironment")

    def _members(self, uri: str | None) -> list[str]:
        if not uri:
            return []
        coll = self._get(uri)
        return parse.members(coll) if coll is not None else []

    # ------------------------------------------------------------ poll
    def _poll(self) -> list[Reading]:
        discovered_now = self.map is None
        if discovered_now:
            self._rediscover()
        else:
            self._connect()
        assert self.map is not None
        ts = self.clock()
        samples: list[tuple[str, Sample]] = []
        payloads: dict[str, Payload] = {}
        # Right after discovery its payloads are current: no need to read them twice.
        fresh, self._fresh = (self._fresh if discovered_now else {}), {}
        for uri in self.map.uris:
            payload = fresh[uri] if uri in fresh else self._get(uri)
            payloads[uri] = payload or {}  # gone since discovery: its values read None
        for probe in self.map.probes:
            uri = probe.uri
            try:
                found = probe.extract(payloads[uri])
            except parse.BadValue as exc:
                raise self._err(BadData, f"{uri}: {exc}") from exc
            samples += [(uri, s) for s in found]
        merged = self._merged = parse.merge(samples)
        device = self.spec.id
        return [Reading(ts, device, channel, quantity, s.value, s.unit)
                for (channel, quantity), (_, s) in merged.items()]

    @property
    def provenance(self) -> dict[str, str]:
        """series_key -> "URI#/property": which resource each value of the last poll came
        from (built when asked: polls, ~200,000 a season in fast-forward, never need it)."""
        return {f"{self.spec.id}/{channel}/{quantity}": f"{uri}#/{s.source}"
                for (channel, quantity), (uri, s) in self._merged.items()}

    # ------------------------------------------------------------ actions
    def _set_power_limit(self, watts: float) -> ActionResult:
        if self.map is None:
            self._rediscover()
        else:
            self._connect()
        assert self.map is not None
        m = self.map
        if m.power_control_uri:
            uri, kind = m.power_control_uri, "Control"
        elif m.legacy_power_uri:
            uri, kind = m.legacy_power_uri, "Power"
        else:
            raise self._err(ActionRefused, "set_power_limit: the BMC offers no power limit "
                                           "(no Control of type Power, no Power.PowerControl)")
        before, lo, hi, etag = self._read_limit(uri, kind)
        if (lo is not None and watts < lo) or (hi is not None and watts > hi) or watts <= 0:
            raise self._err(ActionRefused, f"set_power_limit: {watts:g} W is outside the allowed range "
                                           f"{_fmt(lo)}..{_fmt(hi)} W of {uri}")
        body: Payload = {"SetPoint": watts} if kind == "Control" else \
            {"PowerControl": [{"PowerLimit": {"LimitInWatts": watts}}]}
        headers = {"If-Match": etag} if etag else None
        try:
            resp = self._request(self._client, "PATCH", uri, body=body, headers=headers)
        except Exception as exc:
            raise self._map_exception(exc, f"PATCH {uri}") from exc
        if resp.status in (401, 403):
            raise self._err(AuthFailed, f"PATCH {uri}: HTTP {resp.status}")
        readback, _, _, _ = self._read_limit(uri, kind)
        ok = resp.status in (200, 202, 204) and readback is not None and abs(readback - watts) < 0.5
        if ok:
            msg = f"power limit set to {watts:g} W via {uri} (was {_fmt(before)} W)"
        elif resp.status not in (200, 202, 204):
            msg = f"PATCH {uri} refused: HTTP {resp.status}; limit still reads {_fmt(readback)} W"
        else:
            msg = (f"the BMC accepted the PATCH (HTTP {resp.status}) but the limit reads back "
                   f"{_fmt(readback)} W, not {watts:g} W: the write did not take effect")
        return ActionResult(self.spec.id, "set_power_limit", "chassis", watts, readback, ok, msg)

    def _read_limit(self, uri: str, kind: str) -> tuple[float | None, float | None, float | None, str | None]:
        """(current, min, max, ETag) of the power-limit resource."""
        try:
            resp = self._request(self._client, "GET", uri)
        except Exception as exc:
            raise self._map_exception(exc, f"GET {uri}") from exc
        if resp.status != 200:
            raise self._err(BadData if resp.status not in (401, 403) else AuthFailed,
                            f"GET {uri}: HTTP {resp.status}")
        d = self._json(resp, uri)
        try:
            if kind == "Control":
                return (parse.number(d.get("SetPoint"), "SetPoint"),
                        parse.number(d.get("AllowableMin"), "AllowableMin"),
                        parse.number(d.get("AllowableMax"), "AllowableMax"), resp.getheader("ETag"))
            limit, capacity = parse.legacy_power_limit(d)
        except parse.BadValue as exc:
            raise self._err(BadData, f"{uri}: {exc}") from exc
        return limit, None, capacity, resp.getheader("ETag")


def identity_of(root: Payload, systems: list[tuple[str, Payload]], chassis: list[tuple[str, Payload]],
                managers: list[tuple[str, Payload]]) -> Identity:
    """A BMC's identity from its resources: the first ComputerSystem, the primary Chassis
    where the system says nothing (or there is none), the service root's Vendor/Product last;
    ``firmware`` is the BMC's (the Manager of type BMC, else the first)."""
    system = systems[0][1] if systems else {}
    primary = _primary_chassis(chassis)
    box = next((c for u, c in chassis if u == primary), {})
    bmc = next((m for _, m in managers if m.get("ManagerType") == "BMC"), managers[0][1] if managers else {})

    def first(key: str, *payloads: Payload) -> Any:
        return next((p[key] for p in payloads if isinstance(p.get(key), (str, int, float)) and p[key] != ""), None)

    extra = [("bios_version", first("BiosVersion", system)),
             ("part_number", first("PartNumber", system, box)),
             ("sku", first("SKU", system, box)),
             ("bmc_model", first("Model", bmc)),
             ("redfish_version", first("RedfishVersion", root))]
    if system and box and first("Model", box) not in (None, first("Model", system)):
        extra.insert(2, ("chassis_model", first("Model", box)))
    return Identity(manufacturer=first("Manufacturer", system, box) or first("Vendor", root),
                    model=first("Model", system, box) or first("Product", root),
                    serial=first("SerialNumber", system, box),
                    firmware=first("FirmwareVersion", bmc),
                    extra=tuple((k, v) for k, v in extra if v is not None))


def _absent(d: Payload) -> bool:
    status = d.get("Status")
    return isinstance(status, dict) and status.get("State") == "Absent"


def _primary_chassis(chassis: list[tuple[str, Payload]]) -> str | None:
    """The chassis whose readings get bare channel names: the first one that links a
    ComputerSystem, else the first."""
    for uri, c in chassis:
        links = as_dict(c.get("Links"))
        if links.get("ComputerSystems"):
            return uri
    return chassis[0][0] if chassis else None


def _retry_after(resp: RestResponse) -> str:
    value = (resp.getheader("Retry-After") or "").strip()
    if value.isdigit():
        return f", retry after {int(value)} s"
    return f", retry after {_short_text(value, 40)}" if value else ""


def _fmt(v: float | None) -> str:
    return "?" if v is None else f"{v:g}"


def _short_text(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _naming(what: str, cause: BaseException) -> str:
    """``cause`` prefixed with the request, unless the transport already named it."""
    text = str(cause)
    return text if text.startswith(what) else f"{what}: {text}"


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."
