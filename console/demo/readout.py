"""What the demo site's devices report, read through heatrack's own clients with no network.

Fast-forward logs a season in minutes, so it cannot poll the protocol servers over sockets
every simulated minute; it must still store exactly what polling would: the same series
(device, channel, quantity, unit) and the same values. So each device is read by its real
client class with only the transport replaced, answered in process by the same code that
renders the demo's protocol servers:

- Redfish: ``RedfishSource`` discovers, extracts and merges as always; its GETs are answered
  from the resource tree the demo BMC serves (``server_resources.build_tree``; a resource that
  carries readings rendered alone, by the same function: ``reading_resources``).
- SNMP: ``SnmpSource`` detects its profile, GETs and walks as always; the answers are the
  objects the demo agent serves (``agent_mibs.UpsMib`` / ``PduMib``; only the parts of the MIB
  that hold what a request asks for), as its decoder sees them.
- Modbus: ``ModbusSource`` reads its planned blocks as always; the registers are encoded by
  the demo controller's own ``HeatControllerServer``.
- NVML: ``NvmlSource`` over the simulated ``pynvml``, exactly as live.

The device specs come from the site file the demo renders, so profiles and options are the
live ones too. There is no second mapping of channels and quantities to keep in step: a change
to a server or a client shows in both modes at once. A device that fails (the BMC made
unreachable by a fault) gives no readings, as the engine records none for it.
"""
from __future__ import annotations

import bisect
import functools
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from console.demo import credentials as demo_creds
from console.demo.model import DemoSite
from console.demo.sitefile import Endpoints, render
from protocols.base import BadData, DeviceError, DeviceSpec, Identity, Reading, Unreachable
from protocols.demo_views import GpuHostView, ServerView
from protocols.modbus.client import ModbusSource, identity_from
from protocols.modbus.profile import BIT_TABLES, decode
from protocols.modbus.server import HeatControllerServer
from protocols.nvml.client import NvmlSource
from protocols.nvml.sim import SimulatedNvml
from protocols.redfish import server_resources
from protocols.redfish.client import RedfishSource
from protocols.redfish.parse import Payload
from protocols.snmp.agent_mibs import DeviceMib, Oid, PduMib, UpsMib, Uptime
from protocols.snmp.client import SnmpSource
from protocols.snmp.decode import Raw, to_raw

log = logging.getLogger("heatrack.demo")

T = TypeVar("T")
_PORT = 1  # the site file wants distinct ports; nothing is ever sent to them


