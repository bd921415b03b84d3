"""Modbus TCP client for heat controllers, heat meters and energy valves, driven by a profile.

One connection per device, kept open between polls; points are read in as few block requests
as the map allows. Writes go only to points the profile marks writable, are bounds-checked
before anything is sent, and are read back.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ExceptionResponse

from protocols.base import (
    QUANTITY_UNITS,
    Action,
    ActionRefused,
    ActionResult,
    BadData,
    DeviceSpec,
    Identity,
    Reading,
    SetBypass,
    SetPump,
    SetSetpoint,
    SetValve,
    Unreachable,
    check,
    now,
    refuse,
)
from protocols.modbus.profile import (
    Block,
    Point,
    Profile,
    ProfileError,
    bits_of,
    check_writable,
    decode,
    encode,
    load_profile,
    plan_blocks,
    thermal_power_w,
)

log = logging.getLogger(__name__)

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


class _ExceptionCode(Exception):
    """The device answered a request with a Modbus exception."""

    def __init__(self, code: int, what: str) -> None:
        super().__init__(f"{what}: exception {code} ({EXCEPTION_NAMES.get(code, 'unknown')})")
        self.code = code


def split_address(address: str, default_port: int = 502) -> tuple[str, int]:
    """"host:port" / "host" / "[v6]:port" -> (host, port)."""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if address.count(":") == 1:
        host, port = address.split(":")
        return host, int(port)
    return address, default_port


class ModbusSource:
    """A Modbus TCP device read through a register-map profile.

    ``spec.address`` "host:port"; ``spec.profile`` profile name or TOML path;
    ``spec.options["unit"]`` Modbus device id (defaults to the profile's, usually 1).
    """

    def __init__(self, spec: DeviceSpec, profile: Profile | None = None) -> None:
        self.spec = spec
        self.clock: Callable[[], float] = now  # stamps readings (fast-forward: simulated time)
        if profile is None:
            if not spec.profile:
                raise ProfileError(f"{spec.id}: a modbus device needs a profile")
            profile = load_profile(spec.profile)
        self.profile = profile
        self.host, self.port = split_address(spec.address)
        self.unit = int(spec.options.get("unit", profile.device_id))
        self._blocks = plan_blocks(profile)
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._received = 0  # bytes seen during the current request (garbage detection)

    # ------------------------------------------------------------ errors
    def _unreachable(self, what: str) -> Unreachable:
        return Unreachable(self.spec.id, self.spec.address, what)

    def _bad(self, what: str) -> BadData:
        return BadData(self.spec.id, self.spec.address, what)

    # ------------------------------------------------------------ connection
    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self._received += len(data)
        return data

    async def _connected(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        if self._client is not None:
            self._client.close()
        client = AsyncModbusTcpClient(
            self.host, port=self.port, timeout=self.spec.timeout_s, retries=1,
            reconnect_delay=0, trace_packet=self._trace,
        )
        try:
            ok = await asyncio.wait_for(client.connect(), self.spec.timeout_s + 1.0)
        except (TimeoutError, OSError, ModbusException) as e:
            client.close()
            raise self._unreachable(f"connect failed: {e or type(e).__name__}") from e
        if not ok:
            client.close()
            raise self._unreachable(f"connect to {self.host}:{self.port} refused or timed out "
                                    f"after {self.spec.timeout_s:g}s")
        self._client = client
        return client

    async def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one request; map every failure to a typed DeviceError."""
        client = await self._connected()
        self._received = 0
        try:
            rr = await asyncio.wait_for(fn(client, *args, device_id=self.unit, **kwargs),
                                        self.spec.timeout_s * 2 + 1.0)
        except ConnectionException as e:
            self._drop()
            raise self._unreachable(f"{what}: connection lost ({e})") from e
        except (TimeoutError, ModbusIOException) as e:
            got = self._received
            self._drop()
            if got:
                raise self._bad(f"{what}: {got} bytes received but no valid Modbus response") from e
            raise self._unreachable(f"{what}: no response within {self.spec.timeout_s:g}s") from e
        except ModbusException as e:
            self._drop()
            raise self._bad(f"{what}: {e}") from e
        if isinstance(rr, ExceptionResponse) or rr.isError():
            raise _ExceptionCode(getattr(rr, "exception_code", 0), what)
        return rr

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def close(self) -> None:
        self._drop()

    # ------------------------------------------------------------ reading
    async def _read(self, table: str, address: int, count: int, what: str) -> list[int]:
        """Registers, or bits as 0/1 for coil/discrete tables."""
        if table == "input":
            rr = await self._call(what, AsyncModbusTcpClient.read_input_registers, address, count=count)
            words = list(rr.registers)
        elif table == "holding":
            rr = await self._call(what, AsyncModbusTcpClient.read_holding_registers, address, count=count)
            words = list(rr.registers)
        elif table == "coil":
            rr = await self._call(what, AsyncModbusTcpClient.read_coils, address, count=count)
            words = [int(b) for b in rr.bits]
        else:
            rr = await self._call(what, AsyncModbusTcpClient.read_discrete_inputs, address, count=count)
            words = [int(b) for b in rr.bits]
        if len(words) < count:
            raise self._bad(f"{what}: asked {count} values, got {len(words)}")
        return words[:count]

    async def _read_block(self, block: Block) -> dict[str, list[int]]:
        what = f"read {block.table} {block.address}..{block.address + block.count - 1}"
        try:
            words = await self._read(block.table, block.address, block.count, what)
        except _ExceptionCode as e:
            if e.code != 2 or len(block.points) == 1:
                raise self._bad(str(e)) from None
            # A device that refuses gaps in a block: fall back to one request per point.
            out: dict[str, list[int]] = {}
            for p in block.points:
                out.update(await self._read_block(Block(block.table, p.address, p.count, (p,))))
            return out
        return {p.name: words[p.address - block.address:p.end - block.address] for p in block.points}

    async def read_raw(self) -> dict[str, list[int]]:
        """Registers of every non-identity point, keyed by point name."""
        async with self._lock:
            out: dict[str, list[int]] = {}
            for block in self._blocks:
                out.update(await self._read_block(block))
            return out

    async def read_values(self) -> dict[str, Any]:
        """Engineering values in the profile's units (raw int for bit words)."""
        raw = await self.read_raw()
        return {name: self._decode(self.profile.points[name], words) for name, words in raw.items()}

    def _decode(self, point: Point, words: list[int]) -> Any:
        try:
            return decode(point, words)
        except (ValueError, UnicodeError) as e:
            raise self._bad(f"point {point.name}: {e}") from None

    async def poll(self) -> list[Reading]:
        values = await self.read_values()
        ts = self.clock()
        out: list[Reading] = []
        for name, value in values.items():
            out.extend(self._readings(ts, self.profile.points[name], value))
        t = self.profile.thermal
        if not self.profile.reports_thermal_power and self.profile.can_compute_thermal_power:
            pts = self.profile.points
            supply = pts[t.supply].to_canonical(values[t.supply])
            ret = pts[t.return_].to_canonical(values[t.return_])
            flow = pts[t.flow].to_canonical(values[t.flow])
            out.append(Reading(ts, self.spec.id, t.channel, "thermal_power",
                               thermal_power_w(flow, supply, ret), QUANTITY_UNITS["thermal_power"]))
        return out

    def _readings(self, ts: float, p: Point, value: Any) -> list[Reading]:
        dev = self.spec.id
        if p.bits:
            return [Reading(ts, dev, name, "alarm", "active" if on else "clear", "")
                    for name, on in bits_of(p, int(value)).items()]
        if p.quantity is None:
            return []
        unit = QUANTITY_UNITS[p.quantity] if p.quantity not in ("fan_speed",) else p.canonical_unit
        if p.enum:
            text = p.enum.get(int(value), f"unknown({int(value)})")
            return [Reading(ts, dev, p.channel, p.quantity, text, "")]
        if isinstance(value, bool):
            return [Reading(ts, dev, p.channel, p.quantity, "on" if value else "off", "")]
        if isinstance(value, str):
            return [Reading(ts, dev, p.channel, p.quantity, value, "")]
        return [Reading(ts, dev, p.channel, p.quantity, p.to_canonical(float(value)), unit)]

    async def identity(self) -> dict[str, str]:
        """Model, serial, firmware... (points marked ``identity``), for inventory and audit."""
        pts = [p for p in self.profile.points.values() if p.identity]
        out: dict[str, str] = {}
        async with self._lock:
            for p in pts:
                try:
                    words = await self._read(p.table, p.address, p.count, f"read {p.name}")
                except _ExceptionCode as e:
                    raise self._bad(str(e)) from None
                v = self._decode(p, words)
                out[p.name] = f"{v:g}" if isinstance(v, float) else str(v)
        return out

    async def identify(self) -> Identity:
        """Read Device Identification (43/14) where the profile says the device answers it,
        then the identity registers (model, serial, firmware...), then what the profile file
        declares ([identity]); the first source that gives a field wins. A device refusing an
        object is not a failure: that field stays unknown."""
        async with self._lock:
            mei = await self._device_identification() if self.profile.device_identification else {}
            registers: dict[str, str] = {}
            for p in (p for p in self.profile.points.values() if p.identity):
                try:
                    words = await self._read(p.table, p.address, p.count, f"read {p.name}")
                    v = decode(p, words)
                except (_ExceptionCode, ValueError, UnicodeError):
                    continue
                registers[p.name] = f"{v:g}" if isinstance(v, float) else str(v)
        return identity_from(mei, registers, self.profile.identity)

    async def _device_identification(self) -> dict[int, str]:
        """Objects of the regular category (basic where that is all the device has), following
        "more follows" up to a bound; an exception answer means "not supported": {}."""
        for read_code in (2, 1):  # regular: + VendorUrl, ProductName, ModelName; basic: 0..2
            objects: dict[int, str] = {}
            object_id = 0
            try:
                for _ in range(8):
                    rr = await self._call("read device identification (43/14)",
                                          AsyncModbusTcpClient.read_device_information,
                                          read_code=read_code, object_id=object_id)
                    for oid, raw in dict(rr.information).items():
                        first = raw[0] if isinstance(raw, list) and raw else raw
                        if isinstance(first, (bytes, bytearray)) and isinstance(oid, int):
                            objects.setdefault(oid, bytes(first[:256]).decode("utf-8", "replace"))
                    if not rr.more_follows or rr.next_object_id <= object_id:
                        break
                    object_id = rr.next_object_id
            except _ExceptionCode:
                continue
            return objects
        return {}

    # ------------------------------------------------------------ writing
    def _to_device(self, p: Point, value: Any) -> float | int | bool:
        """A value in canonical units (or enum text) -> the profile unit."""
        if isinstance(value, str):
            rev = {v: k for k, v in p.enum.items()}
            if value in rev:
                return rev[value]
            if p.type == "bool" and value in ("on", "off", "true", "false"):
                return value in ("on", "true")
            try:
                value = float(value)
            except ValueError:
                raise ActionRefused(self.spec.id, self.spec.address,
                                    f"point {p.name}: {value!r} is not a value it takes") from None
        if p.type == "bool":
            return value
        return p.from_canonical(float(value))

    async def perform(self, action: Action) -> ActionResult:
        """A heat controller takes a setpoint (SetSetpoint: a writable point whose quantity is
        "setpoint"), the valve and bypass positions and the pump (the points its profile's
        [actions] names), bounds-checked before anything is sent, then read back."""
        check(self.spec.id, self.spec.address, action)
        if isinstance(action, SetSetpoint):
            p = self.profile.points.get(action.point)
            if p is None:
                raise refuse(self.spec.id, self.spec.address, action,
                             f"profile {self.profile.name} has no point {action.point!r}")
            if not p.writable or p.quantity != "setpoint":
                raise refuse(self.spec.id, self.spec.address, action,
                             f"point {p.name} is not a writable setpoint; nothing sent")
            return await self._write_point(p, float(action.value), action)
        if isinstance(action, (SetValve, SetBypass, SetPump)):
            name = self.profile.actions.get(action.target)
            if name is None:
                raise refuse(self.spec.id, self.spec.address, action,
                             f"profile {self.profile.name} names no {action.target} point ([actions])")
            p = self.profile.point(name)
            if isinstance(action, SetPump):
                value: float | bool | str = action.requested if p.enum else action.on
            else:
                value = float(action.percent)
            return await self._write_point(p, value, action)
        raise refuse(self.spec.id, self.spec.address, action,
                     "a Modbus heat controller here takes SetSetpoint, SetValve, SetBypass and SetPump")

    async def _write_point(self, p: Point, value: float | bool | str, action: Action) -> ActionResult:
        """Write one writable point (value in the unit its readings use), then read it back."""
        name = action.target
        dev_value = self._to_device(p, value)
        try:
            check_writable(p, dev_value)
            words = encode(p, dev_value)
        except (PermissionError, ValueError) as e:
            raise refuse(self.spec.id, self.spec.address, action, f"refused, nothing sent: {e}") from None
        what = f"write {p.name}"
        async with self._lock:
            try:
                if p.table == "coil":
                    await self._call(what, AsyncModbusTcpClient.write_coil, p.address, bool(words[0]))
                elif len(words) == 1:
                    await self._call(what, AsyncModbusTcpClient.write_register, p.address, words[0])
                else:
                    await self._call(what, AsyncModbusTcpClient.write_registers, p.address, words)
            except _ExceptionCode as e:
                return ActionResult(self.spec.id, action.name, name, action.requested, None, False,
                                    f"device refused the write: {e}")
            try:
                back = await self._read(p.table, p.address, p.count, f"read back {p.name}")
            except _ExceptionCode as e:
                return ActionResult(self.spec.id, action.name, name, action.requested, None, False,
                                    f"written, read-back failed: {e}")
        readback = self._decode(p, back)
        ok = _matches(p, dev_value, readback)
        shown: Any = readback
        if p.enum:
            shown = p.enum.get(int(readback), readback)
        elif isinstance(readback, float):
            shown = p.to_canonical(readback)
        msg = "" if ok else f"read back {shown!r}, asked {value!r}"
        return ActionResult(self.spec.id, action.name, name, action.requested, shown, ok, msg)


# Read Device Identification object ids (Modbus application protocol 6.21)
VENDOR_NAME, PRODUCT_CODE, REVISION, VENDOR_URL, PRODUCT_NAME, MODEL_NAME, USER_APP = range(7)
_REGISTER_FIELDS = {"model": "model", "serial": "serial", "serial_number": "serial",
                    "firmware": "firmware", "firmware_version": "firmware"}


def identity_from(mei: dict[int, str], registers: dict[str, str], declared: dict[str, str]) -> Identity:
    """One Identity from the 43/14 objects, the identity registers (by point name) and the
    profile's declared [identity], in that order of precedence."""
    model = mei.get(MODEL_NAME) or mei.get(PRODUCT_CODE)
    extra = [("product_code", mei.get(PRODUCT_CODE) if mei.get(MODEL_NAME) else None),
             ("product_name", mei.get(PRODUCT_NAME)), ("vendor_url", mei.get(VENDOR_URL)),
             ("application", mei.get(USER_APP))]
    from_regs: dict[str, str] = {}
    for name, value in registers.items():
        field = _REGISTER_FIELDS.get(name)
        if field is not None and field not in from_regs:
            from_regs[field] = value
        else:
            extra.append((name, value))
    told = Identity(manufacturer=mei.get(VENDOR_NAME), model=model, firmware=mei.get(REVISION),
                    extra=tuple((k, v) for k, v in extra if v))
    return told.filled_from(_fields(from_regs)).filled_from(_fields(declared))


def _fields(d: dict[str, str]) -> Identity:
    return Identity(manufacturer=d.get("manufacturer"), model=d.get("model"), serial=d.get("serial"),
                    firmware=d.get("firmware"))


def _matches(p: Point, asked: Any, got: Any) -> bool:
    if p.type == "bool" or p.enum:
        return int(bool(asked) if p.type == "bool" else asked) == int(got)
    tol = abs(p.scale) / 2 + 1e-9 if p.type != "float32" else 1e-5 * max(1.0, abs(float(asked)))
    return isinstance(got, (int, float)) and math.isfinite(got) and abs(float(got) - float(asked)) <= tol
