"""A profile-driven Modbus TCP server: the demo site's heat controller (and a test peer).

It serves whatever ``get_points()`` returns at the moment of each request, encoded with the
same profile the client reads, and forwards writes of writable points to ``on_write``. Built
on pymodbus' v4-forward SimDevice datastore (the older ModbusDeviceContext is deprecated).
A write to a read-only or unknown point answers exception 2 (illegal data address); an
out-of-range value, or one ``on_write`` rejects with ValueError, answers exception 3.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from pymodbus.constants import ExcCodes
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from protocols.demo_views import DemoControl, HeatControllerView
from protocols.modbus.profile import (
    BIT_TABLES,
    Point,
    Profile,
    check_writable,
    decode,
    encode,
    load_profile,
)

log = logging.getLogger(__name__)

PointValue = float | int | bool | str
# function code -> profile table
FC_TABLE = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 4: "input",
            3: "holding", 6: "holding", 16: "holding", 22: "holding", 23: "holding"}
TABLE_ORDER = ("coil", "discrete", "holding", "input")  # SimDevice tuple order


class HeatControllerServer:
    """Serve ``get_points()`` (point name -> value in the profile's units) over Modbus TCP.

    Bit-word points (``bits``) take either an int under their own name or one bool per bit
    name (``{"pump_fault": True, ...}``). Missing points read as 0.
    """

    def __init__(self, profile: Profile | str | Path,
                 get_points: Callable[[], Mapping[str, PointValue]],
                 on_write: Callable[[str, float | int | bool], None],
                 host: str = "127.0.0.1", port: int = 0, device_id: int | None = None,
                 identification: Mapping[str, str] | None = None) -> None:
        """``identification``: Read Device Identification (43/14) objects by their names
        (VendorName, ProductCode, MajorMinorRevision, ProductName, ModelName, ...). pymodbus
        keeps them in one control block per process, so the last server started answers for all."""
        self.profile = profile if isinstance(profile, Profile) else load_profile(profile)
        self.identification = dict(identification or {})
        self.get_points = get_points
        self.on_write = on_write
        self.host = host
        self.port = port
        self.device_id = self.profile.device_id if device_id is None else device_id
        self._server: ModbusTcpServer | None = None
        self._tables = {t: self.profile.in_table(t) for t in TABLE_ORDER}
        self._bad_points: set[str] = set()

    @classmethod
    def for_view(cls, get_view: Callable[[], HeatControllerView], control: DemoControl,
                 profile: Profile | str | Path = "heatrack-default", host: str = "127.0.0.1",
                 port: int = 0) -> HeatControllerServer:
        """The demo's wiring: serve ``get_view().points``, forward writes to ``control.heat_write``."""
        def points() -> dict[str, Any]:
            view = get_view()
            return {**view.identity, **view.points}

        return cls(profile, points,
                   lambda name, value: control.heat_write(get_view().id, name, value),
                   host=host, port=port, identification=identification_of(get_view()))

    # ------------------------------------------------------------ life cycle
    def _simdata(self, table: str) -> list[SimData]:
        pts = self._tables[table]
        if table in BIT_TABLES:
            if not pts:
                return [SimData(0, count=16, values=False, datatype=DataType.BITS)]
            start = pts[0].address
            span = max(p.end for p in pts) - start
            return [SimData(start, count=span, values=False, datatype=DataType.BITS)]
        if not pts:
            return [SimData(0, count=1, datatype=DataType.INVALID)]
        start = pts[0].address
        span = max(p.end for p in pts) - start
        return [SimData(start, count=span, values=0, datatype=DataType.REGISTERS)]

    async def start(self) -> int:
        """Listen; returns the bound port."""
        coils, discrete, holding, inputs = (self._simdata(t) for t in TABLE_ORDER)
        device = SimDevice(id=self.device_id, simdata=(coils, discrete, holding, inputs), action=self._action)
        identity = ModbusDeviceIdentification(info_name=self.identification) if self.identification else None
        self._server = ModbusTcpServer(device, address=(self.host, self.port), identity=identity)
        await self._server.serve_forever(background=True)
        server = cast(asyncio.Server, self._server.transport)  # pymodbus listens through asyncio's Server
        self.port = server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    # ------------------------------------------------------------ requests
    async def _action(self, function_code: int, start_address: int, address: int, count: int,
                      current_registers: list[int], set_values: list[int] | list[bool] | None,
                      ) -> ExcCodes | None:
        table = FC_TABLE.get(function_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        try:
            values = dict(self.get_points())
        except Exception:  # the model failing is a device failure, not a server crash
            log.exception("heat controller: get_points failed")
            return ExcCodes.DEVICE_FAILURE
        self._refresh(table, start_address, current_registers, values)
        if set_values is None:
            return None
        return self._write(table, address, list(set_values))

    def _refresh(self, table: str, start: int, regs: list[int], values: Mapping[str, Any]) -> None:
        if table in BIT_TABLES:
            for p in self._tables[table]:
                _set_bit(regs, p.address - start * 16, bool(values.get(p.name, False)))
            return
        for p in self._tables[table]:
            value = _point_value(p, values)
            if value is None:
                continue
            try:
                words = encode(p, value)
            except (ValueError, TypeError) as e:
                if p.name not in self._bad_points:
                    self._bad_points.add(p.name)
                    log.warning("heat controller: cannot encode %s=%r: %s", p.name, value, e)
                continue
            i = p.address - start
            regs[i:i + len(words)] = words

    def _write(self, table: str, address: int, values: list[Any]) -> ExcCodes | None:
        end = address + len(values)
        touched = [p for p in self._tables[table] if p.address < end and p.end > address]
        covered = sum(p.count for p in touched)
        if not touched or covered != len(values):
            return ExcCodes.ILLEGAL_ADDRESS  # gaps, or a point only partly written
        writes: list[tuple[str, float | int | bool]] = []
        for p in touched:
            if not p.writable or p.address < address or p.end > end:
                return ExcCodes.ILLEGAL_ADDRESS
            words = [int(v) for v in values[p.address - address:p.end - address]]
            try:
                value = check_writable(p, decode(p, words))
            except (ValueError, PermissionError):
                return ExcCodes.ILLEGAL_VALUE
            writes.append((p.name, value))
        for name, value in writes:
            try:
                self.on_write(name, value)
            except ValueError:
                return ExcCodes.ILLEGAL_VALUE
            except Exception:
                log.exception("heat controller: on_write(%s) failed", name)
                return ExcCodes.DEVICE_FAILURE
        return None


def identification_of(view: HeatControllerView) -> dict[str, str]:
    """The demo controller's 43/14 answer, from the identity its registers also serve."""
    ident = view.identity
    model = str(ident.get("model", "HR-DEMO1"))
    fw = ident.get("firmware_version")
    return {"VendorName": "heatrack", "ProductCode": model,
            "MajorMinorRevision": f"{fw:.2f}" if isinstance(fw, float) else str(fw or "1.00"),
            "ProductName": "heatrack reference heat-reuse controller", "ModelName": model}


def _point_value(p: Point, values: Mapping[str, Any]) -> PointValue | None:
    if p.name in values:
        return values[p.name]
    if p.bits and any(name in values for name in p.bits.values()):
        return sum(1 << bit for bit, name in p.bits.items() if values.get(name))
    return None


def _set_bit(regs: list[int], bit: int, on: bool) -> None:
    reg, pos = divmod(bit, 16)
    if on:
        regs[reg] |= 1 << pos
    else:
        regs[reg] &= ~(1 << pos) & 0xFFFF
