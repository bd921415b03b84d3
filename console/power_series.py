"""Which of a site's series the power graphs offer, and over which spans.

Qt-free so the picker's grouping, the default selection and the range arithmetic are tested
without a window. A series is "power" by quantity and unit (electrical ``power`` and
``thermal_power`` in W), so any site's devices appear, not only the demo's; each gets a role
(chassis, GPU, outlet, UPS output, thermal ...) that names it and orders it within its device.
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable

from console.site import Site

POWER_QUANTITIES = ("power", "thermal_power")
POWER_UNITS = ("W",)  # the plot has one axis, in W
MIN_PIXELS = 50  # a narrower plot still asks for enough buckets to show a shape
MAX_PIXELS = 10_000  # the history service refuses more (console.history.MAX_PIXELS)


@dataclasses.dataclass(frozen=True, slots=True)
class PowerSeries:
    key: str  # device/channel/quantity
    device_id: str
    channel: str
    quantity: str
    unit: str
    role: str  # chassis, gpu, psu, outlet, pdu, ups_output, ups, thermal, other
    label: str  # what the legend says: "srv1 chassis power"

    @property
    def thermal(self) -> bool:
        return self.quantity == "thermal_power"


@dataclasses.dataclass(frozen=True, slots=True)
class PowerGroup:
    """One device's power series, for the picker."""

    device_id: str
    title: str  # "srv1 — Compute node 1"
    series: tuple[PowerSeries, ...]


# role order within a device: the headline figure first
_ROLE_ORDER = {"chassis": 0, "ups_output": 0, "pdu": 0, "thermal": 0, "gpu": 1, "outlet": 1, "psu": 2,
               "ups": 3, "other": 4}


def _role(kind: str, channel: str, quantity: str) -> str:
    if quantity == "thermal_power":
        return "thermal"
    ch = channel.lower()
    if re.fullmatch(r"gpu\d+", ch):
        return "gpu"
    if kind == "server":
        if ch in ("chassis", "system", "total"):
            return "chassis"
        if ch.startswith("psu"):
            return "psu"
        return "other"
    if kind == "pdu":
        return "outlet" if ch.startswith("outlet") else "pdu"
    if kind == "ups":
        return "ups_output" if ch == "output" else "ups"
    return "other"


def _label(device_id: str, channel: str, role: str) -> str:
    ch = channel.replace("_", " ")
    if role == "gpu":
        ch = "GPU " + channel[3:]
    elif role == "outlet":
        m = re.fullmatch(r"outlet(\d+)", channel)
        ch = f"outlet {m.group(1)}" if m else ch
    elif role == "psu":
        m = re.fullmatch(r"psu(\d+)(_out)?", channel)
        ch = f"PSU {m.group(1)} {'output' if m.group(2) else 'input'}" if m else ch
    what = "thermal power" if role == "thermal" else "power"
    return f"{device_id} {ch} {what}"


def power_series(site: Site, states: Iterable[object]) -> list[PowerGroup]:
    """The power series among ``states`` (``LiveSite.series()`` items, or anything with key,
    device_id, channel, quantity and unit), grouped by device in the site file's order."""
    devices = {d.id: d for d in site.devices}
    by_dev: dict[str, list[PowerSeries]] = {}
    for s in states:
        quantity, unit = getattr(s, "quantity", ""), getattr(s, "unit", "")
        if quantity not in POWER_QUANTITIES or unit not in POWER_UNITS:
            continue
        dev_id, channel = getattr(s, "device_id", ""), getattr(s, "channel", "")
        dev = devices.get(dev_id)
        role = _role(dev.kind if dev else "", channel, quantity)
        by_dev.setdefault(dev_id, []).append(
            PowerSeries(getattr(s, "key", f"{dev_id}/{channel}/{quantity}"), dev_id, channel, quantity, unit,
                        role, _label(dev_id, channel, role)))
    order = {d.id: i for i, d in enumerate(site.devices)}
    groups = []
    for dev_id in sorted(by_dev, key=lambda d: (order.get(d, len(order)), d)):
        dev = devices.get(dev_id)
        title = f"{dev_id} — {dev.name}" if dev is not None and dev.name else dev_id
        items = sorted(by_dev[dev_id], key=lambda p: (_ROLE_ORDER.get(p.role, 9), _natural(p.channel)))
        groups.append(PowerGroup(dev_id, title, tuple(items)))
    return groups


def _natural(text: str) -> tuple[object, ...]:
    """outlet2 before outlet10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def default_selection(site: Site, groups: Iterable[PowerGroup]) -> list[str]:
    """What the power view shows first: every server's chassis power, the loop's thermal power
    and the UPS output, in that order."""
    every = [s for g in groups for s in g.series]
    chassis = [s.key for s in every if s.role == "chassis"]
    loop_dev = site.heat_path.loop
    thermal = [s.key for s in every if s.device_id == loop_dev and s.role == "thermal" and s.channel == "loop"]
    if not thermal:  # a site whose controller names its loop meter otherwise: its first thermal series
        thermal = [s.key for s in every if s.device_id == loop_dev and s.role == "thermal"][:1]
    ups = [s.key for s in every if s.role == "ups_output"]
    return chassis + thermal + ups


@dataclasses.dataclass(frozen=True, slots=True)
class RangePreset:
    name: str  # "1h"
    label: str  # what the button says
    seconds: float | None  # None: the whole season, since the first sample

    def window(self, now: float, first: float | None = None) -> tuple[float, float]:
        """[start, end) of the span ending ``now``; the season starts at ``first`` (the first
        sample), or SEASON_LOOKBACK before now while that is not known yet."""
        if self.seconds is not None:
            return now - self.seconds, now
        start = now - SEASON_LOOKBACK if first is None else min(first, now - 60.0)
        return start, now


HOUR = 3600.0
DAY = 24 * HOUR
SEASON_LOOKBACK = 366 * DAY  # how far back a season query looks for its first sample

RANGES: tuple[RangePreset, ...] = (
    RangePreset("15m", "15 min", 15 * 60.0),
    RangePreset("1h", "1 h", HOUR),
    RangePreset("6h", "6 h", 6 * HOUR),
    RangePreset("24h", "24 h", DAY),
    RangePreset("7d", "7 d", 7 * DAY),
    RangePreset("30d", "30 d", 30 * DAY),
    RangePreset("season", "season", None),
)
DEFAULT_RANGE = "6h"


def preset(name: str) -> RangePreset:
    for r in RANGES:
        if r.name == name:
            return r
    raise ValueError(f"unknown range {name!r}; one of {', '.join(r.name for r in RANGES)}")


def pixels_for(width_px: float) -> int:
    """How many buckets to ask the history service for a plot ``width_px`` wide: one per pixel,
    so each pixel column gets its own min..max (a one-sample spike survives)."""
    if not math.isfinite(width_px):
        return MIN_PIXELS
    return int(min(MAX_PIXELS, max(MIN_PIXELS, round(width_px))))


__all__ = ["DEFAULT_RANGE", "PowerGroup", "PowerSeries", "RANGES", "RangePreset", "default_selection",
           "pixels_for", "power_series", "preset"]
