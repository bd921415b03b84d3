"""The heat path as a plant: what the thermal schematic draws and which series feed each part.

``build_plant(site)`` turns any site's ``[heat_path]`` and devices into elements (servers,
loop readings, pump, bypass valve, dry cooler, exchanger, tank layers, mixing valve, consumers)
and pipes, each bound to candidate series keys by channel/quantity convention (never by demo
device ids). ``plant_state(plant, series, devices)`` turns the live model's current
``SeriesState``s into what each element should show: value text with units, ``ok`` / ``stale``
/ ``unreachable`` / ``abnormal`` / ``none`` (no sensor) and the reason, pipe temperatures and
flows. Qt-free, so it is tested without a window and the widget only paints.
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping

from console.live import OK as LIVE_OK
from console.live import STALE as LIVE_STALE
from console.live import SeriesState
from console.site import Site, channel_slug

# element / pipe display states
OK = "ok"
STALE = "stale"
UNREACHABLE = "unreachable"
ABNORMAL = "abnormal"
NONE = "none"  # no sensor bound on this site: shown quietly
FAILED = frozenset({"unreachable", "auth_failed", "blocked", "faulty"})  # the device is not answering
ACTIVE_ALARM = frozenset({"active", "on", "true", "1", "alarm"})
SERVER_RUNNING_W = 50.0  # IT power above which a server makes heat the pump must carry away
GPU_CHANNEL = re.compile(r"^gpu\d+$")
MAX_LINES = 4  # value lines an element shows (the widget makes this many text items, once)


@dataclasses.dataclass(frozen=True, slots=True)
class Binding:
    """One value an element shows: the first of ``keys`` the live model knows."""

    role: str
    label: str  # written before the value ("room", "top", ...), "" for none
    keys: tuple[str, ...]

    def pick(self, series: Mapping[str, SeriesState]) -> SeriesState | None:
        return next((series[k] for k in self.keys if k in series), None)


@dataclasses.dataclass(frozen=True, slots=True)
class Element:
    id: str  # "server:srv1", "pump", "tank_layer:0", "consumer:1" ... (the layout keys on these)
    kind: str  # server, gpu_host, reading, pump, valve, bypass_valve, dry_cooler, exchanger, tank, tank_layer, consumer
    title: str
    device_id: str | None  # what a click opens; None for parts no device measures
    description: str  # what it is, for the tooltip
    bindings: tuple[Binding, ...] = ()
    variant: str = ""  # consumer kind, bypass kind

    def keys(self) -> list[str]:
        return [k for b in self.bindings for k in b.keys[:1]]


@dataclasses.dataclass(frozen=True, slots=True)
class Pipe:
    id: str  # "hot", "cold", "server_hot:srv1", "bypass", "feed:0" ...
    description: str
    temp: tuple[str, ...] = ()  # candidate temperature keys colouring it; () = not measured
    flow: tuple[str, ...] = ()  # candidate flow keys (L/min) animating it; () = not animated
    flow_share: tuple[str, ...] = ()  # a valve position (%) that scales the flow (the bypass branch)
    flow_divisor: int = 1  # the loop flow split over this many parallel branches


@dataclasses.dataclass(frozen=True, slots=True)
class Plant:
    elements: tuple[Element, ...]
    pipes: tuple[Pipe, ...]
    servers: tuple[str, ...]
    tank_layers: int
    consumers: int
    has_valve: bool
    loop_flow: tuple[str, ...]
    max_loop_c: float
    max_tank_c: float
    max_inlet_c: float
    min_flow_lpm: float

    def element(self, element_id: str) -> Element:
        return next(e for e in self.elements if e.id == element_id)


@dataclasses.dataclass(frozen=True, slots=True)
class ElementState:
    lines: tuple[str, ...]
    state: str  # ok, stale, unreachable, abnormal, none
    reason: str  # "PUMP TRIPPED" (several abnormal reasons: one a line), "stale · 3 min old", "no sensor"
    temp: float | None = None  # a fill colour's temperature (tank layers), None when not live


@dataclasses.dataclass(frozen=True, slots=True)
class PipeState:
    temp: float | None  # last known temperature (None: not measured)
    state: str  # ok, stale, unreachable, none
    flow: float  # L/min that animates it; 0 when not flowing or not known now


@dataclasses.dataclass(frozen=True, slots=True)
class PlantState:
    elements: dict[str, ElementState]
    pipes: dict[str, PipeState]


# ---------------------------------------------------------------- building
def _layer_label(sensor: str) -> str:
    channel = sensor.split("/")[1] if "/" in sensor else sensor
    return channel.removeprefix("tank_").replace("_", " ") or channel


CONSUMER_WORDS = {"space_heating": "space heating", "hot_water": "hot water", "pool": "pool",
                  "process": "workshop / process heat", "other": "heat consumer"}
BYPASS_WORDS = {"dry_cooler": "dry cooler", "bypass": "bypass", "dump": "heat dump"}


def build_plant(site: Site) -> Plant:
    """The elements and pipes of ``site``'s heat path, bound to the series its devices report
    by convention (channel/quantity), so any site file draws."""
    hp = site.heat_path
    loop = hp.loop
    meter = hp.heat_meter or loop
    ids = {d.id: d for d in site.devices}
    loop_dev = ids.get(loop)
    controller = loop_dev is not None and loop_dev.kind == "heat_controller"

    def both(channel: str, quantity: str) -> tuple[str, ...]:
        keys = [f"{meter}/{channel}/{quantity}", f"{loop}/{channel}/{quantity}"]
        return tuple(dict.fromkeys(keys))

    supply_t, return_t = both("supply", "temperature"), both("return", "temperature")
    loop_flow, loop_power = both("loop", "flow"), both("loop", "thermal_power")
    elements: list[Element] = []
    pipes: list[Pipe] = []
    for sid in hp.servers:
        dev = ids.get(sid)
        name = dev.name if dev is not None and dev.name else ""
        gpu_host = dev is not None and dev.kind == "gpu_host"
        elements.append(Element(
            f"server:{sid}", "gpu_host" if gpu_host else "server", f"{sid} · {name}" if name else sid, sid,
            ("GPU host" if gpu_host else "server") + " cooled by the water loop",
            (Binding("coolant_in", "in", (f"{sid}/supply/temperature",)),
             Binding("coolant_out", "out", (f"{sid}/return/temperature",)),
             Binding("flow", "", (f"{sid}/supply/flow",)),
             Binding("heat", "heat", (f"{sid}/coolant/thermal_power",)),
             Binding("it_power", "IT", (f"{sid}/chassis/power",)),
             Binding("inlet", "inlet", (f"{sid}/inlet/temperature",)))))
        pipes.append(Pipe(f"server_hot:{sid}", f"{sid} coolant out (hot)", (f"{sid}/return/temperature",),
                          (f"{sid}/supply/flow",) + loop_flow, flow_divisor=len(hp.servers)))
        pipes.append(Pipe(f"server_cold:{sid}", f"{sid} coolant in (cold)", (f"{sid}/supply/temperature",),
                          (f"{sid}/supply/flow",) + loop_flow, flow_divisor=len(hp.servers)))
    pipes.append(Pipe("hot_manifold", "servers' coolant out, collected (hot)", supply_t, loop_flow))
    pipes.append(Pipe("cold_manifold", "coolant to the servers, shared (cold)", return_t, loop_flow))
    elements += [
        Element("loop_supply", "reading", "loop supply", meter, "hot side of the server loop, to the exchanger",
                (Binding("temp", "", supply_t), Binding("overtemp", "", (f"{loop}/overtemp/alarm",)))),
        Element("loop_return", "reading", "loop return", meter, "cold side of the server loop, back to the servers",
                (Binding("temp", "", return_t),)),
        Element("pump", "pump", "pump", loop, "loop circulation pump",
                (Binding("pump", "", (f"{loop}/pump/state",)), Binding("flow", "", loop_flow),
                 Binding("pump_fault", "", (f"{loop}/pump_fault/alarm",)),
                 Binding("low_flow", "", (f"{loop}/low_flow/alarm",)))),
        Element("bypass_valve", "bypass_valve", f"{BYPASS_WORDS[hp.bypass.kind]} valve", loop,
                f"valve diverting loop heat to the {BYPASS_WORDS[hp.bypass.kind]} (summer)",
                (Binding("position", "open", (f"{loop}/bypass/valve_position",)),)),
        Element("dump", "dry_cooler", hp.bypass.name, loop,
                f"{BYPASS_WORDS[hp.bypass.kind]}: heat nobody needs, dumped outside",
                (Binding("power", "dumping", (f"{loop}/dump/thermal_power", f"{meter}/dump/thermal_power")),
                 Binding("outdoor", "outdoor", (f"{loop}/outdoor/temperature",))), hp.bypass.kind),
        Element("exchanger", "exchanger", hp.exchanger, meter, "heat exchanger: loop heat into the tank circuit",
                (Binding("power", "", loop_power), Binding("supply", "", supply_t), Binding("return", "", return_t))),
        Element("tank", "tank", f"{hp.tank.name} · {hp.tank.volume_l:g} L", loop, "storage tank",
                (Binding("sensor_fault", "", (f"{loop}/sensor_fault/alarm",)),)),
    ]
    sensors = list(hp.tank.sensors)
    for i, sensor in enumerate(sensors):
        key = hp.tank_sensor_key(sensor)
        elements.append(Element(f"tank_layer:{i}", "tank_layer", _layer_label(sensor), key.split("/")[0],
                                f"tank layer {i + 1} of {len(sensors)} (top first)",
                                (Binding("temp", _layer_label(sensor), (key,)),)))
    if not sensors:  # a tank with no sensor is still a tank
        elements.append(Element("tank_layer:0", "tank_layer", "tank", None, "tank (no temperature sensor listed)"))
    if controller:
        elements.append(Element("valve", "valve", "mixing valve", loop, "consumer mixing valve",
                                (Binding("position", "open", (f"{loop}/valve/valve_position",)),
                                 Binding("setpoint", "set", (f"{loop}/valve_setpoint/valve_position",)),
                                 Binding("valve_fault", "", (f"{loop}/valve_fault/alarm",)))))
    for i, c in enumerate(hp.consumers):
        slug = channel_slug(c.name)
        chans = list(dict.fromkeys([slug, c.kind] + (["room"] if c.kind == "space_heating" else [])))
        temp_keys = tuple(f"{loop}/{ch}/temperature" for ch in chans)
        label = "room" if c.kind == "space_heating" else ""
        elements.append(Element(
            f"consumer:{i}", "consumer", c.name, loop,
            CONSUMER_WORDS[c.kind] + (f", design {c.design_w / 1000:g} kW" if c.design_w else ""),
            (Binding("temp", label, temp_keys),
             Binding("power", "", tuple(f"{loop}/{ch}/thermal_power" for ch in chans if ch != "room"))),
            c.kind))
    top = hp.tank_sensor_key(sensors[0]) if sensors else None
    bottom = hp.tank_sensor_key(sensors[-1]) if sensors else None
    hot_sec, cold_sec = (top,) if top else (), (bottom,) if bottom else ()
    pipes += [
        Pipe("hot", "loop supply (hot): servers to exchanger", supply_t, loop_flow),
        Pipe("cold", "loop return (cold): exchanger to servers, through the pump", return_t, loop_flow),
        Pipe("bypass", "bypass branch to the dry cooler", supply_t, loop_flow, (f"{loop}/bypass/valve_position",)),
        Pipe("secondary_hot", "tank circuit, warm side (coloured by the top tank sensor)", hot_sec),
        Pipe("secondary_cold", "tank circuit, cool side (coloured by the bottom tank sensor)", cold_sec),
    ]
    for i, c in enumerate(hp.consumers):
        pipes.append(Pipe(f"feed:{i}", f"feed to {c.name} (coloured by the top tank sensor)", hot_sec))
        pipes.append(Pipe(f"back:{i}", f"return from {c.name} (coloured by the bottom tank sensor)", cold_sec))
    pipes.append(Pipe("tank_return", "consumer returns into the tank bottom", cold_sec))
    lim = site.limits
    return Plant(tuple(elements), tuple(pipes), tuple(hp.servers), max(1, len(sensors)), len(hp.consumers),
                 controller, loop_flow, lim.max_loop_temp_c, lim.max_tank_temp_c, lim.max_inlet_temp_c,
                 lim.min_flow_lpm)


# ---------------------------------------------------------------- formatting
def age_text(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"


def value_text(value: float | str | None, unit: str) -> str:
    """A value with its unit, to the precision a person reads on a schematic."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return "—"
    if unit == "W":
        return f"{value / 1000:.2f} kW" if abs(value) >= 1000 else f"{value:.0f} W"
    if unit == "°C":
        return f"{value:.1f} °C"
    if unit == "L/min":
        return f"{value:.2f} L/min" if abs(value) < 10 else f"{value:.1f} L/min"
    if unit == "%":
        return f"{value:.0f} %"
    return f"{value:.3g} {unit}".strip()


