"""Writes to equipment: power caps, outlets, valves and setpoints, UPS self-tests.

The console is never the only safety layer, but it is a careful one. A write happens only while
control is unlocked (for a limited time, by a named person); it is checked against the site's
limits here and against the device's own bounds in the client; the client reads it back; and
every attempt — refused, failed, mismatched or done — lands in the append-only audit log.

Every write is one action of the shared vocabulary (protocols.base: SetPowerLimit, SetOutlet,
SetSetpoint, SetValve, SetBypass, SetPump, UpsSelfTest) given to ``Control.perform``; each client
implements ``Source.perform`` for the actions it supports and refuses the rest.

Nothing here blocks its caller: actions run on the engine's loop and return a Future; the
"before" value comes from the latest poll held in memory, not from the disk.
"""
from __future__ import annotations

import dataclasses
import decimal
import logging
import math
import numbers
import re
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, Protocol

from console.site import Device, Site
from protocols.base import (
    ACTIONS,
    OUTLET_STATES,
    Action,
    ActionRefused,
    ActionResult,
    Reading,
    SetBypass,
    SetOutlet,
    SetPowerLimit,
    SetPump,
    SetSetpoint,
    SetValve,
    Source,
    UpsSelfTest,
)
from protocols.modbus.profile import Profile, ProfileError, load_profile
from protocols.plausibility import range_of
from protocols.safe_text import shown

log = logging.getLogger("heatrack.control")

DEFAULT_UNLOCK_MINUTES = 15.0
MAX_UNLOCK_MINUTES = 8 * 60.0
MAX_NAME = 80  # characters of a person's name in the audit log
MAX_REASON = 500
MAX_SHOWN = 80  # characters of a refused raw value shown in the audit log (shown()'s default)
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_WHOLE = re.compile(r"[+-]?\d+", re.ASCII)


class ControlLocked(ActionRefused):
    """The user has not unlocked control (or the unlock expired)."""


class EngineLike(Protocol):
    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]: ...
    def run_action(self, device_id: str, fn: Callable[[Source], Awaitable[Any]]) -> Future[Any]: ...


class AuditLike(Protocol):
    def audit(self, actor: str, action: str, target: str, before: Any, after: Any, result: str) -> Any: ...


def as_number(value: Any) -> float | None:
    """A real number (int, float, Decimal, Fraction, numpy scalar, or decimal text such as
    "84") as a float; None for anything else, bools included. May be NaN or infinite."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL.fullmatch(text):
            return None
        value = text
    elif not isinstance(value, (numbers.Real, decimal.Decimal)):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float: as good as infinite
        return math.inf
    except (TypeError, ValueError, ArithmeticError):  # Decimal('sNaN')
        return None


def as_whole(value: Any) -> int | None:
    """A whole number (int, integral float/Decimal, digits as text); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text) if _WHOLE.fullmatch(text) else None
        except ValueError:  # beyond int()'s digit limit
            return None
    number = as_number(value)
    if number is None or not math.isfinite(number) or not number.is_integer():
        return None
    return int(number)


def _finite(value: Any, what: str) -> tuple[float | None, str | None]:
    number = as_number(value)
    if number is None:
        return None, f"{what} takes a number, not {shown(value)}"
    if not math.isfinite(number):
        return None, f"{what}: {shown(value)} is not a finite number"
    return number, None


def _name_problem(actor: Any) -> str | None:
    name = actor.strip() if isinstance(actor, str) else ""
    if not name or len(name) > MAX_NAME or not name.isprintable():
        return (f"unlocking control and writing need the name of the person doing it "
                f"(printable, at most {MAX_NAME} characters), not {shown(actor)}")
    return None


def _label(x: Any) -> str:
    """A name (point, outlet) for the audit target: as given when it is plain text."""
    return x if isinstance(x, str) and x.isprintable() and 0 < len(x) <= MAX_SHOWN else shown(x)


def _audit_names(action: Any) -> tuple[str, str]:
    """(action, target) for the audit, from an action whose values may still be raw."""
    if isinstance(action, SetPowerLimit):
        if action.gpu is None:
            return action.name, "chassis"
        index = as_whole(action.gpu)
        return action.name, f"gpu{index}" if index is not None else f"gpu{shown(action.gpu)}"
    if isinstance(action, SetOutlet):
        number = as_whole(action.outlet)
        return action.name, f"outlet{number}" if number is not None else f"outlet{shown(action.outlet)}"
    if isinstance(action, SetSetpoint):
        return action.name, _label(action.point)
    if isinstance(action, Action):
        return action.name, action.target
    return "unknown_action", shown(action)


