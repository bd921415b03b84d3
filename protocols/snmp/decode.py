"""Generic SNMP decoding: raw varbind values + a profile -> Readings.

Pure functions (no sockets) so every real-device quirk is unit-testable: integers of any
SNMP type (TimeTicks carrying minutes, Gauge32 where the MIB says INTEGER), -1 sentinels,
gauges in 0.1 units caught by a plausibility range, hex/odd strings, table rows with a stray
``.0``, Raritan decimal digits, and .snmprec recordings with CRLF line endings.
"""
from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pyasn1.type import univ
from pysnmp.proto import rfc1902, rfc1905

from protocols.base import Reading
from protocols.snmp.profiles import ColumnSpec, Profile, ValueSpec

# What a varbind value becomes: int (any integer type), bytes (OctetString), str (OID or
# IpAddress), or None (noSuchObject / noSuchInstance / endOfMibView: the device lacks it).
Raw = int | bytes | str | None

# Index parts that count from 1: a row ``.0`` there is a stray instance suffix, not row 0.
ONE_BASED = frozenset({"line", "outlet", "phase", "row", "input", "inlet", "cord", "sensor_row"})


class DecodeError(ValueError):
    """A value that cannot mean what the profile says (the client raises BadData)."""


# ---------------------------------------------------------------- raw values
def to_raw(value: Any) -> Raw:
    """pysnmp/pyasn1 value -> plain Python, keeping only what decoding needs."""
    convert = _RAW_BY_TYPE.get(type(value))
    if convert is None:
        convert = _RAW_BY_TYPE[type(value)] = _conversion(value)
    return convert(value)


def _conversion(value: Any) -> Callable[[Any], Raw]:
    """How a value of this type becomes Raw. isinstance alone decides, so it is decided once
    per type (a season of fast-forward converts ~20 million values)."""
    if value is None or isinstance(value, (rfc1905.NoSuchObject, rfc1905.NoSuchInstance,
                                           rfc1905.EndOfMibView, univ.Null)):
        return _nothing
    if isinstance(value, (bool,)):
        return int
    if isinstance(value, (int, str, bytes)):
        return _itself
    if isinstance(value, rfc1902.IpAddress):
        return _dotted_quad
    if isinstance(value, univ.ObjectIdentifier):
        return str
    if isinstance(value, univ.OctetString):
        return _octets
    if isinstance(value, univ.Integer):  # Integer32, Gauge32, Counter32/64, TimeTicks, Unsigned32
        return int
    raise DecodeError(f"unsupported SNMP value type {type(value).__name__}")


def _nothing(_: Any) -> None:
    return None


def _itself(value: Any) -> Raw:
    return value


def _dotted_quad(value: Any) -> str:
    return ".".join(str(b) for b in value.asOctets())


def _octets(value: Any) -> bytes:
    return value.asOctets()


_RAW_BY_TYPE: dict[type, Callable[[Any], Raw]] = {}


_HEX = re.compile(r"^(?:0x)?((?:[0-9a-fA-F]{2})+)$")


def to_text(raw: Raw) -> str | None:
    """Octets -> text. Strips NULs and padding; ``0x4541...`` (a hex dump some tools and
    agents hand out instead of the string) is decoded when it yields printable text."""
    if raw is None:
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = raw
    text = text.replace("\x00", "").strip()
    m = _HEX.match(text)
    if m and text.startswith("0x"):
        try:
            decoded = bytes.fromhex(m.group(1)).decode("utf-8").replace("\x00", "").strip()
        except UnicodeDecodeError:
            return text
        if decoded and all(c in string.printable for c in decoded):
            return decoded
    return text


def to_int(raw: Raw, what: str) -> int | None:
    """Any integer-typed value (Integer32, Gauge32, TimeTicks...) or a numeric string."""
    if raw is None:
        return None
    if isinstance(raw, int):
        return raw
    text = to_text(raw) or ""
    try:
        return int(text, 0) if text.lower().startswith("0x") else int(float(text))
    except ValueError:
        raise DecodeError(f"{what}: expected a number, got {text[:40]!r}") from None


def to_number(raw: Raw, what: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, int):
        return float(raw)
    text = to_text(raw) or ""
    try:
        number = float(text)
    except ValueError:
        raise DecodeError(f"{what}: expected a number, got {text[:40]!r}") from None
    if not math.isfinite(number):
        raise DecodeError(f"{what}: not a finite number: {text[:40]!r}")
    return number


