"""SNMP v2c/v3 client for UPSes and rack PDUs (pysnmp 7 asyncio API).

Sources on one event loop share a pysnmp SnmpEngine (protocols/snmp/engine.py: one per loop
and SNMPv3 credential set, no MIB compiler); each keeps its own UDP socket. A poll is one GET
of the profile's scalars plus GETBULK walks of only the columns the profile names (all
columns side by side in each request). The profile is forced by the site file or detected
once from sysObjectID and which probe OIDs answer.
Actions SET the profile's control OID, check the response varbind (snmpsim and some agents
say noSuchInstance with error-status 0 on a read-only object) and read the state back.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pysnmp.hlapi.v3arch.asyncio as v3auth
from pyasn1.error import PyAsn1Error
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    set_cmd,
)
from pysnmp.proto import errind, rfc1902

from protocols.base import (
    Action,
    ActionRefused,
    ActionResult,
    AuthFailed,
    BadData,
    DeviceError,
    DeviceSpec,
    Identity,
    Reading,
    SetOutlet,
    Unreachable,
    UpsSelfTest,
    check,
    now,
    refuse,
)
from protocols.snmp.decode import (
    DecodeError,
    Decoder,
    Raw,
    choose_profile,
    split_index,
    to_raw,
    to_text,
)
from protocols.snmp.engine import EngineLease, acquire, engine_kind, private_domain
from protocols.snmp.profiles import ActionSpec, Profile, load_profiles

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"

GET_CHUNK = 16  # varbinds per GET: keeps responses well under a 1,472-byte datagram
BULK_VARBINDS = 64  # max_repetitions x columns per GETBULK
MAX_WALK_REQUESTS = 500
TOO_BIG = 1  # error-status tooBig
MIN_V3_KEY = 8  # RFC 3414 §11.2: USM passwords are at least 8 octets; pysnmp fails later, obscurely

AUTH_PROTOCOLS = {
    "MD5": v3auth.USM_AUTH_HMAC96_MD5,
    "SHA": v3auth.USM_AUTH_HMAC96_SHA,
    "SHA1": v3auth.USM_AUTH_HMAC96_SHA,
    "SHA224": v3auth.USM_AUTH_HMAC128_SHA224,
    "SHA256": v3auth.USM_AUTH_HMAC192_SHA256,
    "SHA384": v3auth.USM_AUTH_HMAC256_SHA384,
    "SHA512": v3auth.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "DES": v3auth.USM_PRIV_CBC56_DES,
    "3DES": v3auth.USM_PRIV_CBC168_3DES,
    "AES": v3auth.USM_PRIV_CFB128_AES,
    "AES128": v3auth.USM_PRIV_CFB128_AES,
    "AES192": v3auth.USM_PRIV_CFB192_AES,
    "AES256": v3auth.USM_PRIV_CFB256_AES,
}
# Error indications that mean "these credentials are wrong", not "the device is away".
AUTH_ERRORS = (errind.WrongDigest, errind.UnknownUserName, errind.UnknownSecurityName,
               errind.DecryptionError, errind.AuthenticationError, errind.AuthenticationFailure,
               errind.UnsupportedSecurityLevel, errind.UnknownCommunityName, errind.NoSuchContext,
               errind.NotInView, errind.NoAccessEntry)
SET_TYPES = {
    "int": rfc1902.Integer32,
    "gauge": rfc1902.Gauge32,
    "unsigned": rfc1902.Unsigned32,
    "oid": rfc1902.ObjectIdentifier,
    "string": rfc1902.OctetString,
}


def parse_address(address: str) -> tuple[str, int]:
    """``host:port``, ``host`` (port 161) or ``[v6]:port``."""
    address = address.strip()
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest.lstrip(":") or "161"
    elif address.count(":") == 1:
        host, port = address.split(":")
    else:
        host, port = address, "161"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad SNMP address {address!r} (want host:port)")
    return host, int(port)


def local_address_for(host: str, port: int) -> str | None:
    """The local address the kernel would send from to reach ``host`` (an IP literal), found
    with a connected UDP socket, which sends nothing; None when there is no route or ``host``
    is not an address (then the socket keeps the default, all interfaces)."""
    try:
        ip = ipaddress.ip_address(host)
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((host, port))
            local = ipaddress.ip_address(s.getsockname()[0])
    except (ValueError, OSError):
        return None
    if local.is_unspecified or (local.version == 6 and local.is_link_local):
        return None  # a link-local source needs its scope id: leave it to the kernel
    return str(local)


class SnmpSource:
    """A UPS or PDU over SNMP: ``poll()`` -> Readings, ``perform(SetOutlet | UpsSelfTest)`` -> ActionResult.

    ``spec.options``: ``version`` "2c" | "3" (default: "3" when a username is given),
    ``context`` (v3 context name), ``retries`` (default 1). ``spec.timeout_s`` is the budget
    of one request including retries.
    """

    def __init__(self, spec: DeviceSpec, profiles: Mapping[str, Profile] | None = None) -> None:
        self.spec = spec
        self._profiles = dict(profiles) if profiles is not None else load_profiles()
        self.profile: Profile | None = None
        self._decoder: Decoder | None = None  # the profile's decoding, its row plans kept
        self.clock: Callable[[], float] = now  # stamps readings (fast-forward: simulated time)
        if spec.profile:
            if spec.profile not in self._profiles:
                raise ValueError(f"{spec.id}: unknown SNMP profile {spec.profile!r} "
                                 f"(known: {', '.join(sorted(self._profiles))})")
            self.profile = self._profiles[spec.profile]
        self._host, self._port = parse_address(spec.address)
        opts = spec.options
        creds = spec.credentials
        self.version = str(opts.get("version", "3" if creds.username else "2c")).lower().lstrip("v")
        if self.version not in ("2c", "3"):  # v1 has no GETBULK: not supported
            raise ValueError(f"{spec.id}: SNMP version must be 2c or 3, not {self.version!r}")
        self._retries = int(opts.get("retries", 1))
        self._context = str(opts.get("context", ""))
        self._auth = self._auth_data()
        self._engine_kind = engine_kind(self._auth)
        self._lease: EngineLease | None = None
        self._engine: SnmpEngine | None = None  # the lease's engine, shared with other sources
        self._target: Any = None
        self._bound_host: str | None = None  # the local address the socket is bound to
        self._loop: asyncio.AbstractEventLoop | None = None
        self.identity: dict[str, str] = {}

    # ------------------------------------------------------------ setup
    def _auth_data(self) -> CommunityData | UsmUserData:
        creds = self.spec.credentials
        if self.version != "3":
            if not creds.community:
                raise ValueError(f"{self.spec.id}: SNMPv2c needs a community")
            return CommunityData(creds.community, mpModel=1)
        if not creds.username:
            raise ValueError(f"{self.spec.id}: SNMPv3 needs a username")
        auth_proto = AUTH_PROTOCOLS.get(creds.auth_protocol.upper().replace("-", ""))
        priv_proto = PRIV_PROTOCOLS.get(creds.priv_protocol.upper().replace("-", ""))
        if creds.auth_key and auth_proto is None:
            raise ValueError(f"{self.spec.id}: unknown SNMPv3 auth protocol {creds.auth_protocol!r}")
        if creds.priv_key and priv_proto is None:
            raise ValueError(f"{self.spec.id}: unknown SNMPv3 privacy protocol {creds.priv_protocol!r}")
        if creds.priv_key and not creds.auth_key:
            raise ValueError(f"{self.spec.id}: SNMPv3 privacy key without an auth key: SNMPv3 has no "
                             "privacy without authentication; add the auth key to the credentials")
        for key, which in ((creds.auth_key, "auth"), (creds.priv_key, "privacy")):
            # Checked here, before anything is sent; the key itself is never shown.
            if key and len(key.encode("utf-8")) < MIN_V3_KEY:
                raise ValueError(f"{self.spec.id}: SNMPv3 {which} key is shorter than {MIN_V3_KEY} "
                                 f"characters (RFC 3414 needs at least {MIN_V3_KEY}): a configuration "
                                 "error in the device's credentials, nothing was sent")
        kwargs: dict[str, Any] = {}
        if creds.auth_key:
            kwargs.update(authKey=creds.auth_key, authProtocol=auth_proto)
            if creds.priv_key:
                kwargs.update(privKey=creds.priv_key, privProtocol=priv_proto)
        return UsmUserData(creds.username, **kwargs)

    @property
    def _per_try_s(self) -> float:
        return self.spec.timeout_s / (self._retries + 1)

    def _fail(self, cls: type[DeviceError], what: str) -> DeviceError:
        return cls(self.spec.id, self.spec.address, what)

    async def _ensure_session(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # pysnmp binds an engine to the loop that made it: start afresh on a new loop.
            # (Call close() before a loop ends, or its UDP socket outlives it.)
            await self.close()
            self._loop = loop
        if self._target is not None:
            if local_address_for(self._target.transport_address[0], self._port) == self._bound_host:
                return
            self._drop_socket()  # the route to the device now leaves from another address: rebind
        if self._lease is None:
            self._lease = acquire(self._engine_kind)
            self._engine = self._lease.engine
        factory = Udp6TransportTarget if ":" in self._host else UdpTransportTarget
        try:
            target = await asyncio.wait_for(
                factory.create((self._host, self._port), timeout=self._per_try_s, retries=self._retries),
                timeout=self.spec.timeout_s)
        except (TimeoutError, PySnmpError, OSError) as exc:
            raise self._fail(Unreachable, f"cannot resolve or open {self._host}: {exc}") from None
        # pysnmp binds 0.0.0.0 (every interface) unless told otherwise: bind where the route to
        # the device leaves from (127.0.0.1 for a device on loopback), so answers are taken only
        # on that address.
        self._bound_host = local_address_for(target.transport_address[0], self._port)
        if self._bound_host is not None:
            target.set_local_address((self._bound_host, 0))
        # A domain of its own: the shared engine opens this source its own socket, bound above.
        target.TRANSPORT_DOMAIN = private_domain(factory.TRANSPORT_DOMAIN)
        self._target = target

    def _context_data(self) -> ContextData:
        return ContextData(contextName=self._context) if self.version == "3" else ContextData()

    async def _request(self, what: str, call: Any) -> tuple[Any, Any, Any, Any]:
        """Run one pysnmp command with a hard outer deadline; map its failures."""
        await self._ensure_session()
        try:
            result = await asyncio.wait_for(call(), timeout=self.spec.timeout_s + 2.0)
        except TimeoutError:
            raise self._fail(Unreachable, f"no SNMP response within {self.spec.timeout_s:.1f} s "
                                          f"({what})") from None
        except (PyAsn1Error, PySnmpError) as exc:
            raise self._fail(BadData, f"undecodable SNMP response to {what}: {exc}") from None
        err_ind = result[0]
        if err_ind:
            if isinstance(err_ind, errind.RequestTimedOut):
                raise self._fail(Unreachable, f"no SNMP response within {self.spec.timeout_s:.1f} s "
                                              f"({what})")
            if isinstance(err_ind, AUTH_ERRORS):
                raise self._fail(AuthFailed, f"SNMPv{self.version} credentials refused: {err_ind}")
            if isinstance(err_ind, (errind.SerializationError, errind.DeserializationError,
                                    errind.InvalidMsg, errind.OidNotIncreasing, errind.DataMismatch)):
                raise self._fail(BadData, f"bad SNMP response to {what}: {err_ind}")
            raise self._fail(Unreachable, f"SNMP {what} failed: {err_ind}")
        return result

    # ------------------------------------------------------------ primitives
    async def get(self, oids: Iterable[str]) -> dict[str, Raw]:
        """GET in chunks; missing objects come back as None."""
        wanted = list(dict.fromkeys(o.lstrip(".") for o in oids))
        out: dict[str, Raw] = {}
        for i in range(0, len(wanted), GET_CHUNK):
            out.update(await self._get_chunk(wanted[i:i + GET_CHUNK]))
        return out

    async def _get_chunk(self, chunk: list[str]) -> dict[str, Raw]:
        def call() -> Any:
            return get_cmd(self._engine, self._auth, self._target, self._context_data(),
                           *(ObjectType(ObjectIdentity(o)) for o in chunk), lookupMib=False)

        _, err_stat, err_idx, vbs = await self._request("GET", call)
        if int(err_stat) == TOO_BIG and len(chunk) > 1:  # small agents: halve and retry
            half = len(chunk) // 2
            return {**await self._get_chunk(chunk[:half]), **await self._get_chunk(chunk[half:])}
        if int(err_stat):
            bad = chunk[int(err_idx) - 1] if 0 < int(err_idx) <= len(chunk) else "?"
            raise self._fail(BadData, f"GET {bad}: agent error {err_stat.prettyPrint()}")
        return {str(oid): self._raw(value, str(oid)) for oid, value in vbs}

    def _raw(self, value: Any, oid: str) -> Raw:
        try:
            return to_raw(value)
        except DecodeError as exc:
            raise self._fail(BadData, f"{oid}: {exc}") from None

    async def walk(self, columns: Iterable[str]) -> dict[str, dict[tuple[int, ...], Raw]]:
        """GETBULK walk of several table columns side by side until each leaves its subtree."""
        cols = list(dict.fromkeys(c.lstrip(".") for c in columns))
        tables: dict[str, dict[tuple[int, ...], Raw]] = {c: {} for c in cols}
        cursor = {c: c for c in cols}
        active = list(cols)
        budget = BULK_VARBINDS
        for _ in range(MAX_WALK_REQUESTS):
            if not active:
                return tables
            reps = max(1, min(25, budget // len(active)))
            batch = list(active)

            def call(batch: list[str] = batch, reps: int = reps) -> Any:
                return bulk_cmd(self._engine, self._auth, self._target, self._context_data(), 0, reps,
                                *(ObjectType(ObjectIdentity(cursor[c])) for c in batch), lookupMib=False)

            _, err_stat, _, vbs = await self._request("GETBULK", call)
            if int(err_stat) == TOO_BIG and budget > len(active):
                budget = max(len(active), budget // 2)  # fewer repetitions next time
                continue
            if int(err_stat):
                raise self._fail(BadData, f"GETBULK {batch[0]}: agent error {err_stat.prettyPrint()}")
            if not vbs:
                raise self._fail(BadData, f"GETBULK {batch[0]}: empty response")
            done: set[str] = set()
            for n, (oid, value) in enumerate(vbs):
                col = batch[n % len(batch)]
                if col in done:
                    continue
                oid_s = str(oid)
                idx = split_index(oid_s, col)
                if idx is None or value is None or value.__class__.__name__ == "EndOfMibView":
                    done.add(col)
                    continue
                if _oid_key(oid_s) <= _oid_key(cursor[col]):
                    raise self._fail(BadData, f"GETBULK {col}: OID not increasing at {oid_s}")
                cursor[col] = oid_s
                tables[col][idx] = self._raw(value, oid_s)
            active = [c for c in batch if c not in done]
        raise self._fail(BadData, f"walk of {', '.join(cols)} did not end after {MAX_WALK_REQUESTS} requests")

    async def set(self, oid: str, typ: str, value: int | str, what: str) -> Raw:
        """SET one object; returns the value the agent echoed. Raises ActionRefused when the
        agent refuses it, by error-status or by a noSuch* response varbind."""
        oid = oid.lstrip(".")
        syntax = SET_TYPES[typ](value)

        def call() -> Any:
            return set_cmd(self._engine, self._auth, self._target, self._context_data(),
                           ObjectType(ObjectIdentity(oid), syntax), lookupMib=False)

        _, err_stat, _, vbs = await self._request(f"SET {what}", call)
        if int(err_stat):
            raise self._fail(ActionRefused, f"{what}: agent refused SET {oid}: {err_stat.prettyPrint()}")
        if not vbs:
            raise self._fail(ActionRefused, f"{what}: empty response to SET {oid}")
        echoed_oid, echoed = vbs[0]
        raw = self._raw(echoed, str(echoed_oid))
        if raw is None:
            raise self._fail(ActionRefused, f"{what}: {oid} is not writable "
                                            f"(agent answered {echoed.prettyPrint()})")
        return raw

    # ------------------------------------------------------------ profile
    async def detect(self) -> Profile:
        """Choose the profile once: probes of every profile in one GET."""
        if self.profile is not None and self.identity:
            return self.profile
        probes = [o for p in self._profiles.values() for o in p.probes]
        answers = await self.get([SYS_OBJECT_ID, SYS_DESCR, SYS_NAME, *probes])
        sys_oid = answers.get(SYS_OBJECT_ID)
        sys_oid_s = sys_oid if isinstance(sys_oid, str) else None
        if self.profile is None:
            chosen = choose_profile(self._profiles.values(), sys_oid_s, answers)
            if chosen is None:
                raise self._fail(BadData, f"no supported UPS/PDU MIB answers (sysObjectID "
                                          f"{sys_oid_s or 'none'}, sysDescr "
                                          f"{(to_text(answers.get(SYS_DESCR)) or '')[:60]!r})")
            self.profile = chosen
        self.identity = {
            "profile": self.profile.name,
            "sys_object_id": sys_oid_s or "",
            "sys_descr": to_text(answers.get(SYS_DESCR)) or "",
            "sys_name": to_text(answers.get(SYS_NAME)) or "",
        }
        if self.profile.identity:
            ident = await self.get(self.profile.identity.values())
            for key, oid in self.profile.identity.items():
                text = to_text(ident.get(oid))
                if text:
                    self.identity[key] = text
        return self.profile

    async def identify(self) -> Identity:
        """The profile's [identity] objects (UPS-MIB upsIdent, PowerNet upsBasic/AdvIdent,
        rPDU2Ident, ...) and the system group, read anew in one GET (the engine asks once per
        connection); [identity.fixed] fills what no object gives (PowerNet: APC)."""
        profile = await self.detect()
        wanted = {"sys_descr": SYS_DESCR, "sys_object_id": SYS_OBJECT_ID, "sys_name": SYS_NAME, **profile.identity}
        answers = await self.get(wanted.values())
        found = {key: text for key, oid in wanted.items() if (text := to_text(answers.get(oid)))}
        self.identity = {"profile": profile.name, **found}
        fields = {**profile.identity_fixed, **found}
        extra = [(k, v) for k, v in fields.items() if k not in Identity.FIELDS and not k.startswith("sys_")]
        extra += [(k, found[k]) for k in ("sys_name", "sys_descr", "sys_object_id") if k in found]
        return Identity(manufacturer=fields.get("manufacturer"), model=fields.get("model"),
                        serial=fields.get("serial"), firmware=fields.get("firmware"),
                        extra=(*extra, ("profile", profile.name)))

    # ------------------------------------------------------------ Source
    async def poll(self) -> list[Reading]:
        profile = await self.detect()
        scalars = await self.get(s.oid for s in profile.scalars) if profile.scalars else {}
        columns = profile.walk_columns()
        tables = await self.walk(columns) if columns else {}
        decoder = self._decoder
        if decoder is None or decoder.profile is not profile:
            decoder = self._decoder = Decoder(profile)  # row plans are per profile
        try:
            return decoder.readings(self.spec.id, self.clock(), scalars, tables)
        except DecodeError as exc:
            raise self._fail(BadData, str(exc)) from None

    def local_address(self) -> tuple[str, int] | None:
        """The address and port the client socket is bound to (None before the first request)."""
        transport = getattr(self._target, "transport", None)
        sock = getattr(getattr(transport, "transport", None), "get_extra_info", lambda _: None)("socket")
        if sock is None:
            return None
        with contextlib.suppress(OSError):
            addr = sock.getsockname()
            return str(addr[0]), int(addr[1])
        return None

    def _drop_socket(self) -> None:
        """Close this source's socket; the shared engine drops retries of abandoned requests
        sent there until they would have timed out anyway."""
        target, self._target, self._bound_host = self._target, None, None
        if target is not None and self._lease is not None:
            self._lease.retire(target.TRANSPORT_DOMAIN, linger_s=10 * self.spec.timeout_s + 10.0)

    async def close(self) -> None:
        self._drop_socket()
        lease, self._lease, self._engine = self._lease, None, None
        if lease is not None:
            lease.release()  # the engine closes with its last source on this loop

    # ------------------------------------------------------------ actions
    async def perform(self, action: Action) -> ActionResult:
        """A PDU switches outlets (SetOutlet: on, off, cycle — the profile's outlet_reboot);
        a UPS starts its self-test (UpsSelfTest: UPS-MIB upsTestId or APC
        upsAdvTestDiagnostics). Anything else, or what the device's profile lacks, is refused."""
        check(self.spec.id, self.spec.address, action)
        if isinstance(action, SetOutlet):
            recipe = "outlet_reboot" if action.state == "cycle" else f"outlet_{action.state}"
            result = await self._profile_action(recipe, outlet=action.outlet, action=action)
        elif isinstance(action, UpsSelfTest):
            result = await self._profile_action("self_test", action=action)
        else:
            raise refuse(self.spec.id, self.spec.address, action,
                         "an SNMP UPS or PDU here takes only outlet on/off/cycle (SetOutlet) "
                         "and a UPS self-test (UpsSelfTest)")
        return dataclasses.replace(result, action=action.name, requested=action.requested)

    async def _profile_action(self, name: str, outlet: int | None = None,
                              action: Action | None = None) -> ActionResult:
        """SET the profile's recipe for ``name``, then read the state back."""
        profile = await self.detect()
        spec = profile.actions.get(name)
        if spec is None:
            raise refuse(self.spec.id, self.spec.address, action or name,
                         f"not supported by profile {profile.name} (it has no {name} recipe)")
        needs_outlet = "{outlet}" in spec.oid
        if needs_outlet and (outlet is None or isinstance(outlet, bool) or int(outlet) < 1):
            raise self._fail(ActionRefused, f"{name}: outlet must be a number from 1, not {outlet!r}")
        fmt = {"outlet": int(outlet)} if needs_outlet and outlet is not None else {}
        target = spec.target.format(**fmt)
        requested = name.removeprefix("outlet_") if needs_outlet else "start"
        readback = spec.readback.format(**fmt) if spec.readback else None
        if readback is not None and (await self.get([readback])).get(readback) is None:
            raise self._fail(ActionRefused, f"{name}: {target} does not exist on this device "
                                            f"({readback} not found)")
        await self.set(spec.oid.format(**fmt), spec.type, spec.value, f"{name} {target}")
        if readback is None:
            return ActionResult(self.spec.id, name, target, requested, None, True, "command accepted")
        return await self._read_back(spec, fmt, target, requested, readback)

    async def _read_back(self, spec: ActionSpec, fmt: dict[str, int], target: str,
                         requested: str, readback: str) -> ActionResult:
        pending_oid = spec.pending_oid.format(**fmt) if spec.pending_oid else None
        state: str | None = None
        for attempt in range(max(1, spec.tries)):
            if attempt:
                await asyncio.sleep(spec.delay_s)  # give the relay time; never in tests' way
            got = await self.get([readback, *([pending_oid] if pending_oid else [])])
            state = self._state_text(spec, got.get(readback))
            if not spec.expect:
                return ActionResult(self.spec.id, spec.name, target, requested, state, True,
                                    f"command accepted; device reports {state}")
            if state in spec.expect:
                return ActionResult(self.spec.id, spec.name, target, requested, state, True,
                                    f"confirmed: {target} is {state}")
            pending_raw = got.get(pending_oid) if pending_oid else None
            if state in spec.pending or (isinstance(pending_raw, int) and pending_raw in spec.pending_values):
                return ActionResult(self.spec.id, spec.name, target, requested, state, True,
                                    f"accepted, pending: {target} reports {state}")
        return ActionResult(self.spec.id, spec.name, target, requested, state, False,
                            f"read back {state!r}, expected {' or '.join(spec.expect)}")

    @staticmethod
    def _state_text(spec: ActionSpec, raw: Raw) -> str | None:
        if raw is None:
            return None
        if spec.readback_enum is not None and isinstance(raw, int):
            return spec.readback_enum.get(raw, f"unknown({raw})")
        return to_text(raw)


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.lstrip(".").split(".") if p)
