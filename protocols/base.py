"""The one vocabulary every protocol speaks: readings, failures, actions, sources."""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, ClassVar, Protocol, runtime_checkable

from protocols.safe_text import printable as _printable
from protocols.safe_text import shown as _shown

# Quantity -> canonical unit (DESIGN.md). Clients convert before they emit.
QUANTITY_UNITS: dict[str, str] = {
    "temperature": "°C",
    "power": "W",
    "apparent_power": "VA",
    "power_factor": "",
    "power_limit": "W",
    "energy": "kWh",
    "thermal_power": "W",
    "thermal_energy": "kWh",
    "flow": "L/min",
    "fan_speed": "RPM",  # or "%" where the device reports percent
    "utilization": "%",
    "memory_used": "B",
    "memory_total": "B",
    "voltage": "V",
    "current": "A",
    "frequency": "Hz",
    "charge": "%",
    "runtime": "s",
    "load": "%",
    "valve_position": "%",
    "setpoint": "°C",
    "pressure": "kPa",
    "state": "",  # enumerated text: online, on_battery, on, off, pump_on, ...
    "alarm": "",  # text of an active alarm, one reading per alarm
    "count": "",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    """One measurement. ``ts`` is UTC epoch seconds; ``value`` None means "no reading"."""

    ts: float
    device_id: str
    channel: str
    quantity: str
    value: float | str | None
    unit: str

    @property
    def series_key(self) -> str:
        return f"{self.device_id}/{self.channel}/{self.quantity}"

    def as_json_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "device": self.device_id,
            "channel": self.channel,
            "quantity": self.quantity,
            "value": self.value,
            "unit": self.unit,
        }


def now() -> float:
    return time.time()


# ---------------------------------------------------------------- failures
class DeviceError(Exception):
    """A device call failed. Message says which device, which address and what failed."""

    def __init__(self, device_id: str, address: str, what: str) -> None:
        super().__init__(f"{device_id} ({address}): {what}")
        self.device_id = device_id
        self.address = address
        self.what = what


class Unreachable(DeviceError):
    """Connection refused, timed out, no route: retry with backoff."""


class AuthFailed(DeviceError):
    """Credentials refused: polling stops until the user fixes them."""


class CertificateChanged(AuthFailed):
    """A pinned TLS certificate changed: the device is blocked until the user re-trusts it."""


class BadData(DeviceError):
    """The device answered with garbage: mark it faulty, keep the rest of the site running."""


class ActionRefused(DeviceError):
    """An action was not sent: out of bounds, control locked, or unsupported."""


# ---------------------------------------------------------------- actions
# One vocabulary of writes. Each is a plain record: it does not validate on construction, so
# that Control (the edge) can take raw values from a user, convert them, and audit a refusal
# with the value as given; a client checks ``problem()`` again before it sends anything.
OUTLET_STATES = ("on", "off", "cycle")


def _real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclasses.dataclass(frozen=True, slots=True)
class Action:
    """A write to equipment. ``name`` is the audit's action, ``target`` the thing written."""

    kind: ClassVar[str] = "action"

    @property
    def name(self) -> str:
        """The audit's action (and ActionResult.action)."""
        return self.kind

    @property
    def target(self) -> str:
        return ""

    @property
    def requested(self) -> Any:
        """The value asked for, as ActionResult.requested and the audit show it."""
        return None

    def problem(self) -> str | None:
        """Why this action is malformed (wrong type, not finite, out of its domain), or None."""
        return None

    def describe(self) -> str:
        return f"{self.name} {self.target}".strip()


