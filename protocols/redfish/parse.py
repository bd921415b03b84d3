"""Pure functions from Redfish payloads to samples: no I/O, so they are easy to test.

Both the legacy model (Thermal, Power) and the new one (ThermalSubsystem, PowerSubsystem,
EnvironmentMetrics, Sensors, Controls) map onto the same stable channel names, so that a BMC
offering both yields one series per quantity; ``rank`` says which resource wins (new > legacy).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

Payload = dict[str, Any]

# Which resource wins when two report the same channel/quantity (higher wins).
LEGACY = 0  # Thermal / Power (deprecated 2020.4)
SENSOR = 1  # Chassis/{id}/Sensors/{id}
SUBSYSTEM = 2  # ThermalMetrics, Fans, PowerSupplyMetrics, chassis EnvironmentMetrics
DIRECT = 3  # Controls, Processor EnvironmentMetrics: the resource that owns the value

J_PER_KWH = 3.6e6


class BadValue(ValueError):
    """A property that should hold a number holds something else."""


class Sample(NamedTuple):
    """One value an extractor found. A tuple, not a dataclass: a poll makes ~35 of them and
    a tuple is built in a third of the time (fast-forward makes ~10 million a season)."""

    channel: str
    quantity: str
    value: float | str | None
    unit: str
    rank: int
    source: str  # property path inside the resource, for provenance


Extractor = Callable[[Payload], list[Sample]]


# ---------------------------------------------------------------- values
def as_dict(value: Any) -> dict[str, Any]:
    """An object member, or an empty one where a BMC sent null, a list or a string instead."""
    return value if isinstance(value, dict) else {}


def number(value: Any, where: str) -> float | None:
    """A Redfish numeric property: None stays None (no reading); strings of numbers are
    accepted (TelemetryService sends them); anything else is garbage."""
    if type(value) is float:  # the common case first: a finite float is itself
        return value if math.isfinite(value) else None
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue(f"{where}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value)
        except ValueError:
            raise BadValue(f"{where}: expected a number, got {value!r}") from None
    else:
        raise BadValue(f"{where}: expected a number, got {type(value).__name__}")
    if not math.isfinite(out):
        return None
    return out


def excerpt(payload: Payload, key: str, field: str = "Reading") -> float | None:
    """``{"Reading": x, "DataSourceUri": ...}`` excerpts: use the Reading, ignore the link."""
    ex = payload.get(key)
    if type(ex) is dict:
        value = ex.get(field)
        if type(value) is float and math.isfinite(value):  # the common case, as number() gives it
            return value
        return number(value, f"{key}.{field}")
    if ex is None:
        return None
    if not isinstance(ex, dict):
        return number(ex, key)  # some services flatten excerpts to a bare number
    return number(ex.get(field), f"{key}.{field}")


def odata_id(link: Any) -> str | None:
    if isinstance(link, dict) and isinstance(link.get("@odata.id"), str):
        return link["@odata.id"]
    return None


def data_source_uris(node: Any) -> set[str]:
    """Every excerpt's ``DataSourceUri`` in a payload: the Sensors those excerpts already carry."""
    out: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "DataSourceUri" and isinstance(v, str):
                out.add(v.split("#")[0].rstrip("/"))
            else:
                out |= data_source_uris(v)
    elif isinstance(node, list):
        for v in node:
            out |= data_source_uris(v)
    return out


def members(collection: Payload) -> list[str]:
    out = []
    for m in collection.get("Members") or []:
        uri = odata_id(m)
        if uri:
            out.append(uri)
    return out


# ---------------------------------------------------------------- channel names
_QUANTITY_WORDS = {"temp", "temperature", "power", "energy", "input", "reading", "sensor",
                   "celsius", "watts", "kwh", "consumption", "consumed"}


