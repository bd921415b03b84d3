"""The demo site's SNMP agent: a pysnmp command responder whose MIB is read from the demo
model's views at request time, so heatrack's SNMP client talks to something that behaves
like a real UPS network card or APC rack PDU (units, tables, walk order, SET errors).

One agent serves one device in the default context (intended use: one agent per device).
When both a UPS and a PDU are given, the UPS owns the default context and each device is
also reachable by name: SNMPv3 context ``ups`` / ``pdu``, or v1/v2c community
``<community>@ups`` / ``<community>@pdu`` (Cisco-style community indexing).

Access: ``community_ro`` reads, ``community_rw`` reads and writes, the v3 user (authPriv,
HMAC-SHA-96 + AES-128) reads and writes. Loopback only: the demo never listens on a LAN.
"""
from __future__ import annotations

import asyncio
import bisect
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import error as smi_error
from pysnmp.smi.instrum import AbstractMibInstrumController

from protocols.demo_views import DemoControl, PduView, UpsView
from protocols.snmp.agent_mibs import DeviceMib, Oid, PduMib, UpsMib, Uptime, Value

log = logging.getLogger(__name__)

READ_TREE = (1, 3, 6)
NO_AUTH_NO_PRIV, AUTH_PRIV = 1, 3  # SnmpSecurityLevel
# pysnmp caps a GETBULK response at 64 varbinds; 128 lets one request carry a whole
# 24-outlet x 5-column poll (~4 KB, far below the 65507-byte UDP/msgMaxSize limit).
BULK_MAX_VARBINDS = 128
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class _Snapshot:
    """The MIB at one instant: values plus their OIDs in lexicographic (walk) order."""

    __slots__ = ("values", "oids")

    def __init__(self, values: dict[Oid, Value]) -> None:
        self.values = values
        self.oids = sorted(values)

    def is_known_object(self, name: Oid) -> bool:
        """True when ``name`` sits in a served object (a column or scalar) but no instance
        matches: the answer is then noSuchInstance rather than noSuchObject."""
        i = bisect.bisect_left(self.oids, name)
        parent = name[:-1]
        return any(0 <= j < len(self.oids) and self.oids[j][:len(parent)] == parent
                   and len(self.oids[j]) >= len(name) for j in (i - 1, i))