# ---------------------------------------------------------------- one value
def decode_value(raw: Raw, spec: ValueSpec, digits: int | None = None) -> float | str | None:
    """Apply a profile's value spec. None = the device has it but gives no usable value."""
    if raw is None:
        return None
    if spec.enum is not None:
        code = to_int(raw, spec.name)
        if code is None or code in spec.invalid:
            return None
        return spec.enum.get(code, spec.enum_default)
    if type(raw) is int and -_EXACT < raw < _EXACT:  # the common case: float(raw) is exact
        if raw in spec.invalid:
            return None
        number = float(raw)
    else:
        number = to_number(raw, spec.name)  # type: ignore[assignment]
        if number is None or (number.is_integer() and int(number) in spec.invalid):
            return None
    divisor = 10.0 ** digits if digits else 1.0
    span = spec.range
    value = round(number * spec.scale / divisor, 6)
    if span is None or span[0] <= value <= span[1]:
        return value
    for scale in spec.alt_scales:
        value = round(number * scale / divisor, 6)
        if span[0] <= value <= span[1]:
            return value
    return None  # implausible at every known scale: no reading rather than a wrong one


_EXACT = 2 ** 53  # integers below this in size convert to float and back unchanged


def alarm_name(oid: str, prefix: str, names: Mapping[int, str]) -> str:
    """``upsAlarmDescr`` value (an OID under upsWellKnownAlarms) -> ``OnBattery``."""
    oid = oid.lstrip(".")
    if oid.startswith(prefix + "."):
        tail = oid[len(prefix) + 1:]
        if tail.isdigit() and int(tail) in names:
            return names[int(tail)]
    return f"Alarm({oid})"


# ---------------------------------------------------------------- tables
def split_index(oid: str, column: str) -> tuple[int, ...] | None:
    """The row index of ``oid`` under ``column``, or None when it is not in that column."""
    oid = oid.lstrip(".")
    if not oid.startswith(column + "."):
        return None
    tail = oid[len(column) + 1:]
    try:
        return tuple(int(p) for p in tail.split("."))
    except ValueError:
        return None


def name_index(parts: tuple[int, ...], names: tuple[str, ...]) -> dict[str, int] | None:
    """Name the index parts. Tolerates agents that append a stray ``.0`` to table rows
    (``...4.4.1.2.1.0``) or give a single-row table the scalar instance ``.0``."""
    if len(parts) == len(names) + 1 and parts[-1] == 0:
        parts = parts[:-1]
    if len(parts) != len(names):
        return None
    named = dict(zip(names, parts, strict=True))
    if len(names) == 1 and names[0] in ONE_BASED and parts == (0,):
        named[names[0]] = 1
    return named


def _aggregate(kind: str, values: list[float]) -> float:
    if kind == "sum":
        return round(sum(values), 6)
    if kind == "max":
        return max(values)
    return round(sum(values) / len(values), 6)


def decode_column(col: ColumnSpec, rows: Mapping[tuple[int, ...], Raw],
                  digits_rows: Mapping[tuple[int, ...], Raw] | None,
                  ) -> list[tuple[str, float | str | None]]:
    """(channel, value) for every kept row of a column, plus the total when asked."""
    out: list[tuple[str, float | str | None]] = []
    numbers: list[float] = []
    # Rows seen with a stray .0 and without it collapse onto one channel; the clean one wins.
    ordered = sorted(rows.items(), key=lambda kv: (len(kv[0]) != len(col.index), kv[0]))
    seen: set[str] = set()
    for parts, raw in ordered:
        named = name_index(parts, col.index)
        if named is None or any(named.get(k) != v for k, v in col.where.items()):
            continue
        try:
            channel = col.value.channel.format(**named)
        except (KeyError, IndexError) as exc:
            raise DecodeError(f"{col.value.name}: channel {col.value.channel!r} needs {exc}") from None
        if channel in seen:
            continue
        seen.add(channel)
        digits = None
        if digits_rows is not None:
            digits = to_int(digits_rows.get(parts), f"{col.value.name} decimal digits")
            if digits is not None and not 0 <= digits <= 9:
                raise DecodeError(f"{col.value.name}: decimal digits {digits} out of range")
        value = decode_value(raw, col.value, digits)
        out.append((channel, value))
        if isinstance(value, float):
            numbers.append(value)
    if col.total and col.total_channel and out:
        out.append((col.total_channel, _aggregate(col.total, numbers) if numbers else None))
    return out


# ---------------------------------------------------------------- row plans
Index = tuple[int, ...]
RowPlan = list[tuple[Index, str]]  # (row index, channel) of each kept row, in decoding order


