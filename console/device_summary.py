"""One line per device for the devices tree: its state as of now, when it last answered and a
line of health, from the live model alone (Qt-free, so tests and reports can use it too).

The device's status is a snapshot taken after its last poll; a device whose poll hangs sends no
new snapshot, so "ok" is re-judged here against the wall clock with the one staleness rule
(``is_stale``): a device silent for three poll periods reads "stale", never "ok".
"""
from __future__ import annotations

import dataclasses
import time

from console.engine.coordinator import is_stale
from console.live import DeviceView, LiveSite, SeriesState


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceSummary:
    device_id: str
    name: str
    kind: str
    address: str
    state: str  # pending, ok, stale, unreachable, auth_failed, blocked, faulty
    last_success: float | None  # its last good poll in this run
    health: str
    last_data: float | None = None  # the newest value known, this run or (after a restart) the store's


def summarise_device(view: DeviceView, series: list[SeriesState], now: float) -> DeviceSummary:
    dev, st = view.device, view.status
    state = view.state
    if state == "ok" and st is not None and st.last_success is not None \
            and is_stale(now - st.last_success, dev.poll_interval):
        state = "stale"
    live = sum(1 for s in series if s.live)
    if st is None:
        health = ("waiting for the first poll" + (f" · {len(series)} values known from before, shown stale"
                                                  if series else ""))
    elif state == "ok":
        unmeasured = sum(1 for s in series if s.state == "no_value")  # the device says: not now
        old = len(series) - live - unmeasured
        health = f"{live} values live"
        health += f" · {unmeasured} not measured" if unmeasured else ""
        health += f" · {old} stale" if old else ""
        if st.implausible_series:
            n = len(st.implausible_series)
            health += f" · {n} implausible reading{'s' * (n != 1)} dropped"
    elif state == "stale":
        health = f"no answer for {_span(now - (st.last_success or now))} (polls every {dev.poll_interval:g} s)"
    else:
        why = _without_prefix(st.message or st.last_error or state.replace("_", " "), dev.id)
        if st.consecutive_failures > 1:
            why += f" · {st.consecutive_failures} failures in a row"
        health = why
    last_success = st.last_success if st is not None else None
    newest = max((s.ts for s in series), default=None)
    last_data = max(t for t in (last_success, newest) if t is not None) if (last_success or newest) else None
    return DeviceSummary(dev.id, dev.name, dev.kind, dev.address or "local", state, last_success,
                         " ".join(health.split()), last_data)


def _without_prefix(message: str, device_id: str) -> str:
    """"srv3 (10.0.0.3:443): no answer" -> "no answer": the row already names the device."""
    if message.startswith(f"{device_id} ("):
        head, sep, rest = message.partition("): ")
        if sep and rest:
            return rest
    return message


def summarise(live: LiveSite, now: float | None = None) -> list[DeviceSummary]:
    """Every device of the site, in site-file order."""
    now = time.time() if now is None else now
    by_dev: dict[str, list[SeriesState]] = {}
    for s in live.series():
        by_dev.setdefault(s.device_id, []).append(s)
    return [summarise_device(v, by_dev.get(v.device.id, []), now) for v in live.devices()]


def _span(seconds: float) -> str:
    s = max(0.0, seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


__all__ = ["DeviceSummary", "summarise", "summarise_device"]