@dataclasses.dataclass(frozen=True, slots=True)
class SetPowerLimit(Action):
    """Cap a server's chassis (``gpu`` None, Redfish) or one local GPU by index (NVML)."""

    kind: ClassVar[str] = "set_power_limit"
    watts: float
    gpu: int | None = None

    @property
    def target(self) -> str:
        return "chassis" if self.gpu is None else f"gpu{self.gpu}"

    @property
    def requested(self) -> Any:
        return self.watts

    def problem(self) -> str | None:
        if not _real(self.watts) or self.watts <= 0:
            return f"a power limit is a finite number of watts > 0, not {_shown(self.watts)}"
        if self.gpu is not None and (not isinstance(self.gpu, int) or isinstance(self.gpu, bool)
                                     or self.gpu < 0):
            return f"a GPU index is a whole number >= 0, not {_shown(self.gpu)}"
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class SetOutlet(Action):
    """Switch a PDU outlet (numbered from 1): "on", "off" or "cycle" (off, then on again)."""

    kind: ClassVar[str] = "outlet"
    outlet: int
    state: str

    @property
    def name(self) -> str:
        """outlet_on, outlet_off, outlet_cycle."""
        ok = isinstance(self.state, str) and self.state in OUTLET_STATES
        return f"outlet_{self.state}" if ok else "outlet_command"

    @property
    def target(self) -> str:
        return f"outlet{self.outlet}"

    @property
    def requested(self) -> Any:
        return self.state

    def problem(self) -> str | None:
        if not isinstance(self.outlet, int) or isinstance(self.outlet, bool) or self.outlet < 1:
            return f"an outlet is a whole number >= 1, not {_shown(self.outlet)}"
        if not isinstance(self.state, str) or self.state not in OUTLET_STATES:
            return f"an outlet is switched {', '.join(OUTLET_STATES)}, not {_shown(self.state)}"
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class SetSetpoint(Action):
    """Write a controller setpoint, named as its register-map point (``supply_setpoint``),
    in the unit its readings use (°C)."""

    kind: ClassVar[str] = "set_setpoint"
    point: str
    value: float

    @property
    def target(self) -> str:
        plain = isinstance(self.point, str) and self.point.isprintable() and 0 < len(self.point) <= 80
        return self.point if plain else _shown(self.point)

    @property
    def requested(self) -> Any:
        return self.value

    def problem(self) -> str | None:
        if not isinstance(self.point, str) or not self.point:
            return f"a setpoint is named by its point, not {_shown(self.point)}"
        if not _real(self.value):
            return f"a setpoint is a finite number, not {_shown(self.value)}"
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class _Percent(Action):
    percent: float

    @property
    def requested(self) -> Any:
        return self.percent

    def problem(self) -> str | None:
        if not _real(self.percent) or not 0 <= self.percent <= 100:
            return f"{self.target} position is a number from 0 to 100 %, not {_shown(self.percent)}"
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class SetValve(_Percent):
    """Drive the heat-recovery valve to ``percent`` open."""

    kind: ClassVar[str] = "set_valve"

    @property
    def target(self) -> str:
        return "valve"


@dataclasses.dataclass(frozen=True, slots=True)
class SetBypass(_Percent):
    """Open the bypass (dump) path ``percent``: 0 sends all heat to the useful sink."""

    kind: ClassVar[str] = "set_bypass"

    @property
    def target(self) -> str:
        return "bypass"


@dataclasses.dataclass(frozen=True, slots=True)
class SetPump(Action):
    """Run (True) or stop (False) the loop pump."""

    kind: ClassVar[str] = "set_pump"
    on: bool

    @property
    def target(self) -> str:
        return "pump"

    @property
    def requested(self) -> Any:
        return "on" if self.on is True else "off" if self.on is False else self.on

    def problem(self) -> str | None:
        return None if isinstance(self.on, bool) else f"the pump is on (True) or off (False), not {_shown(self.on)}"


@dataclasses.dataclass(frozen=True, slots=True)
class UpsSelfTest(Action):
    """Start the UPS's battery self-test."""

    kind: ClassVar[str] = "ups_self_test"

    @property
    def target(self) -> str:
        return "ups"

    @property
    def requested(self) -> Any:
        return "start"


ACTIONS: tuple[type[Action], ...] = (SetPowerLimit, SetOutlet, SetSetpoint, SetValve, SetBypass,
                                     SetPump, UpsSelfTest)


def refuse(device_id: str, address: str, action: Action | str, why: str) -> ActionRefused:
    """The one form of a refusal: it names the device (and address), the action and why."""
    what = action.describe() if isinstance(action, Action) else action
    return ActionRefused(device_id, address, f"{what}: {why}")


def check(device_id: str, address: str, action: Any) -> None:
    """Raise ActionRefused for anything that is not a well-formed action; nothing is sent."""
    if not isinstance(action, ACTIONS):
        raise ActionRefused(device_id, address, f"a {type(action).__name__} is not one of the actions "
                                                f"({', '.join(a.__name__ for a in ACTIONS)}); nothing sent")
    why = action.problem()
    if why is not None:
        raise refuse(device_id, address, action, f"{why}; nothing sent")


@dataclasses.dataclass(frozen=True, slots=True)
class ActionResult:
    """What was asked, what was read back, and whether they match."""

    device_id: str
    action: str  # Action.name: "set_power_limit", "outlet_off", "set_setpoint", ...
    target: str  # channel / point / outlet
    requested: Any
    readback: Any
    ok: bool
    message: str = ""


