"""The live demo site: the physical model plus its protocol servers on 127.0.0.1.

``DemoRunner`` owns one ``DemoSite`` and serves it as real equipment would be reached: a
Redfish BMC per server, an SNMP agent for the UPS and one for the PDU, the Modbus heat
controller, and a simulated NVML for the GPU host. The model is not thread-safe, so one lock
guards every step, view and control write; the servers' view getters take it for the moment
they copy a view (views are snapshots). A clock thread steps the model in real time x speed
and fires scheduled faults at their simulated time. ``fast_forward`` instead drives the model
itself and logs what the devices would report straight into a Store, for seasons simulated in
minutes: read through the same clients as live polling (``console.demo.readout``), so both
modes store the same series with the same values.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt_
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from console.demo import credentials as demo_creds
from console.demo.faults import FAULTS, check
from console.demo.model import DemoConfig, DemoSite
from console.demo.readout import SiteReadout
from console.demo.sitefile import Endpoints, render
from protocols.base import Credentials, DeviceSpec, Reading, Source
from protocols.demo_views import GpuHostView, HeatControllerView, PduView, ServerView, UpsView

log = logging.getLogger("heatrack.demo")

FaultListener = Callable[[str, float], None]  # (fault name, simulated epoch when it fired)
MAX_CHUNK_S = 600.0  # the lock is released between chunks of a long advance
STOP_TIMEOUT_S = 5.0


def fault_device(cfg: DemoConfig, fault: str) -> str:
    """The device whose behaviour a fault changes (for store events)."""
    return {
        "bmc-unreachable": cfg.fault_server,
        "ups-on-battery": cfg.ups.id,
        "outlet-tripped": cfg.pdu.id,
    }.get(fault, cfg.plant.id)


class _LockedControl:
    """``protocols.demo_views.DemoControl`` over the model, each write under the runner's lock."""

    def __init__(self, site: DemoSite, lock: threading.RLock) -> None:
        self._site, self._lock = site, lock

    def set_power_limit(self, server_id: str, watts: float | None) -> None:
        with self._lock:
            self._site.set_power_limit(server_id, watts)
        log.info("demo: %s power limit -> %s W", server_id, watts)

    def set_gpu_power_limit(self, host_id: str, gpu_index: int, watts: float) -> None:
        with self._lock:
            self._site.set_gpu_power_limit(host_id, gpu_index, watts)
        log.info("demo: %s GPU %d power limit -> %s W", host_id, gpu_index, watts)

    def set_outlet(self, pdu_id: str, outlet: int, command: str) -> None:
        with self._lock:
            self._site.set_outlet(pdu_id, outlet, command)
        log.info("demo: %s outlet %d %s", pdu_id, outlet, command)

    def ups_self_test(self, ups_id: str) -> None:
        with self._lock:
            self._site.ups_self_test(ups_id)
        log.info("demo: %s self-test", ups_id)

    def heat_write(self, controller_id: str, point: str, value: float | int | bool) -> None:
        with self._lock:
            self._site.heat_write(controller_id, point, value)
        log.info("demo: %s %s = %s", controller_id, point, value)