def _num(s: SeriesState | None) -> float | None:
    if s is None or isinstance(s.value, str) or s.value is None or not math.isfinite(s.value):
        return None
    return float(s.value)


def _live_num(s: SeriesState | None) -> float | None:
    return _num(s) if s is not None and s.state == LIVE_OK else None


def _active(s: SeriesState | None) -> bool:
    """An alarm that is on now (a stale alarm is not asserted: the element shows stale)."""
    return s is not None and s.state == LIVE_OK and str(s.value).strip().lower() in ACTIVE_ALARM


def _shown(s: SeriesState, label: str = "") -> str:
    text = value_text(s.value, s.unit)
    if label:
        text = f"{label} {text}"
    if s.state != LIVE_OK:
        text += f" · {age_text(s.age)} old"
    return text


# ---------------------------------------------------------------- states
class _Reader:
    """One element's evaluation: what it read, what it found abnormal."""

    def __init__(self, element: Element, series: Mapping[str, SeriesState]) -> None:
        self.el = element
        self.got: dict[str, SeriesState] = {}
        for b in element.bindings:
            s = b.pick(series)
            if s is not None:
                self.got[b.role] = s
        self.lines: list[str] = []
        self.reasons: list[str] = []

    def __getitem__(self, role: str) -> SeriesState | None:
        return self.got.get(role)

    def show(self, role: str, label: str | None = None) -> None:
        s = self.got.get(role)
        if s is not None:
            b = next(b for b in self.el.bindings if b.role == role)
            self.lines.append(_shown(s, b.label if label is None else label))

    def over(self, role: str, limit: float, what: str) -> None:
        v = _live_num(self.got.get(role))
        if v is not None and v > limit:
            self.reasons.append(f"{what} OVER {limit:g} °C".strip())

    def alarm(self, role: str, text: str) -> None:
        if _active(self.got.get(role)):
            self.reasons.append(text)


