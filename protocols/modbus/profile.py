"""Modbus register-map profiles: TOML in, validated dataclasses out, plus encode/decode.

A profile says where each point lives (table, PDU address, type, word order), how raw counts
become engineering values (scale, offset, device unit) and what a point means to heatrack
(channel, quantity). Keeping that in data lets one client speak to any controller or meter.
Format: resources/profiles/heat/*.toml (notes/modbus-nvml.md section 3).
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import struct
import tomllib
from pathlib import Path
from typing import Any

from protocols.base import QUANTITY_UNITS
from protocols.resources import resources_dir

PROFILE_DIR = resources_dir() / "profiles" / "heat"

TABLES = ("input", "holding", "coil", "discrete")
REGISTER_TABLES = ("input", "holding")
BIT_TABLES = ("coil", "discrete")
# type -> (registers, struct code per 16-bit-word-ordered big-endian bytes)
TYPES: dict[str, tuple[int, str]] = {
    "int16": (1, ">h"),
    "uint16": (1, ">H"),
    "int32": (2, ">i"),
    "uint32": (2, ">I"),
    "float32": (2, ">f"),
    "bool": (1, ""),
    "string": (0, ""),  # length from `length` (registers)
}

# Device unit -> (canonical unit, factor): canonical = device * factor.
UNIT_CONVERSIONS: dict[str, tuple[str, float]] = {
    "degC": ("°C", 1.0),
    "°C": ("°C", 1.0),
    "C": ("°C", 1.0),
    "K": ("K", 1.0),  # temperature differences
    "L/min": ("L/min", 1.0),
    "l/min": ("L/min", 1.0),
    "l/s": ("L/min", 60.0),
    "L/s": ("L/min", 60.0),
    "m3/h": ("L/min", 1000.0 / 60.0),
    "l/h": ("L/min", 1.0 / 60.0),
    "W": ("W", 1.0),
    "kW": ("W", 1000.0),
    "MW": ("W", 1e6),
    "Wh": ("kWh", 0.001),
    "kWh": ("kWh", 1.0),
    "MWh": ("kWh", 1000.0),
    "GJ": ("kWh", 1e9 / 3.6e6),
    "MJ": ("kWh", 1e6 / 3.6e6),
    "%": ("%", 1.0),
    "kPa": ("kPa", 1.0),
    "bar": ("kPa", 100.0),
    "": ("", 1.0),
}


class ProfileError(ValueError):
    """A profile file is malformed; the message names the file and the point."""


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    """One register-map point. ``unit`` is the device's unit; readings use the canonical one."""

    name: str
    table: str
    address: int  # PDU address (0-based), after address_base was applied
    type: str
    channel: str
    quantity: str | None  # None: not emitted as a Reading (identity strings, raw words)
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0
    word_order: str = "big"
    writable: bool = False
    min: float | None = None
    max: float | None = None
    enum: dict[int, str] = dataclasses.field(default_factory=dict)
    bits: dict[int, str] = dataclasses.field(default_factory=dict)
    length: int = 0  # string registers
    identity: bool = False

    @property
    def count(self) -> int:
        """Registers (or bits, for coil/discrete tables) the point occupies."""
        if self.type == "string":
            return self.length
        return TYPES[self.type][0]

    @property
    def end(self) -> int:
        return self.address + self.count

    @property
    def canonical_unit(self) -> str:
        return UNIT_CONVERSIONS[self.unit][0]

    def to_canonical(self, value: float) -> float:
        return value * UNIT_CONVERSIONS[self.unit][1]

    def from_canonical(self, value: float) -> float:
        return value / UNIT_CONVERSIONS[self.unit][1]


@dataclasses.dataclass(frozen=True, slots=True)
class ThermalSpec:
    """Which points to compute thermal power from when the device does not report it."""

    supply: str = "supply_temp"
    return_: str = "return_temp"
    flow: str = "flow"
    channel: str = "loop"


