"""SNMP device profiles: what to read and how to decode it, as data (resources/profiles/snmp/*.toml).

A profile lists match rules (sysObjectID prefixes, probe OIDs that must answer), scalars and
table columns with their quantity, scale and channel, alarm tables and the SET recipes of
actions. The decoder (protocols.snmp.decode) is generic: adding a vendor means adding a file.
"""
from __future__ import annotations

import dataclasses
import functools
import tomllib
from pathlib import Path
from typing import Any

from protocols.base import QUANTITY_UNITS
from protocols.resources import resources_dir

PROFILE_DIR = resources_dir() / "profiles" / "snmp"

# SET value types a profile may name.
VALUE_TYPES = ("int", "oid", "string", "gauge", "unsigned")
# [identity] keys: the four Identity fields, then extras a device page shows as they are named.
IDENTITY_KEYS = ("manufacturer", "model", "serial", "firmware", "name", "agent_firmware",
                 "manufacture_date", "hardware_revision")


class ProfileError(ValueError):
    """A profile file is malformed: a bug in resources/, reported with the file name."""


def _oid(text: str, where: str) -> str:
    text = str(text).strip().lstrip(".")
    parts = text.replace("{", ".").replace("}", ".").split(".")
    if not text or not all(p.isdigit() or p.isidentifier() or p == "" for p in parts):
        raise ProfileError(f"{where}: bad OID {text!r}")
    return text


def _enum(raw: dict[str, Any] | None, where: str) -> dict[int, str] | None:
    if raw is None:
        return None
    try:
        return {int(k): str(v) for k, v in raw.items()}
    except ValueError as exc:
        raise ProfileError(f"{where}: enum keys must be integers") from exc


@dataclasses.dataclass(frozen=True, slots=True)
class ValueSpec:
    """How to turn one raw SNMP value into a Reading value.

    value = raw * scale (then / 10**digits where a digits column is named); ``invalid`` raw
    values mean "no reading"; outside ``range`` the ``alt_scales`` are tried in turn (a device
    reporting 0.1 V where the MIB says V), and a value that fits none is dropped as implausible.
    """

    name: str
    quantity: str
    channel: str
    scale: float = 1.0
    invalid: tuple[int, ...] = ()
    range: tuple[float, float] | None = None
    alt_scales: tuple[float, ...] = ()
    enum: dict[int, str] | None = None
    enum_default: str = "unknown"
    alarms: dict[int, str] | None = None  # raw value -> UPS-MIB well-known alarm name
    type: str = "number"  # number | text

    @property
    def unit(self) -> str:
        return QUANTITY_UNITS[self.quantity]


