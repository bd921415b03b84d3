"""What a write will change, in words, before anyone confirms it (Qt-free).

For one action of the vocabulary on one site device: the target (device and channel), the
value it has now (from the live model, with its age and state: a stale value is said to be
stale), the value asked for with its unit, and the bounds that apply (the site's limits, the
device's register-map bounds, the plausible range). It decides nothing: Control checks the
same bounds again when the write is performed, and refuses (audited) what breaks them.

Register maps are read once per profile and kept (``functools.cache``); the control panel
reads them on a background thread when the window opens (``warm_profiles``), so a confirm
dialog does not read a file on the GUI thread."""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

from console.live import LiveSite, SeriesState
from console.site import Device, Site
from protocols.base import (
    Action,
    SetBypass,
    SetOutlet,
    SetPowerLimit,
    SetPump,
    SetSetpoint,
    SetValve,
    UpsSelfTest,
)
from protocols.modbus.profile import Profile, ProfileError, load_profile
from protocols.plausibility import range_of


@dataclasses.dataclass(frozen=True, slots=True)
class WritePreview:
    device_id: str
    device: str  # "srv1 — Server 1"
    what: str  # "chassis power limit", "outlet 2", "supply setpoint", "loop pump", ...
    current: str  # "640 W (12 s ago)", "stale: 640 W (6 min ago)", "not known (no reading yet)"
    current_key: str | None  # the series shown as current
    requested: str  # "500 W", "off", "start"
    unit: str  # of the requested value and its read-back
    bounds: tuple[str, ...]
    summary: str  # one line: "srv1 chassis power limit: 640 W → 500 W"


@functools.cache
def _profile(name: str) -> Profile | str:
    try:
        return load_profile(name)
    except ProfileError as e:
        return str(e)


def warm_profiles(site: Site) -> None:
    """Read the register maps of the site's Modbus devices now (call it off the GUI thread), so
    the first confirm dialog does not read a file."""
    for dev in site.devices:
        profile_of(dev)


def profile_of(dev: Device) -> Profile | None:
    if dev.protocol != "modbus" or not dev.profile:
        return None
    p = _profile(dev.profile)
    return p if isinstance(p, Profile) else None


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def _with_unit(v: Any, unit: str) -> str:
    return f"{_num(v)} {unit}".strip() if unit else _num(v)


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def current_text(s: SeriesState | None) -> str:
    if s is None:
        return "not known (no reading yet)"
    if s.value is None:
        return ("none reported (the device gives no value now)" if s.state == "no_value"
                else f"not known ({s.state.replace('_', ' ')})")
    shown = _with_unit(s.value, s.unit)
    if s.live:
        return f"{shown} ({_age(s.age)})"
    return f"{s.state.replace('_', ' ')}: {shown} ({_age(s.age)}; may have changed since)"


def _target(dev: Device, action: Action, profile: Profile | None) -> tuple[str, str | None, str]:
    """(what, series key of the current value, unit of the requested value)."""
    if isinstance(action, SetPowerLimit):
        where = "chassis" if action.gpu is None else f"GPU {action.gpu}"
        return f"{where} power limit", f"{dev.id}/{action.target}/power_limit", "W"
    if isinstance(action, SetOutlet):
        return f"outlet {action.outlet}", f"{dev.id}/outlet{action.outlet}/state", ""
    if isinstance(action, UpsSelfTest):
        return "UPS battery self-test", f"{dev.id}/self_test/state", ""
    if isinstance(action, SetSetpoint):
        p = profile.points.get(action.point) if profile is not None and isinstance(action.point, str) else None
        key = f"{dev.id}/{p.channel}/{p.quantity}" if p is not None and p.quantity else None
        return f"{str(action.point).replace('_', ' ')}", key, "°C"
    if isinstance(action, (SetValve, SetBypass, SetPump)):
        name = profile.actions.get(action.target) if profile is not None else None
        p = profile.points.get(name) if profile is not None and name else None
        key = f"{dev.id}/{p.channel}/{p.quantity}" if p is not None and p.quantity else None
        what = {"valve": "heat-recovery valve", "bypass": "bypass (dump) valve", "pump": "loop pump"}[action.target]
        return what, key, "" if isinstance(action, SetPump) else "%"
    return action.describe(), None, ""