@dataclasses.dataclass(frozen=True, slots=True)
class Profile:
    name: str
    path: Path | None
    points: dict[str, Point]
    device_id: int = 1
    word_order: str = "big"
    max_gap: int = 8  # registers skipped inside one block read rather than a second request
    description: str = ""
    thermal: ThermalSpec = ThermalSpec()
    # [actions]: which writable point each typed action drives ("valve", "bypass", "pump")
    actions: dict[str, str] = dataclasses.field(default_factory=dict)
    # [profile] device_identification: the device answers Read Device Identification (43/14)
    device_identification: bool = False
    # [identity]: what the map file itself says of the device (manufacturer, model), for
    # devices that do not say it themselves
    identity: dict[str, str] = dataclasses.field(default_factory=dict)

    def point(self, name: str) -> Point:
        try:
            return self.points[name]
        except KeyError:
            raise KeyError(f"profile {self.name}: no point {name!r}") from None

    def in_table(self, table: str) -> list[Point]:
        return sorted((p for p in self.points.values() if p.table == table), key=lambda p: p.address)

    @property
    def reports_thermal_power(self) -> bool:
        return any(p.quantity == "thermal_power" and p.channel == self.thermal.channel
                   for p in self.points.values())

    @property
    def can_compute_thermal_power(self) -> bool:
        t = self.thermal
        return all(n in self.points for n in (t.supply, t.return_, t.flow))