def _joined(parts: list[tuple[str, SeriesState]]) -> str:
    """Values read together on one line; the oldest not-fresh age once, at the end."""
    text = " · ".join(f"{label} {value_text(s.value, s.unit)}".strip() for label, s in parts)
    stale = max((s.age for _, s in parts if s.state != LIVE_OK), default=None)
    return text + (f" · {age_text(stale)} old" if stale is not None else "")


def _server(r: _Reader, series_of: Iterable[SeriesState], plant: Plant) -> None:
    cin, cout = r["coolant_in"], r["coolant_out"]
    if cin is not None and cout is not None:
        stale = max((s.age for s in (cin, cout) if s.state != LIVE_OK), default=None)
        text = f"coolant {value_text(cin.value, '')}→{value_text(cout.value, cout.unit)}"
        r.lines.append(text + (f" · {age_text(stale)} old" if stale is not None else ""))
    else:
        r.show("coolant_in", "coolant in")
        r.show("coolant_out", "coolant out")
    for a, la, b, lb in (("flow", "", "heat", "heat"), ("it_power", "IT", "inlet", "inlet")):
        sa, sb = r[a], r[b]
        if sa is not None and sb is not None:
            r.lines.append(_joined([(la, sa), (lb, sb)]))
        else:
            r.show(a)
            r.show(b)
    temps: list[float] = []
    power = 0.0
    n = set()
    for s in series_of:
        if GPU_CHANNEL.match(s.channel) and s.state == LIVE_OK and (v := _num(s)) is not None:
            if s.quantity == "temperature":
                temps.append(v)
                n.add(s.channel)
            elif s.quantity == "power":
                power += v
                n.add(s.channel)
    if n:
        r.lines.append(f"{len(n)} GPU" + (f" · max {max(temps):.0f} °C" if temps else "") + f" · {power:.0f} W")
    r.over("inlet", plant.max_inlet_c, "INLET")
    r.over("coolant_out", plant.max_loop_c, "COOLANT")