# ---------------------------------------------------------------- devices
@dataclasses.dataclass(frozen=True, slots=True)
class Credentials:
    """Resolved secrets for one device. Never logged, never stored (repr hides them)."""

    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    # SNMP
    community: str | None = dataclasses.field(default=None, repr=False)
    auth_key: str | None = dataclasses.field(default=None, repr=False)
    priv_key: str | None = dataclasses.field(default=None, repr=False)
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceSpec:
    """What a client needs to open a device. Built from the site file or a probe URL."""

    id: str
    kind: str  # server | gpu_host | ups | pdu | heat_controller | heat_meter
    protocol: str  # redfish | snmp | modbus | nvml
    address: str  # host:port ("" for nvml)
    profile: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    credentials: Credentials = dataclasses.field(default_factory=Credentials)
    timeout_s: float = 3.0
    tls: bool = False  # redfish: https
    poll_interval_s: float = 10.0


# ---------------------------------------------------------------- identity
IDENTITY_TEXT_MAX = 128  # characters per field: a model or serial is short; a hostile one is cut
IDENTITY_EXTRA_MAX = 48  # extra entries (an 8-GPU host has 4 per GPU)
IDENTITY_KEY_MAX = 40


def identity_text(value: Any, limit: int = IDENTITY_TEXT_MAX) -> str | None:
    """A device's identity field as bounded, printable text; None when it says nothing.

    The device is untrusted: a 1 MB string is cut before anything else looks at it, control
    characters and terminal escapes are shown escaped, padding is stripped (UPS agents pad
    models with spaces), and NUL-terminated fixed-width strings end at the NUL."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value[:limit * 4]).decode("utf-8", "replace")
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = f"{value:g}"
    elif isinstance(value, int):
        if abs(value) >= 10**limit:  # str() of a huge int is slow, then raises past 4300 digits
            return None
        value = str(value)
    elif not isinstance(value, str):
        return None
    text = value[:limit * 4].split("\x00", 1)[0].strip()
    return _printable(text, limit) or None


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """What a device says it is: maker, model, serial, firmware, plus protocol-specific extras
    (``(("bios_version", "P79 v1.45"), ("gpu0_uuid", "GPU-..."))``). Every field is optional
    and sanitised on construction (identity_text), so nothing a device sends reaches a label,
    a log line or a terminal unbounded. ``firmware`` is the device's own management firmware
    (a BMC's, a network card's, a GPU host's driver)."""

    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    FIELDS: ClassVar[tuple[str, ...]] = ("manufacturer", "model", "serial", "firmware")

    def __post_init__(self) -> None:
        for name in self.FIELDS:
            object.__setattr__(self, name, identity_text(getattr(self, name)))
        pairs = self.extra.items() if isinstance(self.extra, dict) else self.extra
        extra: dict[str, str] = {}
        for pair in pairs or ():
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                continue
            key, value = identity_text(pair[0], IDENTITY_KEY_MAX), identity_text(pair[1])
            if key and value and key not in extra and len(extra) < IDENTITY_EXTRA_MAX:
                extra[key] = value
        object.__setattr__(self, "extra", tuple(extra.items()))

    @property
    def empty(self) -> bool:
        return not self.extra and all(getattr(self, f) is None for f in self.FIELDS)

    def items(self) -> list[tuple[str, str]]:
        """Every known field in display order: the four main ones, then the extras."""
        main = [(f, getattr(self, f)) for f in self.FIELDS if getattr(self, f) is not None]
        return main + list(self.extra)

    def get(self, key: str) -> str | None:
        if key in self.FIELDS:
            return getattr(self, key)
        return dict(self.extra).get(key)

    def filled_from(self, other: Identity) -> Identity:
        """This identity, its missing fields taken from ``other`` (a lesser source)."""
        extra = dict(other.extra)
        extra.update(self.extra)
        return Identity(manufacturer=self.manufacturer or other.manufacturer, model=self.model or other.model,
                        serial=self.serial or other.serial, firmware=self.firmware or other.firmware,
                        extra=tuple(extra.items()))

    def as_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {f: getattr(self, f) for f in self.FIELDS}
        out["extra"] = dict(self.extra)
        return out


@runtime_checkable
class Source(Protocol):
    """A device as the engine sees it. Every call has its own timeout and is async."""

    spec: DeviceSpec

    async def poll(self) -> list[Reading]:
        """Read everything once. Raises Unreachable, AuthFailed or BadData."""
        ...

    async def perform(self, action: Action) -> ActionResult:
        """Carry out one action and read it back; an action this device does not do (or a
        malformed one) raises ActionRefused naming the device and the action, nothing sent."""
        ...

    async def identify(self) -> Identity:
        """What the device says it is (model, serial, firmware), read when asked: the engine
        asks once after the first good poll and again after each reconnect, never per poll.
        A device with no such data gives an empty Identity; a transport failure raises the
        usual DeviceError."""
        ...

    async def close(self) -> None: ...
