"""The home user's summary of a site: is it up, is it safe, how warm, and what it saved.

Qt-free: computed from the live model and the site file (and, for the periods, energy totals the
history service read), so the words and the sums are tested without a window. Everything a
person reads here is plain language with units; a value that is not current says so and how
old it is, never shows as a confident number.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from console.live import OK, LiveSite, SeriesState
from console.site import Site, Tariffs

# tile and headline levels, calmest first
LEVEL_OK, LEVEL_ATTENTION, LEVEL_FAULT = "ok", "attention", "fault"
_RANK = {LEVEL_OK: 0, LEVEL_ATTENTION: 1, LEVEL_FAULT: 2}
RUNNING_W = 30.0  # a server drawing less than this is off or asleep, not computing
CLEAR_VALUES = frozenset({"clear", "ok", "none", "normal", "inactive", "off", "0", "false", ""})

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "CHF": "CHF ", "SEK": "kr ",
                    "NOK": "kr ", "DKK": "kr ", "CAD": "C$", "AUD": "A$", "NZD": "NZ$", "PLN": "zł "}
FUEL_WORDS = {  # what the displaced heating would have used, and the verb for not using it
    "gas": ("gas", "not burned"), "oil": ("heating oil", "not burned"), "lpg": ("LPG", "not burned"),
    "electric": ("electric heating", "not bought"), "heat_pump": ("heat-pump electricity", "not bought"),
    "district": ("district heat", "not bought"),
}
KIND_WORDS = {"heat_controller": "the heat controller", "heat_meter": "the heat meter", "ups": "the UPS",
              "pdu": "the power strip (PDU)", "gpu_host": "the GPU workstation"}

# One plain sentence per alarm the controller (or a device) raises, for the person at home.
ALARM_MESSAGES: dict[str, str] = {
    "pump_fault": "The heating pump has stopped — the servers are slowing down to stay safe. Call your installer.",
    "low_flow": "Water is barely moving through the heating pipes — the servers are slowing down to stay safe. "
                "Call your installer.",
    "overtemp": "The heating water is too hot — the servers are slowing down to protect it. "
                "Call your installer if it lasts.",
    "sensor_fault": "A tank temperature sensor seems stuck, so the tank reading may be wrong. Call your installer.",
    "valve_fault": "The radiator valve is not moving as it is told — rooms may not warm as expected. "
                   "Call your installer.",
    "on_battery": "The mains power is off — the servers are running on the backup battery{runtime}.",
    "battery_low": "The backup battery is nearly empty — the servers will switch off soon.",
    "outlet_off": "{name} has no power (its socket on the power strip is off) — less heat until it is back.",
    "tank_hot": "The tank is hotter than its limit ({value}) — call your installer if it lasts.",
    "loop_hot": "The heating water is hotter than its limit ({value}) — call your installer if it lasts.",
    "inlet_hot": "{name} is breathing air that is too warm ({value}) — check nothing blocks its vents.",
    "no_flow": "Water is not moving through the heating pipes ({value}) while the servers run. "
               "Call your installer.",
    "unreachable": "No news from {name} for {age} — check it is switched on and connected.",
    "all_silent": "No news from any device for {age} — check that the network and the servers are on.",
    "auth_failed": "heatrack cannot log in to {name} — ask your installer to check its password.",
    "blocked": "{name} showed a different security certificate — ask your installer before trusting it.",
    "faulty": "{name} is sending readings that make no sense — ask your installer to have a look.",
    "room_cold": "The room is {value}, below your comfort band ({band}).",
    "room_warm": "The room is {value}, above your comfort band ({band}).",
}
FAULT_KINDS = frozenset({"pump_fault", "low_flow", "overtemp", "on_battery", "battery_low", "tank_hot",
                         "loop_hot", "no_flow", "blocked"})
_PRIORITY = ["all_silent", "pump_fault", "no_flow", "low_flow", "overtemp", "loop_hot", "tank_hot", "battery_low",
             "on_battery", "blocked", "unreachable", "inlet_hot", "outlet_off", "valve_fault", "sensor_fault",
             "auth_failed", "faulty", "room_cold", "room_warm"]


@dataclasses.dataclass(frozen=True, slots=True)
class Tile:
    """One big number on the home screen."""

    name: str  # compute, heat, tank, room, today, season
    title: str
    value: str  # the number, formatted ("2.4", "—" when unknown)
    unit: str
    detail: str  # a second line in words
    level: str = LEVEL_OK  # ok, attention, fault
    stale: bool = False  # the value is not current (drawn greyed, with its age in detail)
    tooltip: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Concern:
    """Something the person should know, most urgent first."""

    kind: str
    level: str
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class PeriodEnergy:
    """Energy over a period, from the store: heat put to use and electricity the servers used."""

    label: str  # "today", "this season"
    start: float
    end: float
    heat_kwh: float | None  # None: not known (no history, or no heat measured)
    electricity_kwh: float | None
    covered_s: float = 0.0  # seconds of the period the heat data speaks for


@dataclasses.dataclass(frozen=True, slots=True)
class HomeSummary:
    level: str
    headline: str
    needs_you: str  # "" when nothing does
    concerns: tuple[Concern, ...]
    tiles: tuple[Tile, ...]
    reporting: int
    devices: int
    servers_running: int
    servers: int


# ------------------------------------------------------------------ formatting
def currency_symbol(code: str) -> str:
    """£ for GBP and so on; an unknown code is written out ("CZK 2.80")."""
    return CURRENCY_SYMBOLS.get(code.upper(), code.upper() + " ")


def money(amount: float, code: str) -> str:
    """An amount as a person writes it: £2.80, €140, CZK 2.80."""
    sym = currency_symbol(code)
    text = f"{amount:,.0f}" if abs(amount) >= 100 else f"{amount:,.2f}"
    return f"{sym}{text}"


def age_words(seconds: float) -> str:
    """12 s, 5 min, 3 h, 2 days: how long ago, rounded as a person would."""
    s = max(0.0, seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    if s < 48 * 3600:
        return f"{s / 3600:.0f} h"
    return f"{s / 86400:.0f} days"


def power_text(watts: float) -> tuple[str, str]:
    """(number, unit): 850 W, 2.4 kW."""
    if abs(watts) >= 1000:
        return f"{watts / 1000:.1f}", "kW"
    return f"{watts:.0f}", "W"


def kwh_text(kwh: float) -> str:
    return f"{kwh:,.0f}" if kwh >= 100 else f"{kwh:.1f}"


def _temp(v: float) -> str:
    return f"{v:.0f} °C"


def _band(site: Site) -> str:
    return f"{site.comfort.min_room_temp_c:g}–{site.comfort.max_room_temp_c:g} °C"


def device_words(site: Site, device_id: str) -> str:
    """How the home user knows a device: "the heat controller", "server Render node 1"."""
    try:
        dev = site.device(device_id)
    except KeyError:
        return device_id
    if dev.kind == "server":
        return f"server {dev.name or dev.id}"
    return KIND_WORDS.get(dev.kind, dev.name or dev.id)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------ savings
def displaced_cost(heat_kwh: float, tariffs: Tariffs) -> float:
    """What the heating this heat replaced would have cost: heat ÷ its efficiency × fuel price."""
    return heat_kwh / tariffs.displaced_efficiency * tariffs.fuel_price_per_kwh


def co2_avoided_kg(heat_kwh: float, tariffs: Tariffs) -> float:
    """CO2 the displaced heating would have emitted: heat ÷ its efficiency × fuel CO2 per kWh."""
    return heat_kwh / tariffs.displaced_efficiency * tariffs.co2_fuel_kg_per_kwh


def co2_words(heat_kwh: float, tariffs: Tariffs) -> str:
    """"6.8 kg of CO₂ avoided"."""
    kg = co2_avoided_kg(heat_kwh, tariffs)
    return f"{kg / 1000:.1f} t of CO₂ avoided" if kg >= 1000 else f"{kg:.1f} kg of CO₂ avoided"


def savings_words(heat_kwh: float, tariffs: Tariffs) -> str:
    """"about £2.80 of gas not burned"."""
    fuel, verb = FUEL_WORDS.get(tariffs.displaced_fuel, (tariffs.displaced_fuel, "not bought"))
    return f"about {money(displaced_cost(heat_kwh, tariffs), tariffs.currency)} of {fuel} {verb}"


# ------------------------------------------------------------------ periods
def site_zone(site: Site) -> dt.tzinfo:
    try:
        return ZoneInfo(site.site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def today_start(now: float, tz: dt.tzinfo) -> float:
    """Local midnight before ``now`` in the site's time zone."""
    local = dt.datetime.fromtimestamp(now, tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def season_start(now: float, tz: dt.tzinfo) -> float:
    """1 September of the current heating year (Sept..Aug), local midnight."""
    local = dt.datetime.fromtimestamp(now, tz)
    year = local.year if local.month >= 9 else local.year - 1
    return dt.datetime(year, 9, 1, tzinfo=tz).timestamp()


def energy_keys(site: Site, series: Iterable[SeriesState]) -> tuple[list[str], list[str], list[str]]:
    """(heat, dump, electricity) series keys: the loop's thermal power, the dumped heat, and each
    server's chassis power (a GPU host's GPUs), from the series the site has reported."""
    keys = list(series)
    heat = _thermal_keys(site, keys, dump=False)
    dump = _thermal_keys(site, keys, dump=True)
    elec = [s.key for s in keys if s.device_id in site.heat_path.servers and _is_compute_power(site, s)]
    return heat, dump, elec


def _loop_devices(site: Site) -> list[str]:
    hp = site.heat_path
    return [d for d in dict.fromkeys([hp.heat_meter, hp.loop]) if d]


def _thermal_keys(site: Site, series: list[SeriesState], *, dump: bool) -> list[str]:
    for dev in _loop_devices(site):
        found = [s.key for s in series if s.device_id == dev and s.quantity == "thermal_power"
                 and (s.channel == "dump") == dump]
        if found:
            return sorted(found, key=lambda k: (not k.split("/")[1].startswith("loop"), k))[:1]
    return []


_GPU = re.compile(r"^gpu\d+$")


def _is_compute_power(site: Site, s: SeriesState) -> bool:
    if s.quantity != "power":
        return False
    kind = site.device(s.device_id).kind if s.device_id in {d.id for d in site.devices} else ""
    if kind == "gpu_host":
        return bool(_GPU.match(s.channel))
    return s.channel == "chassis"


def _kwh(value: Any) -> float | None:
    """An energy total from the history service (an Integral with .kwh, or a number)."""
    if value is None or getattr(value, "has_data", True) is False:
        return None
    kwh = getattr(value, "kwh", value)
    try:
        out = float(kwh)
    except (TypeError, ValueError):
        return None
    return out if out == out and abs(out) != float("inf") else None


def period_energy(label: str, start: float, end: float, totals: Mapping[str, Any],
                  heat: list[str], dump: list[str], elec: list[str]) -> PeriodEnergy:
    """Heat put to use (loop minus dump, never below 0) and electricity, from per-key totals."""
    loop = [x for k in heat if (x := _kwh(totals.get(k))) is not None]
    dumped = sum(x for k in dump if (x := _kwh(totals.get(k))) is not None)
    used = [x for k in elec if (x := _kwh(totals.get(k))) is not None]
    covered = max((float(getattr(totals.get(k), "covered_s", end - start)) for k in heat if k in totals),
                  default=0.0)
    return PeriodEnergy(label, start, end,
                        max(0.0, sum(loop) - dumped) if loop else None,
                        sum(used) if used else None, covered)


# ------------------------------------------------------------------ the summary
def _value(s: SeriesState | None) -> float | None:
    if s is None or isinstance(s.value, str) or s.value is None:
        return None
    return float(s.value)


def _find(series: list[SeriesState], devices: list[str], channel: str, quantity: str) -> SeriesState | None:
    for dev in devices:
        for s in series:
            if s.device_id == dev and s.channel == channel and s.quantity == quantity:
                return s
    return None


def _any_channel(series: list[SeriesState], channel: str, quantity: str) -> SeriesState | None:
    return next((s for s in series if s.channel == channel and s.quantity == quantity), None)


def _stale_note(s: SeriesState) -> str:
    return f"last heard {age_words(s.age)} ago" if s.state != OK else ""


@dataclasses.dataclass
class _Snapshot:
    """The live model read once, and the concerns found in it so far."""

    site: Site
    series: list[SeriesState]
    views: list[Any]
    loopdevs: list[str]
    concerns: list[Concern] = dataclasses.field(default_factory=list)
    silent: set[str] = dataclasses.field(default_factory=set)  # devices not answering now

    def add(self, kind: str, **fmt: str) -> None:
        level = LEVEL_FAULT if kind in FAULT_KINDS else LEVEL_ATTENTION
        self.concerns.append(Concern(kind, level, ALARM_MESSAGES[kind].format(**fmt)))

    def find(self, devices: list[str], channel: str, quantity: str) -> SeriesState | None:
        return _find(self.series, devices, channel, quantity)

    def on_loop(self, channel: str, quantity: str) -> SeriesState | None:
        return self.find(self.loopdevs, channel, quantity) or _any_channel(self.series, channel, quantity)

    def tanks(self) -> list[SeriesState]:
        sensors = self.site.heat_path.tank.sensors or ["tank_top", "tank_mid", "tank_bottom"]
        return [t for name in sensors if (t := self.find(self.loopdevs, name, "temperature")) is not None]

    def compute(self) -> list[SeriesState]:
        return [s for s in self.series if s.device_id in self.site.heat_path.servers
                and _is_compute_power(self.site, s)]


def _live_value(s: SeriesState | None) -> float | None:
    """A number only when it is current."""
    return _value(s) if s is not None and s.live else None


def _device_concerns(snap: _Snapshot) -> None:
    """Devices not answering, or silent for longer than their stale period."""
    found: list[Concern] = []
    ages: list[float] = []
    for view in snap.views:
        dev_id, state = view.device.id, view.state
        mine = [s for s in snap.series if s.device_id == dev_id]
        age = min((s.age for s in mine), default=None)
        if state in ("auth_failed", "blocked", "faulty"):
            snap.add(state, name=device_words(snap.site, dev_id))
        elif state == "unreachable" or (mine and all(s.state != OK for s in mine) and state != "pending"):
            snap.add("unreachable", name=device_words(snap.site, dev_id), age=_since(age))
        else:
            continue
        snap.silent.add(dev_id)
        found.append(snap.concerns[-1])
        if age is not None:
            ages.append(age)
    if len(snap.silent) == len(snap.views) > 1:  # one line for all of them, not seven
        for c in found:
            snap.concerns.remove(c)
        snap.add("all_silent", age=_since(min(ages, default=None)))


def _since(age: float | None) -> str:
    return "a while" if age is None else ("under a minute" if age < 60 else age_words(age))


def _alarm_concerns(snap: _Snapshot) -> None:
    """The controller's own alarms (``<device>/<kind>/alarm`` not clear)."""
    for s in snap.series:
        if s.quantity != "alarm" or s.state != OK or str(s.value).strip().lower() in CLEAR_VALUES:
            continue
        if s.channel in ALARM_MESSAGES and "{" not in ALARM_MESSAGES[s.channel]:
            snap.add(s.channel)
        elif s.device_id in snap.loopdevs:  # a UPS's own alarm text is left out: its state says it
            snap.concerns.append(Concern(s.channel, LEVEL_ATTENTION,
                                         f"{_capital(device_words(snap.site, s.device_id))} reports a problem "
                                         f"({s.channel.replace('_', ' ')}). Call your installer."))


# events the live state already says (a device's own state, implausible data, a demo fault injected)
COVERED_EVENT_KINDS = ("device_", "faulty_data", "fault_injected")


def _event_concerns(snap: _Snapshot, events: list[Any]) -> None:
    """Unacknowledged alarms of kinds the live state does not already tell (a rule's alarm)."""
    seen: set[tuple[str, str]] = set()
    for e in events:
        if e.severity not in ("alarm", "critical") or e.kind.startswith(COVERED_EVENT_KINDS):
            continue
        if (e.device_id, e.kind) in seen:
            continue
        seen.add((e.device_id, e.kind))
        text = " ".join(str(e.message).split())[:160].rstrip(".")
        who = _capital(device_words(snap.site, e.device_id)) if e.device_id else "heatrack"
        snap.concerns.append(Concern(e.kind, LEVEL_FAULT if e.severity == "critical" else LEVEL_ATTENTION,
                                     f"{who} raised an alarm: {text}. "
                                     "Call your installer if you are unsure."))


def _power_concerns(snap: _Snapshot) -> None:
    """A UPS on battery, a server's outlet off."""
    for view in snap.views:
        if view.device.kind != "ups":
            continue
        ups = [view.device.id]
        st = snap.find(ups, "ups", "state")
        if st is not None and st.live and str(st.value) == "on_battery":
            rt = _value(snap.find(ups, "battery", "runtime"))
            snap.add("on_battery", runtime=f" ({age_words(rt)} left)" if rt is not None else "")
            charge = _value(snap.find(ups, "battery", "charge"))
            if charge is not None and charge < 20:
                snap.add("battery_low")
    for o in snap.site.power_path.outlets:
        st = snap.find([o.pdu], f"outlet{o.outlet}", "state")
        if st is not None and st.live and str(st.value) == "off" and o.device in snap.site.heat_path.servers:
            snap.add("outlet_off", name=_capital(device_words(snap.site, o.device)))


def _limit_concerns(snap: _Snapshot, running: list[str]) -> None:
    """The site's limits (loop, tank, server inlets, flow) and the comfort band."""
    lim, site = snap.site.limits, snap.site
    if (x := _live_value(snap.find(snap.loopdevs, "supply", "temperature"))) is not None and x > lim.max_loop_temp_c:
        snap.add("loop_hot", value=f"{_temp(x)}, limit {_temp(lim.max_loop_temp_c)}")
    hottest = max((x for t in snap.tanks() if (x := _live_value(t)) is not None), default=None)
    if hottest is not None and hottest > lim.max_tank_temp_c:
        snap.add("tank_hot", value=f"{_temp(hottest)}, limit {_temp(lim.max_tank_temp_c)}")
    for srv in site.heat_path.servers:
        if (x := _live_value(snap.find([srv], "inlet", "temperature"))) is not None and x > lim.max_inlet_temp_c:
            snap.add("inlet_hot", name=_capital(device_words(site, srv)),
                     value=f"{_temp(x)}, limit {_temp(lim.max_inlet_temp_c)}")
    flow = _live_value(snap.find(snap.loopdevs, "loop", "flow"))
    if flow is not None and flow < lim.min_flow_lpm and running \
            and not any(c.kind in ("pump_fault", "low_flow") for c in snap.concerns):
        snap.add("no_flow", value=f"{flow:.1f} L/min, at least {lim.min_flow_lpm:g} needed")
    room = _live_value(snap.on_loop("room", "temperature"))
    if room is not None and room < site.comfort.min_room_temp_c:
        snap.add("room_cold", value=_temp(room), band=_band(site))
    elif room is not None and room > site.comfort.max_room_temp_c:
        snap.add("room_warm", value=_temp(room), band=_band(site))


def summarize(site: Site, live: LiveSite, periods: Iterable[PeriodEnergy] = ()) -> HomeSummary:
    """Everything the home screen shows, from the live model (and period totals if known)."""
    loopdevs = _loop_devices(site) + [d.id for d in site.devices if d.kind in ("heat_controller", "heat_meter")]
    snap = _Snapshot(site, live.series(), live.devices(), list(dict.fromkeys(loopdevs)))
    live_compute = [s for s in snap.compute() if _live_value(s) is not None]
    running = sorted({s.device_id for s in live_compute if (_value(s) or 0.0) >= RUNNING_W})
    _device_concerns(snap)
    _alarm_concerns(snap)
    _event_concerns(snap, live.active_events())
    _power_concerns(snap)
    _limit_concerns(snap, running)
    concerns = sorted(snap.concerns, key=lambda c: (-_RANK[c.level],
                                                    _PRIORITY.index(c.kind) if c.kind in _PRIORITY else 99))
    level = max((c.level for c in concerns), key=_RANK.__getitem__, default=LEVEL_OK)
    kinds = {c.kind for c in concerns}
    compute_w = sum(_value(s) or 0.0 for s in live_compute) if live_compute else None
    heat_keys = _thermal_keys(site, snap.series, dump=False)
    heat = next((s for s in snap.series if s.key in heat_keys), None)
    tanks = snap.tanks()
    tiles = (_compute_tile(snap, live_compute, running), _heat_tile(snap, heat, kinds), _tank_tile(snap, tanks, kinds),
             _room_tile(snap), *_period_tiles(site, periods))
    headline = _headline(level, compute_w, running, tanks[0] if tanks else None, _value(heat))
    if "all_silent" in kinds:
        headline = "No news from the site"
    reporting = sum(1 for v in snap.views if v.state == "ok" and v.device.id not in snap.silent)
    return HomeSummary(level, headline, concerns[0].text if concerns else "", tuple(concerns), tiles,
                       reporting, len(site.devices), len(running), len(site.heat_path.servers))


def _compute_tile(snap: _Snapshot, live_compute: list[SeriesState], running: list[str]) -> Tile:
    n = len(snap.site.heat_path.servers)
    tip = "Electrical power the servers draw now (sum of their chassis power), W or kW"
    if not snap.compute():
        return Tile("compute", "Computing", "—", "W", "no server has reported yet", tooltip=tip)
    if not live_compute:
        last = [s for s in snap.compute() if _value(s) is not None]
        num, unit = power_text(sum(_value(s) or 0.0 for s in last)) if last else ("—", "W")
        detail = f"last heard {age_words(min(s.age for s in last))} ago" if last else "no server is reporting now"
        return Tile("compute", "Computing", num, unit, detail, LEVEL_OK, True, tip)
    num, unit = power_text(sum(_value(s) or 0.0 for s in live_compute))
    reporting = len({s.device_id for s in live_compute})
    detail = f"{len(running)} of {n} servers running"
    if reporting < n:
        detail += f" · {n - reporting} not reporting"
    return Tile("compute", "Computing", num, unit, detail, LEVEL_ATTENTION if reporting < n else LEVEL_OK,
                tooltip=tip)


def _heat_tile(snap: _Snapshot, heat: SeriesState | None, kinds: set[str]) -> Tile:
    tip = "Heat the servers put into the water loop now (heat meter), W or kW"
    heat_v = _value(heat)
    if heat is None or heat_v is None:
        return Tile("heat", "Heat now", "—", "W", "no heat meter reading yet", tooltip=tip)
    num, unit = power_text(heat_v)
    fv = _live_value(snap.find(snap.loopdevs, "loop", "flow"))
    detail = _stale_note(heat) or ("into the water" if fv is None else
                                   f"water not flowing ({fv:.1f} L/min)" if fv < snap.site.limits.min_flow_lpm else
                                   f"into the water, {fv:.1f} L/min")
    level = LEVEL_FAULT if kinds & {"pump_fault", "low_flow", "no_flow"} else LEVEL_OK
    return Tile("heat", "Heat now", num, unit, detail, level, stale=not heat.live, tooltip=tip)


def _tank_tile(snap: _Snapshot, tanks: list[SeriesState], kinds: set[str]) -> Tile:
    tank, lim = snap.site.heat_path.tank, snap.site.limits
    top = tanks[0] if tanks else None
    x = _value(top)
    if top is None or x is None:
        return Tile("tank", "Tank", "—", "°C", "no tank reading yet", tooltip="Tank temperature")
    rest = " · ".join(f"{t.channel.replace('tank_', '')} {v:.0f} °C" for t in tanks[1:] if (v := _value(t)) is not None)
    detail = _stale_note(top) or rest or tank.name
    level = LEVEL_FAULT if "tank_hot" in kinds else LEVEL_ATTENTION if "sensor_fault" in kinds else LEVEL_OK
    return Tile("tank", f"Tank ({tank.volume_l:g} L)", f"{x:.0f}", "°C", detail, level, stale=not top.live,
                tooltip=f"Temperature at the top of the {tank.name} (limit {_temp(lim.max_tank_temp_c)}); "
                        "middle and bottom below it")


def _room_tile(snap: _Snapshot) -> Tile:
    site = snap.site
    tip = f"Room temperature; your comfort band is {_band(site)}"
    room = snap.on_loop("room", "temperature")
    x = _value(room)
    if room is None or x is None:
        return Tile("room", "Room", "—", "°C", "no room reading yet", tooltip=tip)
    cold, warm = x < site.comfort.min_room_temp_c, x > site.comfort.max_room_temp_c
    words = "a bit cool" if cold else "warm" if warm else "comfortable"
    out_v = _value(snap.on_loop("outdoor", "temperature"))
    detail = _stale_note(room) or words + (f" · outside {out_v:.0f} °C" if out_v is not None else "")
    level = LEVEL_ATTENTION if (cold or warm) and room.live else LEVEL_OK
    return Tile("room", "Room", f"{x:.1f}", "°C", detail, level, stale=not room.live, tooltip=tip)


def _period_tiles(site: Site, periods: Iterable[PeriodEnergy]) -> list[Tile]:
    got = {p.label: p for p in periods}
    tiles = []
    for name, label, title in (("today", "today", "Today"), ("season", "this season", "This season")):
        p = got.get(label)
        tip = (f"Heat put to use {label} (from the site database) and what the heating it replaced would "
               f"have cost: heat ÷ {site.tariffs.displaced_efficiency:g} efficiency × "
               f"{money(site.tariffs.fuel_price_per_kwh, site.tariffs.currency)}/kWh "
               f"{FUEL_WORDS.get(site.tariffs.displaced_fuel, ('fuel', ''))[0]}")
        if p is None or p.heat_kwh is None:
            tiles.append(Tile(name, title, "—", "kWh", "not counted yet" if p is None else "no heat recorded",
                              tooltip=tip))
            continue
        detail = savings_words(p.heat_kwh, site.tariffs)
        if name == "season":
            since = dt.datetime.fromtimestamp(p.start, site_zone(site))
            detail = (f"since {since.day} {since:%b} · " if p.covered_s >= 0.9 * (p.end - p.start) else
                      f"{age_words(p.covered_s)} recorded since {since.day} {since:%b} · ") + detail
        detail += " · " + co2_words(p.heat_kwh, site.tariffs)
        tiles.append(Tile(name, title, kwh_text(p.heat_kwh), "kWh of heat", detail, tooltip=tip))
    return tiles


def _headline(level: str, compute_w: float | None, running: list[str], tank: SeriesState | None,
              heat_w: float | None) -> str:
    first = {LEVEL_OK: "Running normally", LEVEL_ATTENTION: "Running, with something to check",
             LEVEL_FAULT: "Needs attention"}[level]
    parts = [first]
    if compute_w is None:
        parts = ["Waiting for the servers to report"] if level == LEVEL_OK else [first, "servers not reporting"]
    elif not running:
        parts.append("the servers are idle")
    else:
        num, unit = power_text(compute_w)
        if heat_w is not None and heat_w < 0.05 * compute_w:
            parts.append(f"{num} {unit} of compute, but no heat reaching the water")
        else:
            parts.append(f"{num} {unit} of compute warming the tank")
    tv = _value(tank)
    if tank is not None and tv is not None and tank.live:
        parts.append(f"tank {tv:.0f} °C")
    return " · ".join(parts)


def reckoning_words(tariffs: Tariffs) -> str:
    """How the money was reckoned, in one sentence a person can check against a bill."""
    fuel = FUEL_WORDS.get(tariffs.displaced_fuel, (tariffs.displaced_fuel, ""))[0]
    what = "seasonal performance" if tariffs.displaced_fuel == "heat_pump" else "efficiency"
    return (f"Savings are the heat put to use ÷ {tariffs.displaced_efficiency:g} ({what} of the heating it "
            f"replaces) × {money(tariffs.fuel_price_per_kwh, tariffs.currency)} per kWh of {fuel}; CO₂ at "
            f"{tariffs.co2_fuel_kg_per_kwh:g} kg per kWh of {fuel}, from the site's tariffs.")


def period_line(p: PeriodEnergy, tariffs: Tariffs) -> str:
    """"Today: 31 kWh of heat, about £2.80 of gas not burned"."""
    if p.heat_kwh is None:
        return f"{_capital(p.label)}: no heat recorded yet"
    return f"{_capital(p.label)}: {kwh_text(p.heat_kwh)} kWh of heat, {savings_words(p.heat_kwh, tariffs)}"


__all__ = ["ALARM_MESSAGES", "Concern", "HomeSummary", "PeriodEnergy", "Tile", "age_words", "co2_avoided_kg",
           "currency_symbol", "displaced_cost", "energy_keys", "money", "period_energy", "period_line",
           "savings_words", "season_start", "site_zone", "summarize", "today_start"]