def _pump(r: _Reader, plant: Plant, servers_running: bool) -> None:
    pump, flow = r["pump"], r["flow"]
    if pump is not None:
        r.show("pump")
    if flow is not None:
        r.show("flow")
    r.alarm("pump_fault", "PUMP TRIPPED")
    off = pump is not None and pump.state == LIVE_OK and str(pump.value).lower() in ("off", "0", "false")
    if off and servers_running and "PUMP TRIPPED" not in r.reasons:
        r.reasons.append("PUMP OFF (servers running)")
    f = _live_num(flow)
    low = _active(r["low_flow"]) or (f is not None and f < plant.min_flow_lpm and not off)
    if low:
        r.reasons.append("LOW FLOW")


def _valve(r: _Reader) -> None:
    r.show("position")
    pos, sp = _num(r["position"]), _num(r["setpoint"])
    if pos is not None and sp is not None and abs(sp - pos) >= 1:  # the setpoint only when it differs
        r.show("setpoint")
    r.alarm("valve_fault", "VALVE STUCK")


def _exchanger(r: _Reader) -> None:
    r.show("power")
    sup, ret = r["supply"], r["return"]
    a, b = _num(sup), _num(ret)
    if sup is not None and ret is not None and a is not None and b is not None:
        stale = max((s.age for s in (sup, ret) if s.state != LIVE_OK), default=None)
        r.lines.append(f"ΔT {a - b:.1f} K" + (f" · {age_text(stale)} old" if stale is not None else ""))