class DemoRunner:
    """The demo site running: model, clock and servers. Use as a context manager.

    ``faults``: (name, T) pairs, T in simulated seconds after ``start`` (default: now, UTC).
    ``clock=False`` leaves stepping to the caller (``advance`` / ``fast_forward``).
    """

    def __init__(self, seed: int = 1, speed: float = 1.0, tls: bool = False,
                 faults: Iterable[tuple[str, float]] = (), start: dt_.datetime | None = None, *,
                 config: DemoConfig | None = None, clock: bool = True, tick_s: float = 0.2) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive number, got {speed!r}")
        self.seed, self.speed, self.tls, self.clock, self.tick_s = seed, speed, tls, clock, tick_s
        self.config = config or DemoConfig()
        self.start_time = start or dt_.datetime.now(dt_.UTC)
        sched = sorted((float(t), check(name)) for name, t in faults)
        for t, name in sched:
            if not (t >= 0 and math.isfinite(t)):
                raise ValueError(f"fault {name}: time must be >= 0 s, got {t!r}")
        self._schedule: list[tuple[float, str]] = sched
        self.fired: list[tuple[str, float]] = []
        self.lock = threading.RLock()
        self.site: DemoSite | None = None
        self._readout: SiteReadout | None = None
        self.control: _LockedControl | None = None
        self._listeners: list[FaultListener] = []
        self._stop = threading.Event()
        self._started = False
        self.redfish: dict[str, Any] = {}
        self.ups_agent: Any = None
        self.pdu_agent: Any = None
        self.modbus: Any = None
        self.nvml: Any = None
        self._mb_loop: asyncio.AbstractEventLoop | None = None
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------ life cycle
    def start(self) -> DemoRunner:
        """Build the model, start every server on an ephemeral loopback port, start the clock."""
        if self._started:
            return self
        self._started = True
        self.site = DemoSite(self.config, seed=self.seed, start=self.start_time)
        self.control = _LockedControl(self.site, self.lock)
        try:
            self._start_servers()
        except BaseException:
            self.stop()
            raise
        self._fire_due()  # faults at T <= now (e.g. @0)
        if self.clock:
            t = threading.Thread(target=self._clock, name="heatrack-demo-clock", daemon=True)
            t.start()
            self._threads.append(t)
        log.info("demo site running: %s", ", ".join(f"{k} {v}" for k, v in self.addresses().items()))
        return self

    def _start_servers(self) -> None:
        from protocols.modbus.server import HeatControllerServer
        from protocols.nvml.sim import SimulatedNvml
        from protocols.redfish.server import DemoRedfishService
        from protocols.snmp.agent import DemoSnmpAgent

        c = demo_creds
        control = self.control
        assert control is not None, "start() creates the control before the servers"
        for s in self.config.servers:
            svc = DemoRedfishService(self._getter(self._server_view, s.id), control,
                                     username=c.BMC_USER, password=c.BMC_PASSWORD, tls=self.tls)
            self.redfish[s.id] = svc
            svc.start()
        snmp: dict[str, Any] = dict(control=control, community_ro=c.COMMUNITY_RO, community_rw=c.COMMUNITY_RW,
                    v3_user=c.V3_USER, v3_auth_key=c.V3_AUTH_KEY, v3_priv_key=c.V3_PRIV_KEY)
        self.ups_agent = DemoSnmpAgent(ups=self.ups_view, pdu=None, **snmp)
        self.ups_agent.start()
        self.pdu_agent = DemoSnmpAgent(ups=None, pdu=self.pdu_view, **snmp)
        self.pdu_agent.start()
        loop = self._mb_loop = asyncio.new_event_loop()
        t = threading.Thread(target=loop.run_forever, name="heatrack-demo-modbus", daemon=True)
        t.start()
        self._threads.append(t)
        self.modbus = HeatControllerServer.for_view(self.heat_view, control)
        asyncio.run_coroutine_threadsafe(self.modbus.start(), loop).result(10)
        if self.config.gpu_host is not None:
            self.nvml = SimulatedNvml(self.gpu_host_view, control)

    def stop(self) -> None:
        """Stop the clock and every server; safe to call twice."""
        self._stop.set()
        for svc in self.redfish.values():
            svc.stop()
        for agent in (self.ups_agent, self.pdu_agent):
            if agent is not None:
                agent.stop()
        loop = self._mb_loop
        if loop is not None and not loop.is_closed():
            if self.modbus is not None:
                try:
                    asyncio.run_coroutine_threadsafe(self.modbus.stop(), loop).result(STOP_TIMEOUT_S)
                except Exception as e:  # noqa: BLE001 - stopping must go on
                    log.warning("demo: modbus server did not stop cleanly: %s", e)
            loop.call_soon_threadsafe(loop.stop)
        for t in self._threads:
            t.join(STOP_TIMEOUT_S)
        self._threads.clear()
        if loop is not None and not loop.is_closed() and not loop.is_running():
            loop.close()

    def __enter__(self) -> DemoRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stopped(self) -> threading.Event:
        return self._stop

    # ------------------------------------------------------------ views (thread-safe)
    def _model(self) -> DemoSite:
        if self.site is None:
            raise RuntimeError("the demo runner is not started")
        return self.site

    def _getter(self, fn: Callable[[str], Any], arg: str) -> Callable[[], Any]:
        return lambda: fn(arg)

    def _server_view(self, server_id: str) -> ServerView:
        with self.lock:
            return self._model().server_view(server_id)

    def ups_view(self) -> UpsView:
        with self.lock:
            return self._model().ups_view()

    def pdu_view(self) -> PduView:
        with self.lock:
            return self._model().pdu_view()

    def heat_view(self) -> HeatControllerView:
        with self.lock:
            return self._model().heat_view()

    def gpu_host_view(self) -> GpuHostView:
        with self.lock:
            return self._model().gpu_host_view()

    def server_view(self, server_id: str) -> ServerView:
        return self._server_view(server_id)

    def views(self) -> dict[str, object]:
        with self.lock:
            return self._model().views()

    @property
    def readout(self) -> SiteReadout:
        """Every device read through its client in process (built on first use: it parses
        the site file and the device profiles). Call ``read`` under ``lock``."""
        with self.lock:
            if self._readout is None:
                self._readout = SiteReadout(self._model())
            return self._readout

    def readings(self) -> list[Reading]:
        """What polling every device now would store, stamped in simulated time."""
        readout = self.readout
        with self.lock:
            return readout.read()

    @property
    def sim_time(self) -> float:
        """Simulated seconds since start."""
        with self.lock:
            return self._model().t

    @property
    def sim_now(self) -> float:
        """Simulated UTC epoch."""
        with self.lock:
            return self._model().now

    # ------------------------------------------------------------ time and faults
    def on_fault(self, listener: FaultListener) -> None:
        """Call ``listener(name, sim_epoch)`` (from the stepping thread) when a fault fires."""
        self._listeners.append(listener)

    def _notify(self, fired: Sequence[tuple[str, float]]) -> None:
        for name, epoch in fired:
            log.warning("demo: fault %s injected at %s (simulated)", name,
                        dt_.datetime.fromtimestamp(epoch, dt_.UTC).strftime("%Y-%m-%d %H:%M:%S"))
            for cb in list(self._listeners):
                try:
                    cb(name, epoch)
                except Exception:  # a listener's failure must not stop the clock
                    log.exception("demo: fault listener failed")

    def _fire_due(self) -> list[tuple[str, float]]:
        site = self._model()
        fired: list[tuple[str, float]] = []
        with self.lock:
            while self._schedule and self._schedule[0][0] <= site.t + 1e-9:
                _, name = self._schedule.pop(0)
                site.inject(name)
                fired.append((name, site.now))
            self.fired.extend(fired)
        self._notify(fired)
        return fired

    def inject(self, fault: str) -> None:
        """Inject a fault now (the GUI's fault menu)."""
        site = self._model()
        with self.lock:
            site.inject(fault)
            epoch = site.now
            self.fired.append((fault, epoch))
        self._notify([(fault, epoch)])

    def clear(self, fault: str) -> None:
        with self.lock:
            self._model().clear(fault)
        log.info("demo: fault %s cleared", fault)

    @property
    def active_faults(self) -> frozenset[str]:
        """The faults in force now (the window's demo panel)."""
        with self.lock:
            return frozenset(self._model().faults)

    def advance(self, dt_s: float) -> list[tuple[str, float]]:
        """Step the model ``dt_s`` simulated seconds, stopping at each scheduled fault's time
        to inject it. Returns the faults that fired."""
        site = self._model()
        fired: list[tuple[str, float]] = []
        end = site.t + dt_s
        while True:
            with self.lock:
                left = end - site.t
                if left <= 1e-9:
                    break
                nxt = self._schedule[0][0] - site.t if self._schedule else math.inf
                step = min(left, MAX_CHUNK_S, nxt) if nxt > 1e-9 else 0.0
                if step > 1e-9:
                    site.step(step)
            fired += self._fire_due()
        return fired

    def _clock(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.tick_s):
            now = time.monotonic()
            # at huge speeds the model runs as fast as it can: at most one tick of
            # compute per tick, the simulated clock then lags real time x speed
            dt_s = min((now - last) * self.speed, 200 * MAX_CHUNK_S)
            last = now
            if dt_s > 0:
                try:
                    self.advance(dt_s)
                except Exception:  # keep serving the last state rather than die silently
                    log.exception("demo: model step failed")
                    return

    # ------------------------------------------------------------ clients
    def addresses(self) -> dict[str, str]:
        """Device id -> "host:port" (or "simulated NVML")."""
        out = {sid: f"127.0.0.1:{svc.port}" for sid, svc in self.redfish.items()}
        if self.ups_agent is not None:
            out[self.config.ups.id] = f"127.0.0.1:{self.ups_agent.port}"
        if self.pdu_agent is not None:
            out[self.config.pdu.id] = f"127.0.0.1:{self.pdu_agent.port}"
        if self.modbus is not None and self.modbus.port:
            out[self.config.plant.id] = f"127.0.0.1:{self.modbus.port}"
        if self.nvml is not None and self.config.gpu_host is not None:
            out[self.config.gpu_host.id] = "simulated NVML"
        return out

    def site_toml(self) -> str:
        """A site file pointing at the live servers, with ``demo:`` credential references."""
        ep = Endpoints(redfish={sid: svc.port for sid, svc in self.redfish.items()},
                       ups=self.ups_agent.port, pdu=self.pdu_agent.port, modbus=self.modbus.port,
                       tls=self.tls)
        return render(self.config, ep, seed=self.seed, speed=self.speed)

    def site_model(self) -> Any:
        """``site_toml`` parsed and validated (console.site.Site)."""
        from console.site import parse_site

        return parse_site(self.site_toml(), "<demo site>")

    @staticmethod
    def credentials(name: str) -> Credentials:
        """The demo's documented credentials (``demo:NAME`` references)."""
        return demo_creds.credentials(name)

    def resolve(self, ref: str | None) -> Credentials:
        """A credential resolver for the Engine: ``demo:`` refs here, the rest as usual."""
        from console.secrets import resolve

        return resolve(ref, demo=self.credentials)

    def source_factory(self, spec: DeviceSpec) -> Source:
        """NVML through the simulated module for the demo GPU host; the real clients otherwise."""
        gh = self.config.gpu_host
        if spec.protocol == "nvml" and gh is not None and spec.id == gh.id and self.nvml is not None:
            from protocols.nvml.client import NvmlSource

            return NvmlSource(spec, nvml_module=self.nvml)
        from protocols.registry import open_source

        return open_source(spec)