def slug(text: str) -> str:
    """'CPU1 Temp' -> 'cpu1_temp', 'PS1InputPower' -> 'ps1_input_power', 'GPU_SXM_0' -> 'gpu_sxm_0'."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    s = re.sub(r"[^a-z0-9]+", "_", s.lower())
    return s.strip("_")


def channel_name(text: str, default: str = "chassis") -> str:
    """A short channel from a sensor's Id or Name: drop quantity words, PSn -> psun,
    Total -> chassis. 'CPU1Temp' -> 'cpu1', 'PS1InputPower' -> 'psu1', 'PS1OutputPower' -> 'psu1_out'."""
    s = re.sub(r"_(?:temp|temperature|power|energy)(\d+)(?=_|$)", r"\1", slug(text))  # CPUTemp1
    words = [w for w in s.split("_") if w and w not in _QUANTITY_WORDS]
    words = ["out" if w == "output" else w for w in words]
    if words[:1] == ["total"]:
        words = ["chassis"] + words[1:]
    if words and re.fullmatch(r"ps\d+", words[0]):
        words[0] = "psu" + words[0][2:]
    return "_".join(words) or default


def fan_channel(text: str, default: str = "") -> str:
    """'Fan 1' / 'Fan1' -> 'fan1', 'Bay1' -> 'fan_bay1', 'BaseBoard System Fan' -> 'fan_base_board_system'."""
    rest = "_".join(w for w in slug(text).split("_") if w and w != "fan")
    if not rest:
        rest = default
    m = re.fullmatch(r"fan(\d+)", slug(text).replace("_", ""))
    if m:
        return f"fan{m.group(1)}"
    return f"fan{rest}" if rest[:1].isdigit() else f"fan_{rest}"


def temperature_channel(entry: Payload, fallback: str) -> str:
    ctx = entry.get("PhysicalContext")
    if ctx == "Intake":
        return "inlet"
    if ctx == "Exhaust":
        return "exhaust"
    return channel_name(fallback)


def trailing_number(text: str) -> str | None:
    m = re.search(r"(\d+)\D*$", text)
    return str(int(m.group(1))) if m else None


# ---------------------------------------------------------------- legacy model
def legacy_thermal(prefix: str) -> Extractor:
    """Thermal: every Temperatures[] entry (ReadingCelsius) and every Fans[] entry."""

    def extract(d: Payload) -> list[Sample]:
        out: list[Sample] = []
        seen: set[str] = set()
        for i, t in enumerate(_entries(d, "Temperatures")):
            ch = temperature_channel(t, str(t.get("Name") or t.get("MemberId") or i))
            if ch in seen:
                ch = f"{ch}_{slug(str(t.get('MemberId', i)))}"
            seen.add(ch)
            out.append(Sample(prefix + ch, "temperature",
                              number(t.get("ReadingCelsius"), f"Temperatures/{i}/ReadingCelsius"),
                              "°C", LEGACY, f"Temperatures/{i}"))
        for i, f in enumerate(_entries(d, "Fans")):
            name = str(f.get("Name") or f.get("FanName") or f.get("MemberId") or i)
            ch = fan_channel(name, default=str(i))
            if ch in seen:
                ch = f"{ch}_{slug(str(f.get('MemberId', i)))}"
            seen.add(ch)
            unit = "%" if f.get("ReadingUnits") == "Percent" else "RPM"
            out.append(Sample(prefix + ch, "fan_speed", number(f.get("Reading"), f"Fans/{i}/Reading"),
                              unit, LEGACY, f"Fans/{i}"))
        return out

    return extract


def legacy_power(prefix: str) -> Extractor:
    """Power: PowerControl[0] consumed watts and limit, each PowerSupplies[] input/output."""

    def extract(d: Payload) -> list[Sample]:
        out: list[Sample] = []
        controls = _entries(d, "PowerControl")
        if controls:
            pc = controls[0]
            out.append(Sample(prefix + "chassis", "power",
                              number(pc.get("PowerConsumedWatts"), "PowerControl/0/PowerConsumedWatts"),
                              "W", LEGACY, "PowerControl/0/PowerConsumedWatts"))
            limit = as_dict(pc.get("PowerLimit"))
            out.append(Sample(prefix + "chassis", "power_limit",
                              number(limit.get("LimitInWatts"), "PowerControl/0/PowerLimit/LimitInWatts"),
                              "W", LEGACY, "PowerControl/0/PowerLimit/LimitInWatts"))
        for i, p in enumerate(_entries(d, "PowerSupplies")):
            ch = f"{prefix}psu{i + 1}"
            where = f"PowerSupplies/{i}"
            out.append(Sample(ch, "power", number(p.get("PowerInputWatts"), f"{where}/PowerInputWatts"),
                              "W", LEGACY, f"{where}/PowerInputWatts"))
            out.append(Sample(ch + "_out", "power",
                              number(p.get("LastPowerOutputWatts"), f"{where}/LastPowerOutputWatts"),
                              "W", LEGACY, f"{where}/LastPowerOutputWatts"))
        return out

    return extract


def legacy_power_limit(d: Payload) -> tuple[float | None, float | None]:
    """(LimitInWatts, PowerCapacityWatts) of PowerControl[0]; the capacity bounds a write."""
    controls = _entries(d, "PowerControl")
    if not controls:
        return None, None
    pc = controls[0]
    limit = as_dict(pc.get("PowerLimit"))
    return (number(limit.get("LimitInWatts"), "PowerLimit.LimitInWatts"),
            number(pc.get("PowerCapacityWatts"), "PowerCapacityWatts"))


# ---------------------------------------------------------------- new model
def thermal_metrics(prefix: str) -> Extractor:
    """ThermalMetrics.TemperatureSummaryCelsius: Intake -> inlet, Exhaust, Ambient. Internal is
    skipped: it is whatever sensor the vendor chose (CPU1 in the DMTF mockups)."""

    def extract(d: Payload) -> list[Sample]:
        summary = d.get("TemperatureSummaryCelsius") or {}
        if not isinstance(summary, dict):
            raise BadValue("TemperatureSummaryCelsius: expected an object")
        out = []
        for key, ch in (("Intake", "inlet"), ("Exhaust", "exhaust"), ("Ambient", "ambient")):
            if key in summary:
                out.append(Sample(prefix + ch, "temperature", excerpt(summary, key), "°C", SUBSYSTEM,
                                  f"TemperatureSummaryCelsius/{key}"))
        if "PowerWatts" in d:
            out.append(Sample(prefix + "cooling", "power", excerpt(d, "PowerWatts"), "W", SUBSYSTEM,
                              "PowerWatts"))
        if "EnergykWh" in d:
            out.append(Sample(prefix + "cooling", "energy", excerpt(d, "EnergykWh"), "kWh", SUBSYSTEM,
                              "EnergykWh"))
        return out

    return extract


def fan(channel: str, rpm: bool) -> Extractor:
    """Fan.SpeedPercent: RPM when the fan reports SpeedRPM (decided once, so the unit is
    stable), percent otherwise."""

    def extract(d: Payload) -> list[Sample]:
        if rpm:
            return [Sample(channel, "fan_speed", excerpt(d, "SpeedPercent", "SpeedRPM"), "RPM", SUBSYSTEM,
                           "SpeedPercent/SpeedRPM")]
        return [Sample(channel, "fan_speed", excerpt(d, "SpeedPercent"), "%", SUBSYSTEM,
                       "SpeedPercent/Reading")]

    return extract


def fan_reports_rpm(d: Payload) -> bool:
    sp = d.get("SpeedPercent")
    return isinstance(sp, dict) and "SpeedRPM" in sp


def psu_metrics(channel: str) -> Extractor:
    """PowerSupplyMetrics: input power/voltage/current/energy, output power, temperature."""

    def extract(d: Payload) -> list[Sample]:
        out = [Sample(channel, "power", excerpt(d, "InputPowerWatts"), "W", SUBSYSTEM, "InputPowerWatts"),
               Sample(channel + "_out", "power", excerpt(d, "OutputPowerWatts"), "W", SUBSYSTEM,
                      "OutputPowerWatts")]
        for key, q, unit in (("EnergykWh", "energy", "kWh"), ("InputVoltage", "voltage", "V"),
                             ("InputCurrentAmps", "current", "A"), ("TemperatureCelsius", "temperature", "°C")):
            if key in d:
                out.append(Sample(channel, q, excerpt(d, key), unit, SUBSYSTEM, key))
        return out

    return extract


def environment_metrics(channel: str, rank: int, with_temperature: bool) -> Extractor:
    """EnvironmentMetrics of a chassis (power, energy, power-limit mirror) or of a processor
    (also its temperature). The chassis' TemperatureCelsius is skipped: its meaning varies."""

    def extract(d: Payload) -> list[Sample]:
        out = []
        if with_temperature and "TemperatureCelsius" in d:
            out.append(Sample(channel, "temperature", excerpt(d, "TemperatureCelsius"), "°C", rank,
                              "TemperatureCelsius"))
        if "PowerWatts" in d:
            out.append(Sample(channel, "power", excerpt(d, "PowerWatts"), "W", rank, "PowerWatts"))
        if "EnergykWh" in d:
            out.append(Sample(channel, "energy", excerpt(d, "EnergykWh"), "kWh", rank, "EnergykWh"))
        elif "EnergyJoules" in d:
            j = excerpt(d, "EnergyJoules")
            out.append(Sample(channel, "energy", None if j is None else j / J_PER_KWH, "kWh", rank,
                              "EnergyJoules"))
        if "PowerLimitWatts" in d:
            # A Control excerpt; the Control resource itself (rank DIRECT) wins where linked.
            out.append(Sample(channel, "power_limit", excerpt(d, "PowerLimitWatts", "SetPoint"), "W",
                              rank - 1 if rank > SENSOR else rank, "PowerLimitWatts/SetPoint"))
        return out

    return extract