class ViewInstrumentation(AbstractMibInstrumController):
    """pysnmp MIB instrumentation over a DeviceMib. The command responders call it
    synchronously; one snapshot is taken per incoming message, so the varbinds of one
    response (a GETBULK included) are consistent with one view."""

    REQUEST_CONTEXT = "rfc3412.receiveMessage:request"

    def __init__(self, mib: DeviceMib) -> None:
        self.mib = mib
        self._key: object = None
        self._snap: _Snapshot | None = None

    def _snapshot(self, ctx: dict[str, Any]) -> _Snapshot:
        key = None
        snmp_engine = ctx.get("snmpEngine")
        if snmp_engine is not None:
            try:
                key = snmp_engine.observer.get_execution_context(self.REQUEST_CONTEXT)
            except KeyError:
                key = None
        if key is not None and key is self._key and self._snap is not None:
            return self._snap
        try:
            snap = _Snapshot(self.mib.objects())
        except Exception:  # a broken view must cost one genErr, never the agent
            log.exception("demo SNMP agent: reading the view failed")
            raise smi_error.GenError(idx=0) from None
        self._key, self._snap = key, snap
        return snap

    @staticmethod
    def _denied(view_type: str, name: Oid, value: Value, idx: int, ctx: dict[str, Any]) -> bool:
        """VACM check through the responder's acFun: True when the OID is not in the
        caller's view; raises AuthorizationError for unknown groups/contexts."""
        ac_fun = ctx.get("acFun")
        if ac_fun is None:
            return False
        return bool(ac_fun(view_type, (name, value), **dict(ctx, idx=idx)))

    def read_variables(self, *var_binds: Any, **ctx: Any) -> list[tuple[Any, Value]]:
        snap = self._snapshot(ctx)
        out = []
        for idx, (name, _) in enumerate(var_binds):
            name = tuple(name)
            value = snap.values.get(name)
            if value is None or self._denied("read", name, value, idx, ctx):
                value = (rfc1905.noSuchInstance if value is None and snap.is_known_object(name)
                         else rfc1905.noSuchObject)
            out.append((rfc1902.ObjectName(name), value))
        return out

    def read_next_variables(self, *var_binds: Any, **ctx: Any) -> list[tuple[Any, Value]]:
        snap = self._snapshot(ctx)
        out = []
        for idx, (name, _) in enumerate(var_binds):
            name = tuple(name)
            i = bisect.bisect_right(snap.oids, name)
            while i < len(snap.oids):
                candidate = snap.oids[i]
                value = snap.values[candidate]
                if not self._denied("read", candidate, value, idx, ctx):
                    out.append((rfc1902.ObjectName(candidate), value))
                    break
                i += 1
            else:
                out.append((rfc1902.ObjectName(name), rfc1905.endOfMibView))
        return out

    def write_variables(self, *var_binds: Any, **ctx: Any) -> list[tuple[Any, Value]]:
        """Check every varbind first and only then run the actions, so one bad varbind
        rejects the whole SET (RFC 3416 4.2.5); a control that refuses during the run gives
        wrongValue. The response echoes the request; the next read shows the effect."""
        snap = self._snapshot(ctx)
        writers = self.mib.writers()
        commits = []
        for idx, (name, value) in enumerate(var_binds):
            name = tuple(name)
            try:
                denied = self._denied("write", name, value, idx, ctx)
            except smi_error.AuthorizationError:
                denied = True
            if denied:
                raise smi_error.NoAccessError(name=name, idx=idx)
            writer = writers.get(name)
            if writer is None:
                if name in snap.values:
                    raise smi_error.NotWritableError(name=name, idx=idx)
                raise smi_error.NoCreationError(name=name, idx=idx)
            commits.append(writer(value, idx))
        try:
            for commit in commits:
                commit()
        finally:
            self._key = self._snap = None  # the next read re-reads the view
        return [(rfc1902.ObjectName(tuple(n)), v) for n, v in var_binds]