# ---------------------------------------------------------------- fast-forward
class ReadingSink(Protocol):
    def add_readings(self, readings: Iterable[Reading]) -> None: ...
    def flush(self, timeout: float | None = None) -> None: ...


@dataclasses.dataclass(slots=True)
class FastForwardResult:
    sim_s: float
    samples: int
    rows: int  # readings handed to the store
    wall_s: float
    stopped_early: bool


def fast_forward(runner: DemoRunner, store: ReadingSink, duration_s: float, *,
                 interval_s: float = 60.0, batch_s: float = 6 * 3600.0,
                 stop: threading.Event | None = None,
                 progress: Callable[[float, int], None] | None = None) -> FastForwardResult:
    """Step ``runner``'s model ``duration_s`` simulated seconds and log ``readings()`` (what
    polling through the clients would store) every ``interval_s`` straight into ``store``,
    paced at ``runner.speed`` (no faster than real time x speed). The protocol servers go on
    serving the model meanwhile.

    Batches of ``batch_s`` simulated seconds are built while the store writes the previous
    one (one batch in flight: memory stays bounded however long the run)."""
    if interval_s <= 0 or duration_s < 0:
        raise ValueError("interval must be > 0 and duration >= 0")
    readout = runner.readout
    t0_wall = time.monotonic()
    t0_sim = runner.sim_time
    n_total = int(duration_s // interval_s)
    # at modest speeds keep each batch to about a second of wall time, so pacing is smooth
    per_batch = max(1, int(min(batch_s, runner.speed) // interval_s))
    done = rows = 0
    in_flight = False
    stopped = False
    while done < n_total:
        if stop is not None and stop.is_set():
            stopped = True
            break
        batch: list[Reading] = []
        for _ in range(min(per_batch, n_total - done)):
            runner.advance(interval_s)
            with runner.lock:
                batch.extend(readout.read())
            done += 1
        if in_flight:
            store.flush()  # the previous batch is on disk before the next is queued
        store.add_readings(batch)
        in_flight = True
        rows += len(batch)
        if progress is not None:
            progress(done * interval_s, rows)
        ahead = (runner.sim_time - t0_sim) / runner.speed - (time.monotonic() - t0_wall)
        if ahead > 0 and stop is not None:
            if stop.wait(ahead):
                stopped = True
                break
        elif ahead > 0:
            time.sleep(ahead)  # pacing to real time x speed, not synchronisation
    store.flush()
    return FastForwardResult(done * interval_s, done, rows, time.monotonic() - t0_wall, stopped)


__all__ = ["DemoRunner", "FAULTS", "FastForwardResult", "fast_forward", "fault_device"]