def _gpu_range(live: LiveSite, dev: Device, gpu: int) -> str | None:
    """The GPU's own limit range as NVML reports it (``gpuN_limit_min`` / ``_max``), if known."""
    lo = live.get(f"{dev.id}/gpu{gpu}_limit_min/power_limit")
    hi = live.get(f"{dev.id}/gpu{gpu}_limit_max/power_limit")
    if lo is None or hi is None or lo.value is None or hi.value is None:
        return None
    return f"device (NVML): {_num(lo.value)} … {_num(hi.value)} W"


def _bounds(site: Site, live: LiveSite, dev: Device, action: Action, profile: Profile | None) -> list[str]:
    out: list[str] = []
    limits = site.limits
    if isinstance(action, SetPowerLimit):
        r = range_of("power_limit")
        gpu = _gpu_range(live, dev, action.gpu) if isinstance(action.gpu, int) else None
        if gpu is not None:
            out.append(gpu)
        out.append(f"more than 0 W and at most {_num(r.high if r else 1e6)} W (plausible)")
        if gpu is None:
            out.append("the device's own allowed range, checked when it is sent")
    elif isinstance(action, SetSetpoint):
        p = profile.points.get(action.point) if profile is not None and isinstance(action.point, str) else None
        if action.point == "supply_setpoint":
            out.append(f"site: max loop temperature {_num(limits.max_loop_temp_c)} °C")
        if action.point == "tank_max_temp":
            out.append(f"site: max tank temperature {_num(limits.max_tank_temp_c)} °C")
        if p is not None and (p.min is not None or p.max is not None):
            lo = "" if p.min is None else _num(p.min)
            hi = "" if p.max is None else _num(p.max)
            out.append(f"device ({profile.name if profile else '?'}): {lo} … {hi} °C")
        elif profile is None:
            out.append("no register map known for this device: the write will be refused")
    elif isinstance(action, (SetValve, SetBypass)):
        out.append("0 … 100 % of the valve's travel")
        if action.target == "bypass":
            out.append("100 % sends all heat to the dump (dry cooler), none to the tank")
    elif isinstance(action, SetPump):
        if not action.on:
            out.append(f"with the pump off the loop does not flow (site minimum {_num(limits.min_flow_lpm)} L/min): "
                       "the servers' coolant heats up")
    elif isinstance(action, SetOutlet):
        if action.state in ("off", "cycle"):
            fed = [f"{o.device} ({o.psu})" for o in site.power_path.outlets
                   if o.pdu == dev.id and o.outlet == action.outlet]
            what = " and ".join(fed) if fed else "whatever this outlet feeds (not in the site's power path)"
            out.append(f"{what} loses power" + (" briefly" if action.state == "cycle" else ""))
    elif isinstance(action, UpsSelfTest):
        out.append("the UPS runs from its battery for the test (seconds)")
    return out


def requested_text(action: Action, unit: str) -> str:
    if isinstance(action, SetOutlet):
        return {"on": "on", "off": "off", "cycle": "cycle (off, then on again)"}.get(str(action.state),
                                                                                     str(action.state))
    return _with_unit(action.requested, unit)


def preview(site: Site, live: LiveSite, device_id: str, action: Action) -> WritePreview:
    """The preview of ``action`` on ``device_id``; KeyError for a device the site lacks."""
    dev = site.device(device_id)
    profile = profile_of(dev)
    what, key, unit = _target(dev, action, profile)
    state = live.get(key) if key is not None else None
    current = current_text(state)
    requested = requested_text(action, unit)
    name = f"{dev.id} — {dev.name}" if dev.name else dev.id
    now = _with_unit(state.value, state.unit) if state is not None and state.value is not None else "?"
    summary = f"{dev.id} {what}: {now} → {requested}"
    bounds = tuple(_bounds(site, live, dev, action, profile))
    return WritePreview(dev.id, name, what, current, key, requested, unit, bounds, summary)


def readback_text(result: Any, unit: str = "") -> str:
    """One line for an ActionResult: what was read back and whether it matches."""
    got = _with_unit(result.readback, unit) if result.readback is not None else "nothing"
    if result.ok:
        return f"Done: read back {got} (asked {_with_unit(result.requested, unit)})."
    why = f": {result.message}" if result.message else ""
    return f"Sent, but the read-back differs{why} — read back {got}, asked {_with_unit(result.requested, unit)}."


__all__ = ["WritePreview", "current_text", "preview", "profile_of", "readback_text", "requested_text",
           "warm_profiles"]
