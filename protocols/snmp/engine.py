"""The pysnmp ``SnmpEngine`` that SNMP sources share: one per event loop and credential set.

Why shared: building an SnmpEngine costs ~0.1 s of CPU (pysnmp executes its MIB modules for
each one), and where pysmi is importable pysnmp also builds a MIB compiler on an engine's
first request (a lark grammar, ~0.4 s). Heatrack sends numeric OIDs with ``lookupMib=False``
and never compiles a MIB, so a shared engine gets a stand-in compiler that declines, as if
pysmi were absent: a site of fifty UPSes and PDUs pays for one engine, not fifty.

Why per event loop: an engine's dispatcher, timer and sockets belong to the loop that opened
them (the console's engine thread runs one loop; tests run many, one after another or side by
side). The engine is closed when the last source using it on that loop closes; an entry whose
loop closed without that is forgotten at the next ``acquire``.

Why per credential set: pysnmp keeps one USM row per (engine ID, user name), so two SNMPv3
devices with the same user name but different keys would overwrite each other's keys in one
engine. v2c communities can share (each community is its own row); each distinct SNMPv3
user/protocols/keys combination gets its own engine.

Each source keeps its own UDP socket, as before sharing: a private transport domain on the
shared engine, bound to the local address that reaches its device. When a source lets its
socket go, the domain keeps a transport that drops what is sent to it for a while: pysnmp may
still retry a request that the source stopped waiting for, and a retry into a domain with no
transport raises out of the engine's timer, which would stop every timeout of the engine.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.carrier.base import AbstractTransport
from pysnmp.entity import config
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import CommunityData, SnmpEngine, UsmUserData

LCD_CACHE = "CommandGeneratorLcdConfigurator"  # where pysnmp's hlapi keeps its per-engine config rows

Domain = tuple[int, ...]


class _NoMibCompiler:
    """Stands in for pysmi's compiler: a MIB module pysnmp does not ship is "missing", as
    without pysmi; nothing is parsed or compiled on the polling path."""

    def compile(self, *names: str, **_options: Any) -> dict[str, str]:
        return {name: "missing" for name in names}


def new_engine() -> SnmpEngine:
    """An SnmpEngine that will never build pysmi's MIB compiler."""
    engine = SnmpEngine()
    builder = engine.get_mib_builder()
    sources = builder.get_mib_sources()
    # set_mib_compiler also adds the compiler's output folder as a MIB source: put the
    # search path back as it was, so no folder of compiled MIBs is read either.
    builder.set_mib_compiler(_NoMibCompiler(), "")
    builder.set_mib_sources(*sources)
    return engine


def engine_kind(auth: CommunityData | UsmUserData) -> str:
    """Which engine a source may share: all community sources one, SNMPv3 sources one per
    user name, protocols and keys (hashed: the key is not kept in a second readable place)."""
    if isinstance(auth, CommunityData):
        return "community"
    parts = (auth.userName, auth.authentication_protocol, auth.authentication_key,
             auth.privacy_protocol, auth.privacy_key, auth.authKeyType, auth.privKeyType)
    return "usm:" + hashlib.sha256(repr(parts).encode("utf-8", "backslashreplace")).hexdigest()


_DOMAIN_IDS = itertools.count(1)


def private_domain(base: Domain) -> Domain:
    """A transport domain no other source uses, so the shared engine opens a socket for it."""
    return (*base, next(_DOMAIN_IDS))


class _Dropping(AbstractTransport):
    """Where a released socket was: what pysnmp still retries there goes nowhere and times out."""

    PROTO_TRANSPORT_DISPATCHER = AsyncioDispatcher

    def send_message(self, outgoingMessage: Any, transportAddress: Any) -> None:
        return None


@dataclass(eq=False)
class _Shared:
    engine: SnmpEngine
    loop: asyncio.AbstractEventLoop
    users: int = 0
    retired: dict[Domain, float] = field(default_factory=dict)  # domain -> when it may go