def row_plan(col: ColumnSpec, indexes: Iterable[Index]) -> RowPlan:
    """Which rows of a column ``decode_column`` keeps and under which channel: it depends on
    the row indexes alone, not on the values. DecodeError where a channel cannot be named."""
    n = len(col.index)
    plan: RowPlan = []
    seen: set[str] = set()
    for parts in sorted(indexes, key=lambda p: (len(p) != n, p)):
        named = name_index(parts, col.index)
        if named is None or any(named.get(k) != v for k, v in col.where.items()):
            continue
        try:
            channel = col.value.channel.format(**named)
        except (KeyError, IndexError) as exc:
            raise DecodeError(f"{col.value.name}: channel {col.value.channel!r} needs {exc}") from None
        if channel not in seen:
            seen.add(channel)
            plan.append((parts, channel))
    return plan


def decode_planned(col: ColumnSpec, plan: RowPlan, rows: Mapping[Index, Raw],
                   digits_rows: Mapping[Index, Raw] | None) -> list[tuple[str, float | str | None]]:
    """``decode_column`` for rows whose indexes gave ``plan``: the same values, in order."""
    out: list[tuple[str, float | str | None]] = []
    numbers: list[float] = []
    spec = col.value
    for parts, channel in plan:
        digits = None
        if digits_rows is not None:
            digits = to_int(digits_rows.get(parts), f"{spec.name} decimal digits")
            if digits is not None and not 0 <= digits <= 9:
                raise DecodeError(f"{spec.name}: decimal digits {digits} out of range")
        value = decode_value(rows[parts], spec, digits)
        out.append((channel, value))
        if isinstance(value, float):
            numbers.append(value)
    if col.total and col.total_channel and out:
        out.append((col.total_channel, _aggregate(col.total, numbers) if numbers else None))
    return out


class Decoder:
    """One profile's decoding, with each column's row plan remembered for the row indexes it
    was made from: a steady poll walks the same rows, so it skips sorting and naming them
    (fast-forward decodes ~260,000 polls a season). Gives exactly ``build_readings``."""

    MAX_PLANS = 8  # per column: row sets seen lately (outlets come and go rarely)

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._plans: list[dict[tuple[Index, ...], RowPlan]] = [{} for _ in profile.columns]

    def readings(self, device_id: str, ts: float, scalars: Mapping[str, Raw],
                 tables: Mapping[str, Mapping[Index, Raw]]) -> list[Reading]:
        return _readings(self.profile, device_id, ts, scalars, tables, self._column)

    def _column(self, i: int, col: ColumnSpec, rows: Mapping[Index, Raw],
                digits_rows: Mapping[Index, Raw] | None) -> list[tuple[str, float | str | None]]:
        plans = self._plans[i]
        shape = tuple(rows)
        plan = plans.get(shape)
        if plan is None:
            try:
                plan = row_plan(col, shape)
            except DecodeError:
                return decode_column(col, rows, digits_rows)  # raises as it would, row by row
            if len(plans) >= self.MAX_PLANS:
                plans.clear()
            plans[shape] = plan
        return decode_planned(col, plan, rows, digits_rows)


def _column_unplanned(_: int, col: ColumnSpec, rows: Mapping[Index, Raw],
                      digits_rows: Mapping[Index, Raw] | None) -> list[tuple[str, float | str | None]]:
    return decode_column(col, rows, digits_rows)


# ---------------------------------------------------------------- whole poll
def build_readings(profile: Profile, device_id: str, ts: float, scalars: Mapping[str, Raw],
                   tables: Mapping[str, Mapping[tuple[int, ...], Raw]]) -> list[Reading]:
    """Readings of one poll. OIDs the device lacks give no reading (nothing to show);
    sentinels and implausible values give a reading whose value is None. When two entries
    give the same series (high-precision and basic OIDs), the first usable one wins."""
    return _readings(profile, device_id, ts, scalars, tables, _column_unplanned)


ColumnDecoder = Callable[[int, ColumnSpec, Mapping[Index, Raw], Mapping[Index, Raw] | None],
                         list[tuple[str, float | str | None]]]