def _evaluate(el: Element, series: Mapping[str, SeriesState], by_device: Mapping[str, list[SeriesState]],
              plant: Plant, servers_running: bool) -> tuple[_Reader, float | None]:
    r = _Reader(el, series)
    temp: float | None = None
    if el.kind in ("server", "gpu_host"):
        _server(r, by_device.get(el.device_id or "", ()), plant)
    elif el.kind == "pump":
        _pump(r, plant, servers_running)
    elif el.kind == "valve":
        _valve(r)
    elif el.kind == "exchanger":
        _exchanger(r)
    elif el.kind == "reading":
        r.show("temp")
        r.over("temp", plant.max_loop_c, "LOOP")
        r.alarm("overtemp", "OVER-TEMPERATURE")
    elif el.kind == "tank":
        r.alarm("sensor_fault", "SENSOR FAULT")
        layers = [series_state for key in _layer_keys(plant) if (series_state := series.get(key)) is not None]
        hot = [v for s in layers if (v := _live_num(s)) is not None and v > plant.max_tank_c]
        if hot:
            r.reasons.append(f"TANK OVER {plant.max_tank_c:g} °C")
    elif el.kind == "tank_layer":
        r.show("temp")
        r.over("temp", plant.max_tank_c, "")
        temp = _live_num(r["temp"])
    else:  # bypass valve, dry cooler, consumers: their values as they come
        for b in el.bindings:
            r.show(b.role)
    return r, temp