_LOCK = threading.Lock()
_SHARED: dict[tuple[asyncio.AbstractEventLoop, str], _Shared] = {}


def shared_engines(loop: asyncio.AbstractEventLoop | None = None) -> list[SnmpEngine]:
    """The engines held now (on ``loop``, or on every loop): for tests and diagnostics."""
    with _LOCK:
        return [s.engine for (lp, _), s in _SHARED.items() if loop is None or lp is loop]


class EngineLease:
    """One source's use of a shared engine; ``release()`` once done (closing it when it was
    the last). Call ``acquire`` and the methods on the engine's loop."""

    def __init__(self, shared: _Shared, key: tuple[asyncio.AbstractEventLoop, str]) -> None:
        self._shared = shared
        self._key = key
        self._released = False

    @property
    def engine(self) -> SnmpEngine:
        return self._shared.engine

    def retire(self, domain: Domain, linger_s: float) -> None:
        """Close the socket of ``domain`` now; drop what pysnmp sends there for ``linger_s``."""
        engine = self._shared.engine
        lcd = engine.get_user_context(LCD_CACHE) or {}
        for key, (addr_name, _uses) in list(lcd.get("addr", {}).items()):
            if key[1] == domain:  # the target-address rows pysnmp made for this socket
                with contextlib.suppress(PySnmpError):
                    config.delete_target_address(engine, addr_name)
                del lcd["addr"][key]
        lcd.get("tran", {}).pop(domain, None)
        dispatcher = engine.transport_dispatcher
        if dispatcher is None:
            return
        try:
            transport = dispatcher.get_transport(domain)
        except PySnmpError:
            return
        dispatcher.unregister_transport(domain)
        with contextlib.suppress(Exception):  # closing is best effort (the loop may be ending)
            transport.close_transport()
        if self._shared.loop.is_closed():
            return  # no timer will ever run there again
        dispatcher.register_transport(domain, _Dropping())
        with _LOCK:
            self._shared.retired[domain] = time.monotonic() + linger_s
        self._forget_retired()

    def _forget_retired(self) -> None:
        now = time.monotonic()
        dispatcher = self._shared.engine.transport_dispatcher
        with _LOCK:
            due = [d for d, until in self._shared.retired.items() if until <= now]
            for d in due:
                del self._shared.retired[d]
        for d in due:
            if dispatcher is not None:
                with contextlib.suppress(PySnmpError):
                    dispatcher.unregister_transport(d)

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        with _LOCK:
            self._shared.users -= 1
            last = self._shared.users <= 0
            if last and _SHARED.get(self._key) is self._shared:
                del _SHARED[self._key]
        if last:
            _close(self._shared)


def acquire(kind: str) -> EngineLease:
    """The running loop's engine for ``kind`` (see ``engine_kind``), built on first use."""
    loop = asyncio.get_running_loop()
    key = (loop, kind)
    with _LOCK:
        for gone in [k for k, s in _SHARED.items() if s.loop.is_closed()]:
            del _SHARED[gone]  # its loop ended without the sources closing: nothing left to close on
        shared = _SHARED.get(key)
        if shared is None:
            shared = _SHARED[key] = _Shared(new_engine(), loop)
        shared.users += 1
    return EngineLease(shared, key)


def _close(shared: _Shared) -> None:
    if shared.loop.is_closed():
        return  # its sockets cannot be closed through a closed loop; they go with the engine
    with contextlib.suppress(Exception):
        shared.engine.close_dispatcher()


def unshared(kind: str) -> EngineLease:
    """An engine of its own with pysnmp's defaults (MIB compiler included), as every source had
    before engines were shared: the baseline ``benchmarks/bench_poll.py --snmp-engines=per-source``
    measures against. Not registered, so never shared; closed on release."""
    loop = asyncio.get_running_loop()
    return EngineLease(_Shared(SnmpEngine(), loop, users=1), (loop, f"unshared:{kind}"))