# ---------------------------------------------------------------- loading
def resolve(name_or_path: str | Path) -> Path:
    """A profile name ("heatrack-default") or a path to a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    return PROFILE_DIR / f"{name_or_path}.toml"


def load_profile(name_or_path: str | Path) -> Profile:
    path = resolve(name_or_path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ProfileError(f"{path}: profile not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"{path}: not valid TOML: {e}") from None
    return parse_profile(data, str(path), path)


def parse_profile(data: dict[str, Any], origin: str = "<profile>", path: Path | None = None) -> Profile:
    head = data.get("profile", {})
    if not isinstance(head, dict):
        raise ProfileError(f"{origin}: [profile] must be a table")
    word_order = head.get("word_order", "big")
    if word_order not in ("big", "little"):
        raise ProfileError(f"{origin}: [profile] word_order must be 'big' or 'little', got {word_order!r}")
    base = head.get("address_base", 0)
    if base not in (0, 1):
        raise ProfileError(f"{origin}: [profile] address_base must be 0 or 1")
    raw_points = data.get("points")
    if not isinstance(raw_points, dict) or not raw_points:
        raise ProfileError(f"{origin}: no [points] table")
    points = {n: _parse_point(n, spec, word_order, base, origin) for n, spec in raw_points.items()}
    _check_overlaps(points, origin)
    th = data.get("thermal", {})
    thermal = ThermalSpec(supply=th.get("supply", "supply_temp"), return_=th.get("return", "return_temp"),
                          flow=th.get("flow", "flow"), channel=th.get("channel", "loop"))
    actions = _parse_actions(data.get("actions", {}), points, origin)
    device_identification = head.get("device_identification", False)
    if not isinstance(device_identification, bool):
        raise ProfileError(f"{origin}: [profile] device_identification must be true or false")
    return Profile(
        name=str(head.get("name", path.stem if path else "profile")),
        path=path,
        points=points,
        device_id=int(head.get("device_id", 1)),
        word_order=word_order,
        max_gap=int(head.get("max_gap", 8)),
        description=str(head.get("description", "")),
        thermal=thermal,
        actions=actions,
        device_identification=device_identification,
        identity=_parse_identity(data.get("identity", {}), origin),
    )


IDENTITY_KEYS = ("manufacturer", "model", "serial", "firmware")


def _parse_identity(raw: Any, origin: str) -> dict[str, str]:
    """[identity] manufacturer/model/serial/firmware = text."""
    if not isinstance(raw, dict):
        raise ProfileError(f"{origin}: [identity] must be a table")
    for key, value in raw.items():
        if key not in IDENTITY_KEYS:
            raise ProfileError(f"{origin}: [identity] unknown key {key!r} (known: {', '.join(IDENTITY_KEYS)})")
        if not isinstance(value, str) or not value.strip():
            raise ProfileError(f"{origin}: [identity] {key} must be non-empty text")
    return {str(k): str(v) for k, v in raw.items()}


ACTION_ROLES = ("valve", "bypass", "pump")


def _parse_actions(raw: Any, points: dict[str, Point], origin: str) -> dict[str, str]:
    """[actions] valve/bypass = a writable numeric point, pump = a writable on/off point."""
    if not isinstance(raw, dict):
        raise ProfileError(f"{origin}: [actions] must be a table")
    out: dict[str, str] = {}
    for role, name in raw.items():
        where = f"{origin}: [actions] {role}"
        if role not in ACTION_ROLES:
            raise ProfileError(f"{where}: unknown action (known: {', '.join(ACTION_ROLES)})")
        p = points.get(name) if isinstance(name, str) else None
        if p is None or not p.writable:
            raise ProfileError(f"{where}: {name!r} is not a writable point of this profile")
        on_off = p.type == "bool" or sorted(p.enum.values()) == ["off", "on"]
        if (role == "pump") != on_off or (role != "pump" and (p.enum or p.type == "string")):
            raise ProfileError(f"{where}: point {name!r} does not take "
                               f"{'on/off' if role == 'pump' else 'a number'}")
        out[role] = name
    return out


_KNOWN_KEYS = {"table", "address", "type", "channel", "quantity", "unit", "scale", "offset",
               "word_order", "writable", "min", "max", "enum", "bits", "length", "identity"}


def _parse_point(name: str, spec: Any, word_order: str, base: int, origin: str) -> Point:
    where = f"{origin}: point {name!r}"
    if not isinstance(spec, dict):
        raise ProfileError(f"{where}: must be an inline table")
    unknown = set(spec) - _KNOWN_KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown keys {sorted(unknown)}")
    table = spec.get("table")
    if table not in TABLES:
        raise ProfileError(f"{where}: table must be one of {TABLES}, got {table!r}")
    typ = spec.get("type", "bool" if table in BIT_TABLES else None)
    if typ not in TYPES:
        raise ProfileError(f"{where}: type must be one of {tuple(TYPES)}, got {typ!r}")
    if (table in BIT_TABLES) != (typ == "bool"):
        raise ProfileError(f"{where}: type {typ!r} does not fit table {table!r}")
    address = spec.get("address")
    if not isinstance(address, int) or not base <= address <= 65535 + base:
        raise ProfileError(f"{where}: address must be an integer in {base}..{65535 + base}")
    unit = spec.get("unit", "")
    if unit not in UNIT_CONVERSIONS:
        raise ProfileError(f"{where}: unknown unit {unit!r} (known: {sorted(UNIT_CONVERSIONS)})")
    identity = bool(spec.get("identity", False))
    quantity = spec.get("quantity")
    if quantity is not None and quantity not in QUANTITY_UNITS:
        raise ProfileError(f"{where}: unknown quantity {quantity!r}")
    if quantity is None and not identity and not spec.get("bits"):
        raise ProfileError(f"{where}: needs a quantity (or identity = true, or bits)")
    canon = UNIT_CONVERSIONS[unit][0]
    if quantity and quantity not in ("state", "alarm") and canon != QUANTITY_UNITS[quantity]:
        expected = QUANTITY_UNITS[quantity]
        if not (quantity == "fan_speed" and canon == "%"):
            raise ProfileError(f"{where}: unit {unit!r} does not give {quantity} in {expected!r}")
    wo = spec.get("word_order", word_order)
    if wo not in ("big", "little"):
        raise ProfileError(f"{where}: word_order must be 'big' or 'little'")
    scale = spec.get("scale", 1.0)
    offset = spec.get("offset", 0.0)
    if not isinstance(scale, (int, float)) or scale == 0 or not isinstance(offset, (int, float)):
        raise ProfileError(f"{where}: scale must be a non-zero number and offset a number")
    writable = bool(spec.get("writable", False))
    if writable and table in ("input", "discrete"):
        raise ProfileError(f"{where}: {table} points cannot be writable")
    lo, hi = spec.get("min"), spec.get("max")
    if writable and typ not in ("bool", "string") and (lo is None or hi is None):
        raise ProfileError(f"{where}: writable numeric points need min and max")
    if lo is not None and hi is not None and lo > hi:
        raise ProfileError(f"{where}: min > max")
    length = int(spec.get("length", 0))
    if typ == "string" and length < 1:
        raise ProfileError(f"{where}: string points need length (registers) >= 1")
    try:
        enum = {int(k): str(v) for k, v in spec.get("enum", {}).items()}
        bits = {int(k): str(v) for k, v in spec.get("bits", {}).items()}
    except (ValueError, AttributeError):
        raise ProfileError(f"{where}: enum/bits keys must be integers as strings, e.g. {{0 = \"off\"}}") from None
    if bits and typ not in ("uint16", "uint32", "int16", "int32"):
        raise ProfileError(f"{where}: bits need an integer type")
    if any(not 0 <= b < 16 * TYPES[typ][0] for b in bits):
        raise ProfileError(f"{where}: bit number out of range for {typ}")
    return Point(name=name, table=table, address=address - base, type=typ,
                 channel=str(spec.get("channel", name)), quantity=quantity, unit=unit,
                 scale=float(scale), offset=float(offset), word_order=wo, writable=writable,
                 min=None if lo is None else float(lo), max=None if hi is None else float(hi),
                 enum=enum, bits=bits, length=length, identity=identity)


def _check_overlaps(points: dict[str, Point], origin: str) -> None:
    for table in TABLES:
        ps = sorted((p for p in points.values() if p.table == table), key=lambda p: p.address)
        for a, b in itertools.pairwise(ps):
            if b.address < a.end:
                raise ProfileError(f"{origin}: point {b.name!r} overlaps {a.name!r} in table {table}")
    seen: dict[tuple[str, str | None], str] = {}
    for p in points.values():
        if p.quantity is None:
            continue
        key = (p.channel, p.quantity)
        if key in seen:
            raise ProfileError(f"{origin}: points {seen[key]!r} and {p.name!r} both give "
                               f"{p.channel}/{p.quantity}")
        seen[key] = p.name


# ---------------------------------------------------------------- encode / decode
def _words_to_bytes(words: list[int], word_order: str) -> bytes:
    ordered = list(reversed(words)) if word_order == "little" else list(words)
    return b"".join(w.to_bytes(2, "big") for w in ordered)


def _bytes_to_words(data: bytes, word_order: str) -> list[int]:
    words = [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
    return list(reversed(words)) if word_order == "little" else words


# Numeric types: (registers as big-endian words, the value) as compiled structs; words out
# of 0..65535 fail the fast path and take the slow one, which raises as it always did.
_WORDS = {1: struct.Struct(">H"), 2: struct.Struct(">HH")}
_NUMBERS = {name: (_WORDS[n], struct.Struct(code)) for name, (n, code) in TYPES.items()
            if code and n in _WORDS}


def decode_raw(point: Point, words: list[int]) -> int | float | str | bool:
    """Registers (or one bit as 0/1) -> the raw number, before scale/offset."""
    if len(words) != point.count:
        raise ValueError(f"{point.name}: expected {point.count} words, got {len(words)}")
    if point.type == "bool":
        return bool(words[0])
    if point.type == "string":
        raw = b"".join(w.to_bytes(2, "big") for w in words)
        return raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
    fmt = _NUMBERS.get(point.type)
    if fmt is not None:
        try:
            data = fmt[0].pack(*(reversed(words) if point.word_order == "little" else words))
        except struct.error:
            pass
        else:
            (value,) = fmt[1].unpack(data)
            return value
    (value,) = struct.unpack(TYPES[point.type][1], _words_to_bytes(words, point.word_order))
    return value


def decode(point: Point, words: list[int]) -> float | int | bool | str:
    """Registers -> engineering value in the profile's unit (scale and offset applied)."""
    raw = decode_raw(point, words)
    if isinstance(raw, (bool, str)) or point.bits or point.enum:
        return raw
    if point.type == "float32" and not math.isfinite(raw):
        raise ValueError(f"{point.name}: not a finite number ({raw})")
    return raw * point.scale + point.offset