def _layer_keys(plant: Plant) -> list[str]:
    return [b.keys[0] for e in plant.elements if e.kind == "tank_layer" for b in e.bindings]


def plant_state(plant: Plant, series: Iterable[SeriesState], devices: Mapping[str, str]) -> PlantState:
    """What every element and pipe shows now. ``series``: the live model's ``series()``;
    ``devices``: device id -> its state (``ok``, ``unreachable`` ...)."""
    by_key: dict[str, SeriesState] = {}
    by_device: dict[str, list[SeriesState]] = {}
    for s in series:
        by_key[s.key] = s
        by_device.setdefault(s.device_id, []).append(s)
    servers_running = any((v := _live_num(by_key.get(f"{sid}/chassis/power"))) is not None and v > SERVER_RUNNING_W
                          for sid in plant.servers)
    out: dict[str, ElementState] = {}
    for el in plant.elements:
        r, temp = _evaluate(el, by_key, by_device, plant, servers_running)
        dev_state = devices.get(el.device_id or "", "")
        lines = tuple(line for line in r.lines if line)[:MAX_LINES]
        if dev_state in FAILED:
            state, reason = UNREACHABLE, dev_state.replace("_", " ")
        elif r.reasons:
            state, reason = ABNORMAL, "\n".join(r.reasons)
        elif not r.got and dev_state == "pending" and el.bindings:
            state, reason = NONE, "waiting for data"  # not polled yet: "no sensor" would be a guess
        elif not r.got:
            state, reason = NONE, ("no sensor" if el.bindings and el.kind != "tank" else "")  # its layers say it
        elif any(s.state != LIVE_OK for s in r.got.values()):
            worst = max(s.age for s in r.got.values() if s.state != LIVE_OK)
            bad = [s.state for s in r.got.values() if s.state != LIVE_OK]
            state = UNREACHABLE if any(b in FAILED for b in bad) else STALE
            word = ("no value" if all(b == "no_value" for b in bad) else
                    "stale" if all(b in (LIVE_STALE, "no_value") for b in bad) else bad[0].replace("_", " "))
            reason = f"{word} · {age_text(worst)} old"
        else:
            state, reason = OK, ""
        out[el.id] = ElementState(lines, state, reason, temp)
    pipes = {p.id: _pipe_state(p, by_key, devices) for p in plant.pipes}
    return PlantState(out, pipes)


def _pipe_state(p: Pipe, series: Mapping[str, SeriesState], devices: Mapping[str, str]) -> PipeState:
    t = next((series[k] for k in p.temp if k in series), None)
    if t is None:
        state, temp = NONE, None
    else:
        temp = _num(t)
        dev_failed = devices.get(t.device_id, "") in FAILED
        state = OK if t.state == LIVE_OK else UNREACHABLE if dev_failed or t.state in FAILED else STALE
    flow = 0.0
    found = next(((i, series[k]) for i, k in enumerate(p.flow) if k in series), None)
    if found is not None:
        i, s = found
        f = max(0.0, _live_num(s) or 0.0)
        flow = f if i == 0 or p.flow_divisor <= 1 else f / p.flow_divisor  # a branch's own meter, or its share
        if p.flow_share:
            share = _live_num(next((series[k] for k in p.flow_share if k in series), None))
            flow = flow * max(0.0, min(100.0, share or 0.0)) / 100.0
    return PipeState(temp, state, flow)


__all__ = ["ABNORMAL", "NONE", "OK", "STALE", "UNREACHABLE", "Binding", "Element", "ElementState", "Pipe",
           "PipeState", "Plant", "PlantState", "age_text", "build_plant", "plant_state", "value_text"]