def run_now(coro: Coroutine[Any, Any, T]) -> T:
    """Run a client coroutine whose I/O is answered in process: it never has to wait, so it
    finishes on its first step, with no event loop (which would cost more than the read)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("an in-process read waited for I/O")


class DeviceReadout(Protocol):
    device_id: str

    def read(self, ts: float) -> list[Reading]:
        """What polling the device now would give, stamped ``ts``."""
        ...

    def identify_now(self) -> Identity:
        """What the device says it is, as identify() reads it."""
        ...


class _SimulatedClock:
    """The clients stamp readings with their ``clock`` (wall time live); a readout stamps
    the simulated instant it reads for."""

    def __init__(self) -> None:
        self.ts = 0.0

    def __call__(self) -> float:
        return self.ts


# ---------------------------------------------------------------- Redfish
class BmcReadout(RedfishSource):
    """The Redfish client over the demo BMC's resource tree instead of HTTP. A GET of a
    resource that carries readings renders only that resource (``reading_resources``: the
    function the whole tree uses for it); any other GET (discovery, a Sensor) renders the
    whole tree, so this is a shortcut, never a second description of the tree."""

    def __init__(self, spec: DeviceSpec, view: Callable[[], ServerView]) -> None:
        super().__init__(spec)
        self.device_id = spec.id
        self.clock = self._sim = _SimulatedClock()
        self._view = view
        self._snap: ServerView | None = None
        self._tree: dict[str, Payload] = {}
        self._one: dict[str, Callable[[], Payload]] | None = None
        self._whole = False

    def _view_now(self) -> ServerView:
        if self._snap is None:
            view = self._view()
            if not view.reachable:  # the BMC accepts and never answers: the client times out
                raise self._err(Unreachable, f"no answer within {self.spec.timeout_s:g} s "
                                             "(connected, but the BMC did not reply)")
            self._snap = view
        return self._snap

    def _resource(self, path: str) -> Payload | None:
        body = self._tree.get(path)
        if body is not None or self._whole:
            return body
        if self._one is None:
            self._one = server_resources.reading_resources(self._view_now())
        make = self._one.get(path)
        if make is not None:
            body = self._tree[path] = make()
            return body
        self._tree = server_resources.build_tree(self._view_now(), {})
        self._whole = True
        return self._tree.get(path)

    def _connect(self) -> None:
        if self._client is None:
            self._root = self._resource(server_resources.ROOT) or {}
            self._client = self  # "connected": the requests below never leave the process

    def _get(self, uri: str, *, optional: bool = True) -> Payload | None:
        path = uri.rstrip("/") or "/"  # as the server reads it (the tree links only to itself)
        self.requests_made += 1
        body = self._resource(path)
        if body is None and not optional:
            raise self._err(BadData, f"GET {uri}: HTTP 404")
        return body

    def _disconnect(self) -> None:
        self._client = None

    def read(self, ts: float) -> list[Reading]:
        # One snapshot per poll, as the server renders one per request.
        self._snap, self._tree, self._one, self._whole = None, {}, None, False
        try:
            self._sim.ts = ts
            return self._poll()
        finally:
            self._snap, self._tree, self._one = None, {}, None

    def identify_now(self) -> Identity:
        """What ``identify()`` reads from the demo BMC's tree, without the worker thread (a
        fresh reader: polls keep their state)."""
        return BmcReadout(self.spec, self._view)._identify()


# ---------------------------------------------------------------- SNMP
class AgentReadout(SnmpSource):
    """The SNMP client over the demo agent's objects instead of UDP. A request renders only
    the parts of the agent's tree that hold what it asks for (``DeviceMib.parts``), by the
    agent's own code; one snapshot per poll, as the agent takes one per request."""

    def __init__(self, spec: DeviceSpec, mib: DeviceMib) -> None:
        super().__init__(spec)
        self.device_id = spec.id
        self.clock = self._sim = _SimulatedClock()
        self._mib = mib
        self._values: dict[Oid, Any] = {}
        self._rendered: frozenset[Oid] | None = frozenset()  # parts in _values; None: all
        self._oids: list[Oid] = []  # _values' OIDs in walk order, for _sorted_keys
        self._sorted_keys: set[Oid] = set()
        self._asked: set[Oid] = set()  # parts this poll's requests needed
        self._wanted: frozenset[Oid] = frozenset()  # ... and the last poll's (rendered up front)
        self._parsed: dict[str, Oid] = {}
        self._parts_of: dict[tuple[bool, tuple[str, ...]], frozenset[Oid] | None] = {}

    def _oid(self, text: str) -> Oid:
        oid = self._parsed.get(text)
        if oid is None:
            oid = self._parsed[text] = tuple(int(p) for p in text.lstrip(".").split("."))
        return oid

    def _parts_for(self, walk: bool, texts: tuple[str, ...]) -> frozenset[Oid] | None:
        """The agent's parts that hold these instances (or, ``walk``, columns); None: the
        whole tree (a MIB without parts). An OID under no part is not served at all."""
        key = (walk, texts)
        if key not in self._parts_of:
            parts = self._mib.parts
            need: set[Oid] | None = set() if parts else None
            for oid in map(self._oid, texts):
                for p in parts:
                    if oid[:len(p)] == p or (walk and p[:len(oid)] == oid):
                        need.add(p)  # type: ignore[union-attr]
            self._parts_of[key] = None if need is None else frozenset(need)
        return self._parts_of[key]

    def _snapshot(self, walk: bool, texts: tuple[str, ...]) -> dict[Oid, Any]:
        need = self._parts_for(walk, texts)
        if need is not None:
            self._asked |= need
        done = self._rendered
        if done is not None and (need is None or not need <= done):
            if need is None:
                self._values, self._rendered = self._mib.objects(), None
            else:
                first = not done
                todo = (need | self._wanted) - done if first else need - done
                self._values.update(self._mib.objects(todo))
                self._rendered = done | todo
        return self._values

    async def get(self, oids: Iterable[str]) -> dict[str, Raw]:
        texts = tuple(oids)
        values = self._snapshot(False, texts)
        out: dict[str, Raw] = {}
        for text in texts:
            value = values.get(self._oid(text))
            out[text.lstrip(".")] = None if value is None else to_raw(value)
        return out

    async def walk(self, columns: Iterable[str]) -> dict[str, dict[tuple[int, ...], Raw]]:
        texts = tuple(columns)
        values = self._snapshot(True, texts)
        if values.keys() != self._sorted_keys:  # walk order is OID order
            self._oids = sorted(values)
            self._sorted_keys = set(values)
        oids = self._oids
        tables: dict[str, dict[tuple[int, ...], Raw]] = {}
        for text in texts:
            col = self._oid(text)
            rows = tables[text.lstrip(".")] = {}
            n = len(col)
            i = bisect.bisect_right(oids, col)
            while i < len(oids) and oids[i][:n] == col:
                oid = oids[i]
                rows[oid[n:]] = to_raw(values[oid])
                i += 1
        return tables

    async def close(self) -> None:
        pass

    def read(self, ts: float) -> list[Reading]:
        self._values, self._rendered, self._asked = {}, frozenset(), set()
        try:
            self._sim.ts = ts
            readings = run_now(self.poll())
            self._wanted = frozenset(self._asked)
            return readings
        finally:
            self._values, self._rendered = {}, frozenset()

    def identify_now(self) -> Identity:
        """What ``identify()`` reads from the demo agent (a fresh reader: polls keep their state)."""
        return run_now(AgentReadout(self.spec, self._mib).identify())