def encode(point: Point, value: float | int | bool | str) -> list[int]:
    """Engineering value in the profile's unit -> registers (or [0|1] for a bit)."""
    if point.type == "bool":
        return [1 if value else 0]
    if point.type == "string":
        data = str(value).encode("ascii")[: point.length * 2].ljust(point.length * 2, b"\x00")
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
    if point.bits or point.enum:
        raw: float = int(value)
    else:
        raw = (float(value) - point.offset) / point.scale
    code = TYPES[point.type][1]
    if point.type != "float32":
        raw = int(round(raw))
    try:
        data = struct.pack(code, raw)
    except struct.error:
        raise ValueError(f"{point.name}: {value} does not fit {point.type} "
                         f"(scale {point.scale})") from None
    fmt = _NUMBERS.get(point.type)
    if fmt is not None:
        words = list(fmt[0].unpack(data))
        return words[::-1] if point.word_order == "little" else words
    return _bytes_to_words(data, point.word_order)


def bits_of(point: Point, raw: int) -> dict[str, bool]:
    """Alarm/info word -> {bit name: set?}."""
    return {name: bool(int(raw) >> bit & 1) for bit, name in sorted(point.bits.items())}


def check_writable(point: Point, value: Any) -> float | int | bool:
    """``value`` (profile unit) as it may be written to ``point``; ValueError (PermissionError for
    a read-only point) otherwise. Takes anything: it is the check untrusted values go through."""
    if not point.writable:
        raise PermissionError(f"point {point.name!r} is not writable")
    if point.type == "bool":
        if not isinstance(value, (bool, int)) or value not in (0, 1):
            raise ValueError(f"point {point.name!r} takes true/false, got {value!r}")
        return bool(value) if isinstance(value, bool) else int(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"point {point.name!r} takes a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"point {point.name!r}: {value!r} is not a finite number")
    if (point.min is not None and v < point.min) or (point.max is not None and v > point.max):
        raise ValueError(f"point {point.name!r}: {v:g} {point.unit} outside "
                         f"{point.min:g}..{point.max:g} {point.unit}")
    if point.enum and int(v) not in point.enum:
        raise ValueError(f"point {point.name!r}: {v:g} is not one of {sorted(point.enum)}")
    return value if isinstance(value, (int, float)) else v


# ---------------------------------------------------------------- block planning
@dataclasses.dataclass(frozen=True, slots=True)
class Block:
    """One read request covering several points."""

    table: str
    address: int
    count: int
    points: tuple[Point, ...]


def plan_blocks(profile: Profile, include_identity: bool = False) -> list[Block]:
    """Group points into as few reads as the Modbus limits allow (125 registers, 2000 bits),
    bridging gaps of up to ``profile.max_gap`` registers."""
    blocks: list[Block] = []
    for table in TABLES:
        limit = 125 if table in REGISTER_TABLES else 2000
        gap = profile.max_gap if table in REGISTER_TABLES else profile.max_gap * 16
        current: list[Point] = []
        for p in profile.in_table(table):
            if p.identity and not include_identity:
                continue
            if current:
                start = current[0].address
                if p.address - current[-1].end > gap or p.end - start > limit:
                    blocks.append(_block(table, current))
                    current = []
            current.append(p)
        if current:
            blocks.append(_block(table, current))
    return blocks


def _block(table: str, points: list[Point]) -> Block:
    start = points[0].address
    end = max(p.end for p in points)
    return Block(table, start, end - start, tuple(points))


# ---------------------------------------------------------------- water properties
def water_density(t_c: float) -> float:
    """kg/m³ of water at ``t_c`` °C (Thiesen/Tanaka-style fit, 0..100 °C, ~0.1 %)."""
    return 1000.0 * (1.0 - (t_c + 288.9414) / (508929.2 * (t_c + 68.12963)) * (t_c - 3.9863) ** 2)


def water_cp(t_c: float) -> float:
    """J/(kg·K) of liquid water at ``t_c`` °C (polynomial fit, 0..100 °C)."""
    return (4217.4 - 3.720283 * t_c + 0.1412855 * t_c ** 2 - 2.654387e-3 * t_c ** 3
            + 2.093236e-5 * t_c ** 4)


def thermal_power_w(flow_lpm: float, supply_c: float, return_c: float) -> float:
    """EN 1434: Q = q_v · ρ · c_p · ΔT, properties at the mean temperature. Positive when the
    supply is warmer than the return (heat delivered)."""
    mean = (supply_c + return_c) / 2.0
    q_m3s = flow_lpm / 60_000.0
    return q_m3s * water_density(mean) * water_cp(mean) * (supply_c - return_c)