@dataclasses.dataclass(frozen=True, slots=True)
class ScalarSpec:
    oid: str
    value: ValueSpec


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One table column. ``index`` names the parts of the row index (``["unit", "outlet"]``);
    ``where`` keeps only rows whose named parts equal the given numbers; ``channel`` may use
    the names (``outlet{outlet}``). ``total`` adds one aggregate reading over the kept rows."""

    oid: str
    index: tuple[str, ...]
    value: ValueSpec
    where: dict[str, int] = dataclasses.field(default_factory=dict)
    digits: str | None = None  # column giving decimal digits for the same index (Raritan)
    total: str | None = None  # sum | mean | max
    total_channel: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AlarmTable:
    """UPS-MIB style alarm table: a column whose values are OIDs naming well-known alarms."""

    column: str
    well_known_prefix: str
    names: dict[int, str]
    channel: str = "ups"


@dataclasses.dataclass(frozen=True, slots=True)
class AlarmState:
    """A state reading derived from the active alarms (battery health from BatteryBad)."""

    channel: str
    when_any: tuple[str, ...]
    then: str
    otherwise: str


@dataclasses.dataclass(frozen=True, slots=True)
class ActionSpec:
    """SET ``oid`` = ``value`` (``{outlet}`` in templates), then read ``readback`` until it
    shows one of ``expect``; a state in ``pending`` (or ``pending_oid`` in ``pending_values``)
    means the device accepted the command and is still carrying it out."""

    name: str
    oid: str
    value: int | str
    type: str = "int"
    target: str = "ups"
    readback: str | None = None
    readback_enum: dict[int, str] | None = None
    expect: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    pending_oid: str | None = None
    pending_values: tuple[int, ...] = ()
    tries: int = 3
    delay_s: float = 0.5


@dataclasses.dataclass(frozen=True, slots=True)
class Profile:
    name: str
    kind: str  # ups | pdu
    title: str
    priority: int
    sys_object_ids: tuple[str, ...]
    probes: tuple[str, ...]
    identity: dict[str, str]
    scalars: tuple[ScalarSpec, ...]
    columns: tuple[ColumnSpec, ...]
    alarm_table: AlarmTable | None
    alarm_states: tuple[AlarmState, ...]
    actions: dict[str, ActionSpec]
    source: Path | None = None
    # [identity.fixed]: text the MIB itself implies (PowerNet is APC's), for fields no OID gives
    identity_fixed: dict[str, str] = dataclasses.field(default_factory=dict)

    def matches_sys_object_id(self, sys_object_id: str | None) -> bool:
        if not sys_object_id:
            return False
        oid = sys_object_id.lstrip(".")
        return any(oid == p or oid.startswith(p + ".") for p in self.sys_object_ids)

    def walk_columns(self) -> list[str]:
        """Every column a poll walks, each once, in profile order."""
        seen: dict[str, None] = {}
        for col in self.columns:
            seen.setdefault(col.oid, None)
            if col.digits:
                seen.setdefault(col.digits, None)
        if self.alarm_table:
            seen.setdefault(self.alarm_table.column, None)
        return list(seen)


def _value_spec(raw: dict[str, Any], where: str) -> ValueSpec:
    quantity = raw.get("quantity")
    if quantity not in QUANTITY_UNITS:
        raise ProfileError(f"{where}: unknown quantity {quantity!r}")
    channel = raw.get("channel")
    if not channel or channel != channel.lower():
        raise ProfileError(f"{where}: channel must be short lowercase text, got {channel!r}")
    rng = raw.get("range")
    if rng is not None and (len(rng) != 2 or rng[0] > rng[1]):
        raise ProfileError(f"{where}: range must be [low, high]")
    enum = _enum(raw.get("enum"), where)
    if quantity == "state" and enum is None:
        raise ProfileError(f"{where}: a state needs an enum")
    return ValueSpec(
        name=str(raw.get("name", where)),
        quantity=quantity,
        channel=channel,
        scale=float(raw.get("scale", 1.0)),
        invalid=tuple(int(v) for v in raw.get("invalid", ())),
        range=(float(rng[0]), float(rng[1])) if rng is not None else None,
        alt_scales=tuple(float(s) for s in raw.get("alt_scales", ())),
        enum=enum,
        enum_default=str(raw.get("enum_default", "unknown")),
        alarms=_enum(raw.get("alarms"), where),
        type="text" if enum else "number",
    )


def _action(name: str, raw: dict[str, Any], where: str) -> ActionSpec:
    typ = raw.get("type", "int")
    if typ not in VALUE_TYPES:
        raise ProfileError(f"{where}: action type must be one of {VALUE_TYPES}")
    value = raw["value"]
    return ActionSpec(
        name=name,
        oid=_oid(raw["oid"], where),
        value=int(value) if typ in ("int", "gauge", "unsigned") else str(value),
        type=typ,
        target=str(raw.get("target", "ups")),
        readback=_oid(raw["readback"], where) if "readback" in raw else None,
        readback_enum=_enum(raw.get("readback_enum"), where),
        expect=tuple(str(v) for v in raw.get("expect", ())),
        pending=tuple(str(v) for v in raw.get("pending", ())),
        pending_oid=_oid(raw["pending_oid"], where) if "pending_oid" in raw else None,
        pending_values=tuple(int(v) for v in raw.get("pending_values", ())),
        tries=int(raw.get("tries", 3)),
        delay_s=float(raw.get("delay_s", 0.5)),
    )


def _identity_key(key: str, where: str) -> str:
    if key not in IDENTITY_KEYS:
        raise ProfileError(f"{where}: unknown identity key {key!r} (known: {', '.join(IDENTITY_KEYS)})")
    return key


def _identity_oids(raw: dict[str, Any], label: str) -> dict[str, str]:
    """[identity] key = OID, each key one of IDENTITY_KEYS."""
    if not isinstance(raw, dict):
        raise ProfileError(f"{label}: [identity] must be a table")
    return {_identity_key(k, f"{label} [identity]"): _oid(v, f"{label} [identity] {k}")
            for k, v in raw.items() if k != "fixed"}


def _identity_fixed(raw: dict[str, Any], label: str) -> dict[str, str]:
    """[identity.fixed] key = text: what the MIB implies (PowerNet -> APC), overridden by any OID."""
    fixed = raw.get("fixed", {})
    if not isinstance(fixed, dict) or not all(isinstance(v, str) and v for v in fixed.values()):
        raise ProfileError(f"{label} [identity.fixed]: a table of non-empty text values")
    return {_identity_key(k, f"{label} [identity.fixed]"): v for k, v in fixed.items()}


def parse_profile(data: dict[str, Any], source: Path | None = None) -> Profile:
    """Validate one profile's TOML table; raises ProfileError naming the file and entry."""
    label = source.name if source else data.get("name", "<profile>")
    try:
        name = str(data["name"])
        match = data.get("match", {})
        scalars = tuple(
            ScalarSpec(_oid(s["oid"], f"{label} scalar {i}"), _value_spec(s, f"{label} scalar {s.get('name', i)}"))
            for i, s in enumerate(data.get("scalar", []))
        )
        columns = []
        for i, c in enumerate(data.get("column", [])):
            where = f"{label} column {c.get('name', i)}"
            total = c.get("total")
            if total not in (None, "sum", "mean", "max"):
                raise ProfileError(f"{where}: total must be sum, mean or max")
            index = tuple(str(p) for p in c.get("index", ["row"]))
            columns.append(ColumnSpec(
                oid=_oid(c["oid"], where),
                index=index,
                value=_value_spec(c, where),
                where={str(k): int(v) for k, v in c.get("where", {}).items()},
                digits=_oid(c["digits"], where) if "digits" in c else None,
                total=total,
                total_channel=c.get("total_channel"),
            ))
        alarm_table = None
        if "alarms" in data:
            a = data["alarms"]
            alarm_table = AlarmTable(
                column=_oid(a["column"], f"{label} alarms"),
                well_known_prefix=_oid(a["well_known_prefix"], f"{label} alarms"),
                names=_enum(a["names"], f"{label} alarms") or {},
                channel=str(a.get("channel", "ups")),
            )
        alarm_states = tuple(
            AlarmState(channel=str(s["channel"]), when_any=tuple(s["when_any"]), then=str(s["then"]),
                       otherwise=str(s["else"]))
            for s in data.get("alarm_state", [])
        )
        actions = {k: _action(k, v, f"{label} action {k}") for k, v in data.get("actions", {}).items()}
        return Profile(
            name=name,
            kind=str(data.get("kind", "ups")),
            title=str(data.get("title", name)),
            priority=int(data.get("priority", 0)),
            sys_object_ids=tuple(_oid(o, label) for o in match.get("sys_object_id", [])),
            probes=tuple(_oid(o, label) for o in match.get("probe", [])),
            identity=_identity_oids(data.get("identity", {}), label),
            scalars=scalars,
            columns=tuple(columns),
            alarm_table=alarm_table,
            alarm_states=alarm_states,
            actions=actions,
            source=source,
            identity_fixed=_identity_fixed(data.get("identity", {}), label),
        )
    except (KeyError, TypeError) as exc:
        raise ProfileError(f"{label}: missing or malformed entry: {exc}") from exc


def load_profile_file(path: Path) -> Profile:
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"{path.name}: {exc}") from exc
    return parse_profile(data, path)


@functools.lru_cache(maxsize=4)
def load_profiles(directory: Path = PROFILE_DIR) -> dict[str, Profile]:
    """All profiles of a directory by name (cached: files are read once per process)."""
    profiles: dict[str, Profile] = {}
    for path in sorted(directory.glob("*.toml")):
        prof = load_profile_file(path)
        if prof.name in profiles:
            raise ProfileError(f"{path.name}: duplicate profile name {prof.name!r}")
        profiles[prof.name] = prof
    return profiles