def _raw_requested(action: Any) -> Any:
    """The value asked for, as given (shown in the audit when it is refused)."""
    if isinstance(action, SetOutlet) and as_whole(action.outlet) is None:
        return action.outlet
    return action.requested if isinstance(action, Action) else action


def _who(actor: Any) -> str:
    """The actor column: the name as given, or its shown form when it is not a usable name."""
    return actor.strip() if _name_problem(actor) is None else shown(actor)


@dataclasses.dataclass(frozen=True, slots=True)
class ControlState:
    unlocked: bool
    actor: str | None = None
    until: float | None = None
    reason: str = ""


class Control:
    """Every entry point converts its values once, here at the edge, to the type the limit
    check and the client use (float for setpoints and caps, int for outlets and GPUs, the
    point's own label or bool for switches); what cannot be converted is refused and audited
    with the raw value shown as text. A string "84" thus meets the same limit as 84."""

    def __init__(self, site: Site, engine: EngineLike, store: AuditLike, *,
                 clock: Callable[[], float] = time.time, live: Any = None) -> None:
        self.site = site
        self._engine = engine
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._state = ControlState(False)
        self._latest: dict[str, Reading] = {}
        # Register maps, read once here so a write never waits on the disk: {id: map or why not}
        self._profiles: dict[str, Profile | str] = {}
        for dev in site.devices:
            if dev.protocol == "modbus" and dev.profile:
                try:
                    self._profiles[dev.id] = load_profile(dev.profile)
                except ProfileError as e:
                    self._profiles[dev.id] = str(e)
        # "before" values: the session's live model (``live.latest(key)``) when there is one, so
        # the latest values are held once; else (tests, a bare engine) a copy kept from batches
        self._live = live
        self._unsubscribe = (lambda: None) if live is not None else engine.subscribe(self._on_batch)

    def close(self) -> None:
        self._unsubscribe()

    def _latest_reading(self, key: str) -> Reading | None:
        return self._live.latest(key) if self._live is not None else self._latest.get(key)

    def _on_batch(self, batch: Any) -> None:  # engine thread
        for r in batch.readings:
            self._latest[r.series_key] = r

    def _audit(self, actor: str, action: str, target: str, before: Any, after: Any, result: str) -> None:
        """Write one audit row; a store that cannot take it must not change the caller's
        answer (a refusal stays a refusal), so it is logged loudly instead."""
        try:
            self._store.audit(actor, action, target, before, after, result)
        except Exception:
            log.exception("%s %s by %s (%s) NOT in the audit log", action, target, actor, result)

    # ------------------------------------------------------------ lock
    def state(self) -> ControlState:
        with self._lock:
            s = self._state
            expired = s.unlocked and s.until is not None and self._clock() >= s.until
            if expired:
                self._state = ControlState(False)
            state = self._state
        if expired:
            self._audit(s.actor or "?", "control_lock", "site", None, None, "expired")
        return state

    def unlock(self, actor: str, minutes: float = DEFAULT_UNLOCK_MINUTES, reason: str = "") -> ControlState:
        """Allow writes for ``minutes`` by a named person; a refused unlock is audited too."""
        m = as_number(minutes)
        problem = _name_problem(actor)
        if problem is None and (m is None or not math.isfinite(m) or not 0 < m <= MAX_UNLOCK_MINUTES):
            problem = f"unlock for 0 to {MAX_UNLOCK_MINUTES:g} minutes, not {shown(minutes)}"
        if problem is None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
            problem = f"the reason is text of at most {MAX_REASON} characters, not {shown(reason)}"
        if problem is not None:
            self._audit(_who(actor), "control_unlock", "site", None,
                        {"minutes": shown(minutes), "reason": shown(reason)}, f"refused: {problem}")
            raise ValueError(problem)
        assert m is not None
        name = actor.strip()
        with self._lock:
            self._state = ControlState(True, name, self._clock() + m * 60.0, reason)
            state = self._state
        self._audit(name, "control_unlock", "site", None, {"minutes": m, "reason": reason}, "ok")
        return state

    def lock(self, actor: str) -> None:
        with self._lock:
            was = self._state.unlocked
            self._state = ControlState(False)
        if was:
            self._audit(_who(actor), "control_lock", "site", None, None, "ok")

    # ------------------------------------------------------------ actions
    def perform(self, actor: str, device_id: str, action: Action) -> Future[ActionResult]:
        """Carry out one action of the vocabulary (protocols.base: SetPowerLimit, SetOutlet,
        SetSetpoint, SetValve, SetBypass, SetPump, UpsSelfTest) on a site device. Its fields
        may hold raw values from a user (text "84", Decimal, numpy scalars): they are converted
        here, checked, and the converted action is what the client receives."""
        name, target = _audit_names(action)
        dev = self._device(actor, name, device_id, target, _raw_requested(action))
        converted, problem = self._convert(dev, action)
        if converted is not None and problem is None:
            requested: Any = converted.requested
        else:
            requested = shown(_raw_requested(action))
        return self._perform(actor, dev, name, target, requested, converted,
                             self._before_key(dev, converted), problem)

    def _convert(self, dev: Device, action: Any) -> tuple[Action | None, str | None]:
        """``action`` with its values as the types the limit check and the client use, or why not."""
        if isinstance(action, SetPowerLimit):
            return self._power_limit(dev, action)
        if isinstance(action, SetOutlet):
            number = as_whole(action.outlet)
            if number is None or number < 1:
                return None, f"an outlet is a whole number >= 1, not {shown(action.outlet)}"
            if not (isinstance(action.state, str) and action.state in OUTLET_STATES):
                return None, (f"unknown outlet command {shown(action.state)} "
                              f"(one of {', '.join(OUTLET_STATES)})")
            return SetOutlet(number, action.state), None
        if isinstance(action, UpsSelfTest):
            return action, None
        if isinstance(action, SetSetpoint):
            return self._setpoint(dev, action)
        if isinstance(action, (SetValve, SetBypass)):
            what = f"the {action.target} position"
            percent, problem = _finite(action.percent, what)
            if percent is None:
                return None, problem
            r = range_of("valve_position")
            if r is not None and not r.low <= percent <= r.high:
                return None, f"{what}: {percent:g} % is outside the plausible {r.low:g}…{r.high:g} %"
            return type(action)(percent), None
        if isinstance(action, SetPump):
            words = {"on": True, "true": True, "off": False, "false": False}
            if isinstance(action.on, bool):
                return action, None
            if isinstance(action.on, str) and action.on in words:
                return SetPump(words[action.on]), None
            return None, f"the pump takes one of on, off (True, False), not {shown(action.on)}"
        return None, (f"{shown(action)} is not one of the actions "
                      f"({', '.join(a.__name__ for a in ACTIONS)})")

    def _power_limit(self, dev: Device, action: SetPowerLimit) -> tuple[Action | None, str | None]:
        """Cap a server (Redfish, no GPU) or one local GPU (NVML, its index)."""
        w, problem = _finite(action.watts, "a power limit")
        if w is not None:
            r = range_of("power_limit")
            if not 0 < w <= (r.high if r else math.inf):
                problem = f"a power limit must be > 0 W and at most {r.high if r else math.inf:g} W, not {w:g}"
        if action.gpu is None:
            if dev.protocol == "nvml":
                problem = problem or f"{dev.id}: name the GPU to cap (gpu=0, 1, ...)"
            return (SetPowerLimit(w), None) if problem is None and w is not None else (None, problem)
        index = as_whole(action.gpu)
        if dev.protocol != "nvml":
            problem = problem or f"{dev.id} is not a GPU host: a GPU index applies to NVML devices only"
        elif index is None or index < 0:
            problem = problem or f"a GPU index is a whole number >= 0, not {shown(action.gpu)}"
        if problem is not None or w is None:
            return None, problem
        return SetPowerLimit(w, index), None

    def _setpoint(self, dev: Device, action: SetSetpoint) -> tuple[Action | None, str | None]:
        """A float for a writable setpoint point, plausible and within the site's limits."""
        profile = self._profiles.get(dev.id, f"{dev.id} is not a Modbus heat controller with a profile")
        if isinstance(profile, str):
            return None, profile
        point = action.point
        p = profile.points.get(point) if isinstance(point, str) else None
        if p is None:
            return None, f"profile {profile.name} has no point {shown(point)}"
        if not p.writable or p.quantity != "setpoint":
            return None, f"point {point} of profile {profile.name} is not a writable setpoint"
        number, problem = _finite(action.value, f"point {point}")
        if number is None:
            return None, problem
        r = range_of(p.quantity, p.canonical_unit)
        if r is not None and not r.low <= number <= r.high:
            u = f" {r.unit}" if r.unit else ""
            return None, f"point {point}: {number:g}{u} is outside the plausible {r.low:g}…{r.high:g}{u}"
        problem = self._heat_limit_problem(point, number)
        return (None, problem) if problem else (SetSetpoint(point, number), None)

    def _heat_limit_problem(self, point: str, value: float) -> str | None:
        """The site's own limits bound setpoints below whatever the device would accept."""
        limits = self.site.limits
        if point == "supply_setpoint" and value > limits.max_loop_temp_c:
            return f"{value:g} °C is above the site's max loop temperature ({limits.max_loop_temp_c:g} °C)"
        if point == "tank_max_temp" and value > limits.max_tank_temp_c:
            return f"{value:g} °C is above the site's max tank temperature ({limits.max_tank_temp_c:g} °C)"
        return None

    def _before_key(self, dev: Device, action: Action | None) -> str | None:
        """The series (channel/quantity) whose latest value is the audit's "before"."""
        if isinstance(action, (SetPowerLimit, SetOutlet)):
            return f"{action.target}/{'power_limit' if isinstance(action, SetPowerLimit) else 'state'}"
        if isinstance(action, UpsSelfTest):
            return "self_test/state"
        profile = self._profiles.get(dev.id)
        if isinstance(profile, str) or profile is None:
            return None
        name = action.point if isinstance(action, SetSetpoint) else \
            profile.actions.get(action.target) if isinstance(action, (SetValve, SetBypass, SetPump)) else None
        p = profile.points.get(name) if name else None
        return f"{p.channel}/{p.quantity}" if p is not None and p.quantity else None

    # ------------------------------------------------------------ the one path
    def _device(self, actor: Any, action: str, device_id: Any, target: str, requested: Any) -> Device:
        """The site's device, or an audited refusal (an id from a command line can be wrong)."""
        try:
            return self.site.device(device_id)
        except (KeyError, TypeError):
            where = f"{device_id}/{target}" if isinstance(device_id, str) else f"{shown(device_id)}/{target}"
            why = f"no device {shown(device_id)} in the site"
            self._audit(_who(actor), action, where, None, {"requested": shown(requested)}, f"refused: {why}")
            raise ActionRefused(str(device_id), "?", f"{action} {target}: {why}") from None

    def _perform(self, actor: str, dev: Device, action: str, target: str, requested: Any,
                 converted: Action | None, before_key: str | None,
                 problem: str | None) -> Future[ActionResult]:
        device_id = dev.id
        where = f"{device_id}/{target}"
        before_r = self._latest_reading(f"{device_id}/{before_key}") if before_key else None
        before = None if before_r is None else {"value": before_r.value, "unit": before_r.unit, "ts": before_r.ts}
        problem = _name_problem(actor) or problem
        who = _who(actor)
        state = self.state()
        if not state.unlocked:
            self._audit(who, action, where, before, {"requested": requested}, "refused: control locked")
            raise ControlLocked(device_id, dev.address or "local",
                                f"{action} {target}: control is locked; unlock it first")
        if problem or converted is None:
            problem = problem or "not an action"
            self._audit(who, action, where, before, {"requested": requested}, f"refused: {problem}")
            raise ActionRefused(device_id, dev.address or "local", f"{action} {target}: {problem}")
        sending: Action = converted

        out: Future[ActionResult] = Future()

        def done(f: Future[ActionResult]) -> None:
            try:
                res = f.result()
            except Exception as e:  # refused by the client's bounds, unreachable, ...
                self._audit(who, action, where, before, {"requested": requested},
                            f"failed: {type(e).__name__}: {e}")
                out.set_exception(e)
                return
            result = "ok" if res.ok else f"mismatch: {res.message or 'read-back differs'}"
            self._audit(who, action, where, before, {"requested": res.requested, "readback": res.readback}, result)
            out.set_result(res)

        try:
            sent = self._engine.run_action(device_id, lambda source: source.perform(sending))
        except Exception as e:  # the engine is not running: an attempt like any other
            self._audit(who, action, where, before, {"requested": requested}, f"failed: {type(e).__name__}: {e}")
            raise
        sent.add_done_callback(done)
        return out