def _readings(profile: Profile, device_id: str, ts: float, scalars: Mapping[str, Raw],
              tables: Mapping[str, Mapping[Index, Raw]], column: ColumnDecoder) -> list[Reading]:
    found: dict[str, Reading] = {}
    alarms: list[str] = []

    def add(channel: str, spec: ValueSpec, value: float | str | None) -> None:
        key = f"{device_id}/{channel}/{spec.quantity}"  # Reading.series_key
        prev = found.get(key)
        if prev is None or (prev.value is None and value is not None):
            found[key] = Reading(ts, device_id, channel, spec.quantity, value, spec.unit)

    for sc in profile.scalars:
        key = sc.oid.lstrip(".")
        if key not in scalars or scalars[key] is None:
            continue
        raw = scalars[key]
        add(sc.value.channel, sc.value, decode_value(raw, sc.value))
        if sc.value.alarms:
            code = to_int(raw, sc.value.name)
            if code in sc.value.alarms:
                alarms.append(sc.value.alarms[code])

    for i, col in enumerate(profile.columns):
        rows = tables.get(col.oid, {})
        digits_rows = tables.get(col.digits, {}) if col.digits else None
        quantity, unit = col.value.quantity, col.value.unit
        for channel, value in column(i, col, rows, digits_rows):  # add(), inlined: ~40 a poll
            key = f"{device_id}/{channel}/{quantity}"
            prev = found.get(key)
            if prev is None or (prev.value is None and value is not None):
                found[key] = Reading(ts, device_id, channel, quantity, value, unit)

    has_alarm_source = profile.alarm_table is not None or any(s.value.alarms for s in profile.scalars)
    if profile.alarm_table is not None:
        at = profile.alarm_table
        for raw in tables.get(at.column, {}).values():
            if raw is None:
                continue
            text = raw if isinstance(raw, str) else to_text(raw) or ""
            alarms.append(alarm_name(text, at.well_known_prefix, at.names))
    alarms = list(dict.fromkeys(alarms))
    readings = list(found.values())
    if has_alarm_source:
        channel = profile.alarm_table.channel if profile.alarm_table else "ups"
        readings += [Reading(ts, device_id, channel, "alarm", name, "") for name in alarms]
        readings.append(Reading(ts, device_id, "alarms", "count", float(len(alarms)), ""))
        for st in profile.alarm_states:
            value = st.then if any(a in st.when_any for a in alarms) else st.otherwise
            readings.append(Reading(ts, device_id, st.channel, "state", value, ""))
    return readings


def tables_from_records(profile: Profile, records: Mapping[str, Raw]
                        ) -> dict[str, dict[tuple[int, ...], Raw]]:
    """What bulk walks of the profile's columns would return from a set of records."""
    tables: dict[str, dict[tuple[int, ...], Raw]] = {c: {} for c in profile.walk_columns()}
    for oid, raw in records.items():
        for col, rows in tables.items():
            idx = split_index(oid, col)
            if idx is not None:
                rows[idx] = raw
    return tables


def decode_records(profile: Profile, device_id: str, ts: float, records: Mapping[str, Raw]
                   ) -> list[Reading]:
    """Readings from a recording or dump instead of a live agent (offline replay)."""
    return build_readings(profile, device_id, ts, records, tables_from_records(profile, records))


# ---------------------------------------------------------------- detection
def choose_profile(profiles: Iterable[Profile], sys_object_id: str | None,
                   answers: Mapping[str, Raw]) -> Profile | None:
    """The profile for a device: among those whose probe OIDs answer, one whose
    sysObjectID prefix matches wins, then the higher priority (vendor over UPS-MIB)."""
    candidates = [p for p in profiles
                  if any(answers.get(o.lstrip(".")) is not None for o in p.probes)]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.matches_sys_object_id(sys_object_id), p.priority))


# ---------------------------------------------------------------- recordings
def parse_snmprec(text: str) -> dict[str, tuple[str, str]]:
    """``OID|TYPE|VALUE`` lines -> {oid: (type, value)}. Tolerates CRLF/CR endings, a BOM,
    ``#`` comments and blank lines (snmpsim-data ships CRLF files)."""
    records: dict[str, tuple[str, str]] = {}
    for line in text.lstrip("\ufeff").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("|", 2)
        if len(parts) != 3:
            continue
        oid, typ, value = parts
        records[oid.strip().lstrip(".")] = (typ.strip(), value)
    return records


def snmprec_raw(typ: str, value: str) -> Raw:
    """One snmprec record -> Raw. Variation modules (``2:numeric|...initial=2``) give their
    ``value=`` or ``initial=`` argument."""
    base, _, module = typ.partition(":")
    if module:
        args = dict(a.split("=", 1) for a in value.split(",") if "=" in a)
        value = args.get("value", args.get("initial", ""))
        if not value:
            return None
    if base == "4x":
        return bytes.fromhex(value)
    if base == "4":
        return value.encode("utf-8")
    if base == "64x":
        return ".".join(str(b) for b in bytes.fromhex(value))
    if base in ("6", "64"):
        return value.lstrip(".")
    if base in ("2", "65", "66", "67", "70"):
        return int(value)
    if base in ("5",):
        return None
    raise DecodeError(f"unknown snmprec type {typ!r}")


def records_raw(records: Mapping[str, tuple[str, str]]) -> dict[str, Raw]:
    return {oid: snmprec_raw(t, v) for oid, (t, v) in records.items()}
