"""The one vocabulary every protocol speaks: readings, failures, actions, sources."""
from __future__ import annotations

import dataclasses
import enum
import time
from typing import Any, Protocol, runtime_checkable

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
@dataclasses.dataclass(frozen=True, slots=True)
class ActionResult:
    """What was asked, what was read back, and whether they match."""

    device_id: str
    action: str  # e.g. "set_power_limit", "outlet_off", "set_point"
    target: str  # channel / point / outlet
    requested: Any
    readback: Any
    ok: bool
    message: str = ""


class ControlState(enum.Enum):
    LOCKED = "locked"
    UNLOCKED = "unlocked"


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


@runtime_checkable
class Source(Protocol):
    """A device as the engine sees it. Every call has its own timeout and is async."""

    spec: DeviceSpec

    async def poll(self) -> list[Reading]:
        """Read everything once. Raises Unreachable, AuthFailed or BadData."""
        ...

    async def close(self) -> None: ...