class DemoSnmpAgent:
    """SNMP v1/v2c/v3 agent for a demo UPS and/or PDU, running its own asyncio loop in a
    daemon thread so Qt code and tests can start it with a plain call.

    The view callables and ``control`` are called from that thread, once per request
    (views) or per accepted SET (control): they must be thread-safe (return a snapshot).
    """

    def __init__(self, ups: Callable[[], UpsView] | None, pdu: Callable[[], PduView] | None,
                 control: DemoControl, *, community_ro: str, community_rw: str, v3_user: str,
                 v3_auth_key: str, v3_priv_key: str, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        if ups is None and pdu is None:
            raise ValueError("DemoSnmpAgent needs a UPS or a PDU view")
        if host == "localhost":
            host = "127.0.0.1"
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"demo SNMP agent binds loopback only, not {host}")
        if len(v3_auth_key) < 8 or len(v3_priv_key) < 8:
            raise ValueError("SNMPv3 keys need at least 8 characters (RFC 3414)")
        if community_ro == community_rw:
            raise ValueError("read-only and read-write communities must differ")
        self.host, self.port = host, port
        self._community_ro, self._community_rw = community_ro, community_rw
        self._v3 = (v3_user, v3_auth_key, v3_priv_key)
        uptime = Uptime()
        mibs: dict[str, DeviceMib] = {}
        if ups is not None:
            mibs["ups"] = UpsMib(ups, control, uptime)
        if pdu is not None:
            mibs["pdu"] = PduMib(pdu, control, uptime)
        # context name -> MIB; "" is the default context
        self._contexts: dict[str, DeviceMib] = {"": next(iter(mibs.values()))}
        if len(mibs) > 1:
            self._contexts.update(mibs)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: engine.SnmpEngine | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> int:
        """Bind the UDP port, start serving, and return the bound port."""
        if self._thread is not None:
            return self.port
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(sock,), daemon=True,
                                        name=f"snmp-agent-{self.port}")
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"demo SNMP agent on {self.host}:{self.port} did not start")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT_S)
            self._thread = None
            raise RuntimeError(f"demo SNMP agent on {self.host}:{self.port} failed to start: "
                               f"{self._error}") from self._error
        return self.port

    def stop(self) -> None:
        """Stop serving and release the port. Safe to call twice."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # the loop closed meanwhile
                pass
        thread.join(STOP_TIMEOUT_S)
        self._thread = None

    def __enter__(self) -> DemoSnmpAgent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ agent thread
    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self._engine = self._build_engine(loop, sock)
        except BaseException as exc:  # reported to start()
            self._error = exc
            sock.close()
            loop.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._close(loop, sock)

    def _close(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        try:
            if self._engine is not None:
                self._engine.close_dispatcher()
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(asyncio.sleep(0))  # let transports call connection_lost
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            sock.close()
            loop.close()
            self._engine = None

    def _build_engine(self, loop: asyncio.AbstractEventLoop,
                      sock: socket.socket) -> engine.SnmpEngine:
        snmp_engine = engine.SnmpEngine()
        transport = udp.UdpAsyncioTransport(loop=loop).open_server_mode(sock=sock)
        config.add_transport(snmp_engine, udp.DOMAIN_NAME, transport)

        user, auth_key, priv_key = self._v3
        config.add_v3_user(snmp_engine, user, config.USM_AUTH_HMAC96_SHA, auth_key,
                           config.USM_PRIV_CFB128_AES, priv_key)
        # Views by hand: pysnmp 7.1's VACM treats a write view without entries as "allowed"
        # (rfc3415.is_access_allowed returns instead of raising), so read-only groups get an
        # explicit excluded write view.
        config.add_vacm_view(snmp_engine, "all", "included", READ_TREE, b"")
        config.add_vacm_view(snmp_engine, "none", "excluded", READ_TREE, b"")
        snmp_context = context.SnmpContext(snmp_engine)
        snmp_context.unregister_context_name(b"")
        for name, mib in self._contexts.items():
            snmp_context.register_context_name(name.encode(), ViewInstrumentation(mib))
            config.add_context(snmp_engine, name)
            suffix = f"@{name}" if name else ""
            for index, community, writable in (
                    (f"ro{suffix}", self._community_ro, False),
                    (f"rw{suffix}", self._community_rw, True)):
                config.add_v1_system(snmp_engine, index, community + suffix, contextName=name)
                for model in (1, 2):  # SNMPv1 and v2c
                    self._grant(snmp_engine, name, model, index, NO_AUTH_NO_PRIV, writable)
            self._grant(snmp_engine, name, 3, user, AUTH_PRIV, True)

        cmdrsp.GetCommandResponder(snmp_engine, snmp_context)
        cmdrsp.NextCommandResponder(snmp_engine, snmp_context)
        bulk = cmdrsp.BulkCommandResponder(snmp_engine, snmp_context)
        bulk.max_varbinds = BULK_MAX_VARBINDS
        cmdrsp.SetCommandResponder(snmp_engine, snmp_context)
        return snmp_engine

    @staticmethod
    def _grant(snmp_engine: engine.SnmpEngine, context_name: str, model: int,
               security_name: str, level: int, writable: bool) -> None:
        group = f"{security_name}-{model}"
        config.add_vacm_group(snmp_engine, group, model, security_name)
        config.add_vacm_access(snmp_engine, group, context_name, model, level, "exact",
                               "all", "all" if writable else "none", "")
