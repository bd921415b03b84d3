"""Views under test: the demo site's description, realistic readings from the demo model read
through the real clients (no sockets), and a ``ViewContext`` over a ``LiveSite`` fed by hand.

    ctx, feeder = view_context(qtbot)           # the demo site, no database
    feeder.step(600)                             # 10 simulated minutes, every device polled once
    view = SchematicView(ctx); qtbot.addWidget(view); view.refresh()

``history_db(path, hours)`` fast-forwards the demo model into a database for views that ask
the history service.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from console.demo.model import DemoSite
from console.demo.readout import SiteReadout, site_specs
from console.demo.sitefile import Endpoints, render
from console.engine.coordinator import Batch, DeviceState, DeviceStatus
from console.live import LiveSite
from console.site import Site, parse_site
from protocols.base import Reading

START = dt.datetime(2025, 1, 15, 6, 0, tzinfo=dt.UTC)  # a winter morning: heat is wanted


def demo_site_model(seed: int = 1) -> Site:
    """The demo site file (placeholder loopback ports; nothing listens)."""
    site = DemoSite(seed=seed, start=START)
    cfg = site.config
    n = len(cfg.servers)
    ep = Endpoints(redfish={s.id: 1 + i for i, s in enumerate(cfg.servers)}, ups=1 + n, pdu=2 + n, modbus=3 + n)
    return parse_site(render(cfg, ep, seed=seed, speed=1.0), "<demo site>")


class DemoFeeder:
    """Steps a demo model and feeds what its devices report into a LiveSite, as the engine
    would (one batch per device, stamped with wall time so ages are small)."""

    def __init__(self, live: LiveSite, seed: int = 1, faults: Iterable[str] = (),
                 wall: Callable[[], float] = time.time) -> None:
        self.model = DemoSite(seed=seed, start=START)
        self.readout = SiteReadout(self.model)
        self.live = live
        self.wall = wall
        for f in faults:
            self.model.inject(f)
        # specs only to name addresses in statuses
        self._addr = {k: v.address for k, v in site_specs(self.model).items()}
        # what each device says it is, as the engine reads it once per connection
        self.identities = self.readout.identities()

    def step(self, seconds: float = 60.0) -> list[Reading]:
        """Advance the model and deliver one poll of every device."""
        self.model.step(seconds)
        now = self.wall()
        readings = self.readout.read(now)
        by_dev: dict[str, list[Reading]] = {}
        for r in readings:
            by_dev.setdefault(r.device_id, []).append(r)
        for dev in self.live.site.devices:
            got = by_dev.get(dev.id, [])
            why = self.readout.failures.get(dev.id)
            ident = self.identities.get(dev.id)
            st = (DeviceStatus(dev.id, self._addr.get(dev.id, dev.address), DeviceState.OK, last_success=now,
                               readings=len(got), identity=ident)
                  if why is None else
                  DeviceStatus(dev.id, self._addr.get(dev.id, dev.address), DeviceState.UNREACHABLE, message=why,
                               identity=ident))
            self.live.on_batch(Batch(dev.id, tuple(got), st))
        return readings


def view_context(qtbot: Any, *, site: Site | None = None, db_path: str | Path | None = None,
                 clock: Callable[[], float] = time.monotonic, **extra: Any) -> tuple[Any, DemoFeeder | None]:
    """A ViewContext over a fresh LiveSite (the demo site unless ``site`` is given), with a
    20 ms bridge. With ``db_path`` a HistoryService reads it (closed at teardown). Returns the
    context and a DemoFeeder (None for a non-demo site)."""
    from console.history import HistoryService
    from console.ui.bridge import LiveBridge
    from console.ui.context import ViewContext

    demo = site is None
    site = site or demo_site_model()
    live = LiveSite(site, clock=clock)
    bridge = LiveBridge(live, interval_ms=20)
    history = HistoryService(db_path) if db_path is not None else None

    def _close() -> None:
        bridge.close()
        if history is not None:
            history.close()

    qtbot._request.addfinalizer(_close)  # noqa: SLF001 - pytest-qt keeps the request
    ctx = ViewContext(site=site, live=live, bridge=bridge, history=history,
                      db_path=str(db_path or ""), **extra)
    return ctx, (DemoFeeder(live) if demo else None)


def history_db(path: str | Path, hours: float, *, seed: int = 1, end: float | None = None,
               faults: Iterable[str] = ()) -> float:
    """``hours`` of the demo site, one snapshot a simulated minute, written to ``path`` so that
    the last snapshot is at ``end`` (default: now). Returns ``end``."""
    from console.store import Store

    end = time.time() if end is None else end
    model = DemoSite(seed=seed, start=START)
    for f in faults:
        model.inject(f)
    readout = SiteReadout(model)
    n = int(hours * 60)
    with Store(path) as store:
        batch: list[Reading] = []
        for i in range(n):
            model.step(60.0)
            batch += readout.read(end - (n - 1 - i) * 60.0)
            if len(batch) > 50_000:
                store.add_readings(batch)
                store.flush()  # one batch in flight: the writer's queue is bounded and drops beyond it
                batch = []
        store.add_readings(batch)
        store.flush()
    return end