def control(channel: str) -> Extractor:
    """Control with ControlType Power: its SetPoint is the power limit."""

    def extract(d: Payload) -> list[Sample]:
        return [Sample(channel, "power_limit", number(d.get("SetPoint"), "SetPoint"), "W", DIRECT,
                       "SetPoint")]

    return extract


def coolant_connector(prefix: str) -> Extractor:
    """CoolantConnector: supply/return temperature, flow on the supply line, heat removed."""

    def extract(d: Payload) -> list[Sample]:
        out = [Sample(prefix + "supply", "temperature", excerpt(d, "SupplyTemperatureCelsius"), "°C",
                      SUBSYSTEM, "SupplyTemperatureCelsius"),
               Sample(prefix + "return", "temperature", excerpt(d, "ReturnTemperatureCelsius"), "°C",
                      SUBSYSTEM, "ReturnTemperatureCelsius")]
        if "FlowLitersPerMinute" in d:
            out.append(Sample(prefix + "supply", "flow", excerpt(d, "FlowLitersPerMinute"), "L/min",
                              SUBSYSTEM, "FlowLitersPerMinute"))
        if "HeatRemovedkW" in d:  # the heat this connector carries away, kW
            kw = excerpt(d, "HeatRemovedkW")
            out.append(Sample(prefix + "coolant", "thermal_power", None if kw is None else kw * 1000.0, "W",
                              SUBSYSTEM, "HeatRemovedkW"))
        return out

    return extract


