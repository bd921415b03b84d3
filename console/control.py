"""Writes to equipment: power caps, outlets, valves and setpoints, UPS self-tests.

The console is never the only safety layer, but it is a careful one. A write happens only while
control is unlocked (for a limited time, by a named person); it is checked against the site's
limits here and against the device's own bounds in the client; the client reads it back; and
every attempt — refused, failed, mismatched or done — lands in the append-only audit log.

Nothing here blocks its caller: actions run on the engine's loop and return a Future; the
"before" value comes from the latest poll held in memory, not from the disk.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, Protocol

from console.site import Site
from protocols.base import ActionRefused, ActionResult, Reading, Source

log = logging.getLogger("heatrack.control")

DEFAULT_UNLOCK_MINUTES = 15.0
MAX_UNLOCK_MINUTES = 8 * 60.0


class ControlLocked(ActionRefused):
    """The user has not unlocked control (or the unlock expired)."""


class EngineLike(Protocol):
    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]: ...
    def run_action(self, device_id: str, fn: Callable[[Source], Awaitable[Any]]) -> Future[Any]: ...


class AuditLike(Protocol):
    def audit(self, actor: str, action: str, target: str, before: Any, after: Any, result: str) -> Any: ...


@dataclasses.dataclass(frozen=True, slots=True)
class ControlState:
    unlocked: bool
    actor: str | None = None
    until: float | None = None
    reason: str = ""


class Control:
    def __init__(self, site: Site, engine: EngineLike, store: AuditLike, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.site = site
        self._engine = engine
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._state = ControlState(False)
        self._latest: dict[str, Reading] = {}
        self._unsubscribe = engine.subscribe(self._on_batch)

    def close(self) -> None:
        self._unsubscribe()

    def _on_batch(self, batch: Any) -> None:  # engine thread
        for r in batch.readings:
            self._latest[r.series_key] = r

    # ------------------------------------------------------------ lock
    def state(self) -> ControlState:
        with self._lock:
            s = self._state
            if s.unlocked and s.until is not None and self._clock() >= s.until:
                self._state = ControlState(False)
                self._store.audit(s.actor or "?", "control_lock", "site", None, None, "expired")
            return self._state

    def unlock(self, actor: str, minutes: float = DEFAULT_UNLOCK_MINUTES, reason: str = "") -> ControlState:
        if not actor.strip():
            raise ValueError("unlocking control needs the name of the person doing it")
        if not 0 < minutes <= MAX_UNLOCK_MINUTES:
            raise ValueError(f"unlock for 0 to {MAX_UNLOCK_MINUTES:g} minutes, not {minutes:g}")
        with self._lock:
            self._state = ControlState(True, actor, self._clock() + minutes * 60.0, reason)
        self._store.audit(actor, "control_unlock", "site", None, {"minutes": minutes, "reason": reason}, "ok")
        return self._state

    def lock(self, actor: str) -> None:
        with self._lock:
            was = self._state.unlocked
            self._state = ControlState(False)
        if was:
            self._store.audit(actor, "control_lock", "site", None, None, "ok")

    # ------------------------------------------------------------ actions
    def set_power_limit(self, actor: str, device_id: str, watts: float,
                        gpu: int | None = None) -> Future[ActionResult]:
        """Cap a server (Redfish) or one local GPU (NVML, ``gpu`` index)."""
        dev = self.site.device(device_id)
        if gpu is None and dev.protocol == "nvml":
            raise ValueError(f"{device_id}: name the GPU to cap (gpu=0, 1, ...)")
        problem = None if watts > 0 else f"a power limit must be > 0 W, not {watts:g}"
        if gpu is None:
            return self._perform(actor, device_id, "set_power_limit", "chassis", watts,
                                 lambda s: s.set_power_limit(watts), "chassis/power_limit", problem)
        return self._perform(actor, device_id, "set_power_limit", f"gpu{gpu}", watts,
                             lambda s: s.set_power_limit(gpu, watts), f"gpu{gpu}/power_limit", problem)

    def set_outlet(self, actor: str, device_id: str, outlet: int, command: str) -> Future[ActionResult]:
        """Switch a PDU outlet: "on", "off" or "reboot"."""
        problem = None if command in ("on", "off", "reboot") else f"unknown outlet command {command!r}"
        return self._perform(actor, device_id, f"outlet_{command}", f"outlet{outlet}", command,
                             lambda s: s.set_outlet(outlet, command), f"outlet{outlet}/state", problem)

    def ups_self_test(self, actor: str, device_id: str) -> Future[ActionResult]:
        return self._perform(actor, device_id, "ups_self_test", "ups", "start",
                             lambda s: s.self_test(), "self_test/state", None)

    def heat_write(self, actor: str, device_id: str, point: str, value: Any) -> Future[ActionResult]:
        """Write a heat-controller point (setpoints, valve, bypass, pump)."""
        return self._perform(actor, device_id, "set_point", point, value,
                             lambda s: s.write_point(point, value), None, self._heat_limit_problem(point, value))

    def _heat_limit_problem(self, point: str, value: Any) -> str | None:
        """The site's own limits bound setpoints below whatever the device would accept."""
        limits = self.site.limits
        if point == "supply_setpoint" and isinstance(value, (int, float)) and value > limits.max_loop_temp_c:
            return f"{value:g} °C is above the site's max loop temperature ({limits.max_loop_temp_c:g} °C)"
        if point == "tank_max_temp" and isinstance(value, (int, float)) and value > limits.max_tank_temp_c:
            return f"{value:g} °C is above the site's max tank temperature ({limits.max_tank_temp_c:g} °C)"
        return None

    # ------------------------------------------------------------ the one path
    def _perform(self, actor: str, device_id: str, action: str, target: str, requested: Any,
                 call: Callable[[Any], Awaitable[ActionResult]], before_key: str | None,
                 problem: str | None) -> Future[ActionResult]:
        dev = self.site.device(device_id)  # KeyError for an unknown device: a programming error
        where = f"{device_id}/{target}"
        before_r = self._latest.get(f"{device_id}/{before_key}") if before_key else None
        before = None if before_r is None else {"value": before_r.value, "unit": before_r.unit, "ts": before_r.ts}
        state = self.state()
        if not state.unlocked:
            self._store.audit(actor, action, where, before, {"requested": requested}, "refused: control locked")
            raise ControlLocked(device_id, dev.address or "local",
                                f"{action} {target}: control is locked; unlock it first")
        if problem:
            self._store.audit(actor, action, where, before, {"requested": requested}, f"refused: {problem}")
            raise ActionRefused(device_id, dev.address or "local", f"{action} {target}: {problem}")

        out: Future[ActionResult] = Future()

        def audit(after: Any, result: str) -> None:
            try:
                self._store.audit(actor, action, where, before, after, result)
            except Exception:  # the caller must still get its answer; say loudly what is missing
                log.exception("%s %s by %s (%s) NOT in the audit log", action, where, actor, result)

        def done(f: Future[ActionResult]) -> None:
            try:
                res = f.result()
            except Exception as e:  # refused by the client's bounds, unreachable, ...
                audit({"requested": requested}, f"failed: {type(e).__name__}: {e}")
                out.set_exception(e)
                return
            result = "ok" if res.ok else f"mismatch: {res.message or 'read-back differs'}"
            audit({"requested": res.requested, "readback": res.readback}, result)
            out.set_result(res)

        try:
            sent = self._engine.run_action(device_id, call)
        except Exception as e:  # the engine is not running: an attempt like any other
            audit({"requested": requested}, f"failed: {type(e).__name__}: {e}")
            raise
        sent.add_done_callback(done)
        return out