# ---------------------------------------------------------------- Modbus
class ControllerReadout(ModbusSource):
    """The Modbus client over the registers the demo heat controller serves, instead of TCP."""

    def __init__(self, spec: DeviceSpec, server: HeatControllerServer) -> None:
        super().__init__(spec, server.profile)
        self.device_id = spec.id
        self.clock = self._sim = _SimulatedClock()
        self._server = server
        # Each table's (first address, registers) in the server's layout: fixed by its profile.
        self._extent: dict[str, tuple[int, int]] = {}
        for table, points in server._tables.items():  # noqa: SLF001 - the server's own layout
            if not points:
                continue
            if table in BIT_TABLES:  # bits packed 16 to a register from address 0
                self._extent[table] = (0, max(p.end for p in points) // 16 + 1)
            else:
                start = points[0].address
                self._extent[table] = (start, max(p.end for p in points) - start)
        # Where each planned point's registers lie in its table's image.
        self._slices = [[(p.name, p.address - self._extent[b.table][0], p.end - self._extent[b.table][0])
                         for p in b.points] for b in self._blocks]

    def _image(self, table: str, values: Mapping[str, Any]) -> tuple[int, list[int]]:
        """(first address, registers) of one table as the server holds it for a read."""
        start, size = self._extent[table]
        regs = [0] * size
        self._server._refresh(table, start, regs, values)  # noqa: SLF001 - the server's encoding
        return start, regs

    async def read_raw(self) -> dict[str, list[int]]:
        values = dict(self._server.get_points())
        images: dict[str, list[int]] = {}
        out: dict[str, list[int]] = {}
        for block, slices in zip(self._blocks, self._slices, strict=True):
            t = block.table
            regs = images.get(t)
            if regs is None:
                regs = images[t] = self._image(t, values)[1]
            if t in BIT_TABLES:
                out.update((p.name, [regs[p.address // 16] >> (p.address % 16) & 1]) for p in block.points)
            else:
                for name, a, b in slices:
                    out[name] = regs[a:b]
        return out

    async def close(self) -> None:
        pass

    def read(self, ts: float) -> list[Reading]:
        self._sim.ts = ts
        return run_now(self.poll())

    def identify_now(self) -> Identity:
        """What ``identify()`` gets from the demo controller: its 43/14 objects and the identity
        registers as the server encodes them."""
        names = ("VendorName", "ProductCode", "MajorMinorRevision", "VendorUrl", "ProductName", "ModelName",
                 "UserApplicationName")
        told = self._server.identification if self.profile.device_identification else {}
        mei = {i: told[n] for i, n in enumerate(names) if told.get(n)}
        values = dict(self._server.get_points())
        registers: dict[str, str] = {}
        for p in (p for p in self.profile.points.values() if p.identity):
            start, regs = self._image(p.table, values)
            v = decode(p, regs[p.address - start:p.end - start])
            registers[p.name] = f"{v:g}" if isinstance(v, float) else str(v)
        return identity_from(mei, registers, self.profile.identity)


# ---------------------------------------------------------------- NVML
class NvmlReadout:
    """The NVML client over the simulated ``pynvml``, one view per poll."""

    def __init__(self, spec: DeviceSpec, view: Callable[[], GpuHostView]) -> None:
        self.device_id = spec.id
        self._view = view
        self._snap: GpuHostView | None = None
        self._source = NvmlSource(spec, nvml_module=SimulatedNvml(self._snapshot))

    def _snapshot(self) -> GpuHostView:
        if self._snap is None:
            self._snap = self._view()
        return self._snap

    def read(self, ts: float) -> list[Reading]:
        self._snap = None
        try:
            return self._source.readings(self._source.sample_sync(), ts)
        finally:
            self._snap = None

    def identify_now(self) -> Identity:
        self._snap = None
        try:
            return self._source.identify_sync()
        finally:
            self._snap = None


# ---------------------------------------------------------------- the site
def site_specs(site: DemoSite) -> dict[str, DeviceSpec]:
    """Each device's spec as the live demo site file gives it (profiles, options,
    credentials), with placeholder addresses."""
    from console.site import device_spec, parse_site

    cfg = site.config
    n = len(cfg.servers)
    ep = Endpoints(redfish={s.id: _PORT + i for i, s in enumerate(cfg.servers)}, ups=_PORT + n,
                   pdu=_PORT + n + 1, modbus=_PORT + n + 2)
    parsed = parse_site(render(cfg, ep, seed=site.seed, speed=1.0), "<demo site>")
    specs = {}
    for dev in parsed.devices:
        ref = dev.credentials
        creds = demo_creds.credentials(ref.removeprefix("demo:")) if ref else None
        specs[dev.id] = device_spec(dev, creds)
    return specs


class _ReadOnly:
    """Reads never write; a readout that tried would be a bug, so say so."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        def refuse(*_: object) -> None:
            raise RuntimeError(f"demo readout: {name} is a write; readouts only read")
        return refuse


class SiteReadout:
    """Every device of a ``DemoSite`` read through its client. Not thread-safe: the caller
    holds whatever lock guards the model (``DemoRunner.lock``) around ``read``."""

    def __init__(self, site: DemoSite) -> None:
        self.site = site
        specs = site_specs(site)
        control: Any = _ReadOnly()
        uptime = Uptime()
        readers: list[DeviceReadout] = []
        for s in site.servers:
            sid = s.spec.id
            readers.append(BmcReadout(specs[sid], functools.partial(site.server_view, sid)))
        if site.host is not None:
            readers.append(NvmlReadout(specs[site.host.spec.id], site.gpu_host_view))
        readers.append(AgentReadout(specs[site.ups.spec.id], UpsMib(site.ups_view, control, uptime)))
        readers.append(AgentReadout(specs[site.pdu.spec.id], PduMib(site.pdu_view, control, uptime)))
        server = HeatControllerServer.for_view(site.heat_view, control,
                                               profile=specs[site.plant.spec.id].profile or "")
        readers.append(ControllerReadout(specs[site.plant.spec.id], server))
        missing = set(specs) - {r.device_id for r in readers}
        if missing:
            raise ValueError(f"demo readout: no reader for {', '.join(sorted(missing))}")
        self.readers = readers
        self.failures: dict[str, str] = {}  # device -> why its last read gave nothing

    def identities(self) -> dict[str, Identity]:
        """What each device says it is, as the engine's identify() would read it (a device
        that cannot answer now is left out)."""
        out: dict[str, Identity] = {}
        for r in self.readers:
            try:
                out[r.device_id] = r.identify_now()
            except DeviceError as e:
                log.info("demo readout: %s gives no identity: %s", r.device_id, e.what)
        return out

    def read(self, ts: float | None = None) -> list[Reading]:
        """What polling every device now would store, stamped ``ts`` (default: simulated now)."""
        ts = self.site.now if ts is None else ts
        out: list[Reading] = []
        for r in self.readers:
            try:
                out += r.read(ts)
            except DeviceError as e:  # (its address is a placeholder: say only what failed)
                if self.failures.get(r.device_id) != e.what:
                    log.info("demo readout: %s gives nothing: %s", r.device_id, e.what)
                self.failures[r.device_id] = e.what
                continue
            self.failures.pop(r.device_id, None)
        return out


__all__ = ["AgentReadout", "BmcReadout", "ControllerReadout", "NvmlReadout", "SiteReadout",
           "run_now", "site_specs"]