# Sensor.ReadingType (or, when absent, ReadingUnits) -> quantity, unit, factor.
_SENSOR_TYPES: dict[str, tuple[str, str, float]] = {
    "Temperature": ("temperature", "°C", 1.0),
    "Power": ("power", "W", 1.0),
    "EnergykWh": ("energy", "kWh", 1.0),
    "EnergyJoules": ("energy", "kWh", 1 / J_PER_KWH),
    "EnergyWh": ("energy", "kWh", 1e-3),
    "Heat": ("thermal_power", "W", 1e3),  # kW
    "LiquidFlowLPM": ("flow", "L/min", 1.0),
    "LiquidFlow": ("flow", "L/min", 60.0),  # deprecated, L/s
    "PressurekPa": ("pressure", "kPa", 1.0),
}
_SENSOR_UNITS: dict[str, tuple[str, str, float]] = {
    "Cel": _SENSOR_TYPES["Temperature"],
    "W": _SENSOR_TYPES["Power"],
    "kW.h": _SENSOR_TYPES["EnergykWh"],
    "J": _SENSOR_TYPES["EnergyJoules"],
    "L/min": _SENSOR_TYPES["LiquidFlowLPM"],
    "kPa": _SENSOR_TYPES["PressurekPa"],
}


def classify_sensor(d: Payload) -> tuple[str, str, str, float] | None:
    """(channel, quantity, unit, factor) for a Sensor worth polling, None for the rest
    (voltages, currents, fan percentages: their subsystems already carry them)."""
    kind = _SENSOR_TYPES.get(str(d.get("ReadingType"))) or _SENSOR_UNITS.get(str(d.get("ReadingUnits")))
    if kind is None:
        return None
    quantity, unit, factor = kind
    name = str(d.get("Id") or d.get("Name") or "")
    ch = temperature_channel(d, name) if quantity == "temperature" else channel_name(name)
    return ch, quantity, unit, factor


def sensor(channel: str, quantity: str, unit: str, factor: float) -> Extractor:
    def extract(d: Payload) -> list[Sample]:
        v = number(d.get("Reading"), "Reading")
        return [Sample(channel, quantity, None if v is None else v * factor, unit, SENSOR, "Reading")]

    return extract


# ---------------------------------------------------------------- merging
def merge(samples: Iterable[tuple[str, Sample]]) -> dict[tuple[str, str], tuple[str, Sample]]:
    """Keep, per (channel, quantity), the highest-ranked sample (first one on a tie)."""
    best: dict[tuple[str, str], tuple[str, Sample]] = {}
    for uri, s in samples:
        key = (s.channel, s.quantity)
        prev = best.get(key)
        if prev is None or s.rank > prev[1].rank:
            best[key] = (uri, s)
    return best


def _entries(d: Payload, key: str) -> list[Payload]:
    value = d.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise BadValue(f"{key}: expected an array of objects")
    return value
