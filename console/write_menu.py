"""Which writes the window can offer for each device of a site (Qt-free).

From the device's protocol and kind, its register map and what it reports now: a Redfish
server's chassis power limit, each local GPU's limit (NVML), each PDU outlet on / off / cycle,
a UPS self-test, and a heat controller's writable setpoints, valve, bypass and pump (those its
profile's ``[actions]`` name). Each option builds the action from the value the user picks;
the confirm dialog and Control decide whether it may be sent."""
from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from typing import Any

from console.live import LiveSite
from console.site import Site
from console.write_preview import profile_of
from protocols.base import (
    OUTLET_STATES,
    Action,
    SetBypass,
    SetOutlet,
    SetPowerLimit,
    SetPump,
    SetSetpoint,
    SetValve,
    UpsSelfTest,
)

_GPU = re.compile(r"gpu(\d+)")
_OUTLET = re.compile(r"outlet(\d+)")


@dataclasses.dataclass(frozen=True)
class WriteOption:
    label: str  # "chassis power limit", "outlet 2", "supply setpoint"
    value: str  # "number", "choice" or "none" (the action takes no value)
    make: Callable[[Any], Action]
    unit: str = ""
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 0.0
    default: Any = None  # the value now, when known


def _gpu_cap(gpu: int, watts: Any) -> Action:
    return SetPowerLimit(watts, gpu)


def _outlet(outlet: int, state: Any) -> Action:
    return SetOutlet(outlet, state)


def _setpoint(point: str, value: Any) -> Action:
    return SetSetpoint(point, value)


def _number(live: LiveSite, key: str) -> float | None:
    s = live.get(key)
    return float(s.value) if s is not None and isinstance(s.value, (int, float)) else None


def _indices(live: LiveSite, device_id: str, pattern: re.Pattern[str], quantity: str) -> list[int]:
    found = {int(m.group(1)) for s in live.series(device_id)
             if s.quantity == quantity and (m := pattern.fullmatch(s.channel))}
    return sorted(found)


def options_for(site: Site, live: LiveSite, device_id: str) -> list[WriteOption]:
    dev = site.device(device_id)
    out: list[WriteOption] = []
    if dev.protocol == "redfish":
        out.append(WriteOption("chassis power limit", "number", lambda w: SetPowerLimit(w), "W", low=1, high=100_000,
                               default=_number(live, f"{dev.id}/chassis/power_limit")))
    if dev.protocol == "nvml":
        for i in _indices(live, dev.id, _GPU, "power_limit") or [0]:
            lo = _number(live, f"{dev.id}/gpu{i}_limit_min/power_limit")
            hi = _number(live, f"{dev.id}/gpu{i}_limit_max/power_limit")
            out.append(WriteOption(f"GPU {i} power limit", "number", functools.partial(_gpu_cap, i), "W",
                                   low=lo or 1, high=hi or 100_000,
                                   default=_number(live, f"{dev.id}/gpu{i}/power_limit")))
    if dev.kind == "pdu":
        outlets = _indices(live, dev.id, _OUTLET, "state") or \
            sorted({o.outlet for o in site.power_path.outlets if o.pdu == dev.id})
        for n in outlets:
            fed = [o.device for o in site.power_path.outlets if o.pdu == dev.id and o.outlet == n]
            label = f"outlet {n}" + (f" ({', '.join(fed)})" if fed else "")
            now = live.get(f"{dev.id}/outlet{n}/state")
            out.append(WriteOption(label, "choice", functools.partial(_outlet, n), choices=OUTLET_STATES,
                                   default=now.value if now is not None else None))
    if dev.kind == "ups":
        out.append(WriteOption("UPS battery self-test", "none", lambda _: UpsSelfTest()))
    profile = profile_of(dev)
    if profile is not None:
        for name, p in profile.points.items():
            if p.writable and p.quantity == "setpoint":
                out.append(WriteOption(name.replace("_", " "), "number", functools.partial(_setpoint, name),
                                       "°C", low=p.min if p.min is not None else -50,
                                       high=p.max if p.max is not None else 150,
                                       default=_number(live, f"{dev.id}/{p.channel}/{p.quantity}")))

        def point_now(action: str) -> Any:
            point = profile.points.get(profile.actions.get(action, ""))
            s = live.get(f"{dev.id}/{point.channel}/{point.quantity}") if point and point.quantity else None
            return s.value if s is not None else None

        if "valve" in profile.actions:
            out.append(WriteOption("heat-recovery valve", "number", lambda v: SetValve(v), "%", low=0, high=100,
                                   default=point_now("valve")))
        if "bypass" in profile.actions:
            out.append(WriteOption("bypass (dump) valve", "number", lambda v: SetBypass(v), "%", low=0, high=100,
                                   default=point_now("bypass")))
        if "pump" in profile.actions:
            out.append(WriteOption("loop pump", "choice", lambda v: SetPump(v == "on"), choices=("on", "off"),
                                   default=point_now("pump")))
    return out


def writable_devices(site: Site, live: LiveSite) -> list[str]:
    """Ids of the site's devices the window can offer a write for."""
    return [d.id for d in site.devices if options_for(site, live, d.id)]


__all__ = ["WriteOption", "options_for", "writable_devices"]
