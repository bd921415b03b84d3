"""Alarms the equipment reports in its own readings (``<device>/<name>/alarm``), now (Qt-free).

The heat controller raises pump_fault, low_flow, ...; a UPS reports its alarm text. These are
readings, not events: they clear when the device clears them, nobody acknowledges them. The
Events page lists them beside the active events so a pump failure is on that page even before
any rule turns it into an event. A value the live model no longer vouches for (stale, device
unreachable) is listed as such, never as a current alarm."""
from __future__ import annotations

import dataclasses

from console.home import CLEAR_VALUES
from console.live import OK, LiveSite


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceAlarm:
    device_id: str
    name: str  # the channel: pump_fault, low_flow, ups
    text: str  # what the device says: active, InputBad, ...
    age: float  # seconds since the reading
    state: str  # the series state: ok, stale, unreachable, ...

    @property
    def current(self) -> bool:
        return self.state == OK

    def label(self) -> str:
        what = self.name.replace("_", " ")
        said = "" if self.text.strip().lower() in ("active", "on", "1", "true") else f": {self.text}"
        where = f"{self.device_id} {what}{said}"
        if self.current:
            return where
        return f"{where} ({self.state.replace('_', ' ')}, {self.age / 60:.0f} min ago)"


def reported_alarms(live: LiveSite) -> list[DeviceAlarm]:
    """Alarm series whose latest value is not a clear value; current ones first."""
    out = []
    for s in live.series():
        if s.quantity != "alarm" or s.value is None or str(s.value).strip().lower() in CLEAR_VALUES:
            continue
        out.append(DeviceAlarm(s.device_id, s.channel, str(s.value), s.age, s.state))
    return sorted(out, key=lambda a: (not a.current, a.device_id, a.name))


__all__ = ["DeviceAlarm", "reported_alarms"]
