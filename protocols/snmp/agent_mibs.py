"""MIB content of the demo SNMP agent: UPS-MIB (RFC 1628) and APC PowerNet rPDU2, rendered
from a demo view at request time.

Kept apart from the pysnmp engine plumbing (agent.py) so the OID layout can be read and
tested as plain data: each ``DeviceMib`` turns the current view into ``{oid: value}`` and
offers validators for its few writable objects. Numbers follow the units of the real MIBs
(0.1 V, 0.1 A, 0.01 kW, ...), because heatrack's client must parse those units.
"""
from __future__ import annotations

import functools
import time
import zlib
from collections.abc import Callable, Collection
from typing import Any

from pyasn1.type import univ
from pysnmp.proto import rfc1902
from pysnmp.smi import error as smi_error

from protocols.demo_views import DemoControl, OutletView, PduView, UpsView

Oid = tuple[int, ...]
Value = Any  # a pyasn1 SNMP value (rfc1902.*)
Commit = Callable[[], None]
# A writer checks one SET value and returns the action to run once every varbind checked.
Writer = Callable[[Value, int], Commit]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
UINT32_MAX = 2**32 - 1

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
UPS_MIB = (1, 3, 6, 1, 2, 1, 33)
UPS = UPS_MIB + (1,)
RPDU2 = (1, 3, 6, 1, 4, 1, 318, 1, 1, 26)
APC_AP86XX_SYSOID = (1, 3, 6, 1, 4, 1, 318, 1, 3, 4, 6)

# upsWellKnownAlarms (.6.3.x), RFC 1628
UPS_ALARMS: dict[str, int] = {
    "batterybad": 1, "onbattery": 2, "lowbattery": 3, "depletedbattery": 4, "tempbad": 5,
    "inputbad": 6, "outputbad": 7, "outputoverload": 8, "onbypass": 9, "bypassbad": 10,
    "outputoffasrequested": 11, "upsoffasrequested": 12, "chargerfailed": 13,
    "upsoutputoff": 14, "upssystemoff": 15, "fanfailure": 16, "fusefailure": 17,
    "generalfault": 18, "diagnostictestfailed": 19, "communicationslost": 20,
    "awaitingpower": 21, "shutdownpending": 22, "shutdownimminent": 23, "testinprogress": 24,
}
UPS_ALARM_GENERAL_FAULT = 18
# upsTestId values (.7.7.x)
TEST_NONE, TEST_ABORT, TEST_GENERAL, TEST_QUICK_BATTERY, TEST_DEEP_CALIBRATION = 1, 2, 3, 4, 5
TEST_RESULTS = {"pass": 1, "fail": 3, "in_progress": 5, "none": 6}  # upsTestResultsSummary
TEST_DETAIL = {"pass": "Self-test passed", "fail": "Self-test failed",
               "in_progress": "Self-test in progress", "none": "No test initiated"}

NOMINAL_FREQUENCY_HZ = 50.0  # the demo site is European; output frequency while on battery
# rPDU2 load-state thresholds of the demo 16 A single-phase PDU (APC defaults for such a unit)
PHASE_NEAR_OVERLOAD_A, PHASE_OVERLOAD_A = 13.0, 16.0
OUTLET_NEAR_OVERLOAD_W, OUTLET_OVERLOAD_W = 2000.0, 2500.0
OUTLET_COMMANDS = {1: "on", 2: "off", 3: "reboot"}  # rPDU2OutletSwitchedControlCommand


def _int(x: float, lo: int = INT32_MIN, hi: int = INT32_MAX) -> int:
    return max(lo, min(hi, int(round(x))))


# pyasn1 values are immutable but slow to build (~5 us each, ~500 per PDU snapshot), and
# most values repeat from one request to the next: memoise them.
@functools.lru_cache(maxsize=8192)
def _integer32(v: int) -> rfc1902.Integer32:
    return rfc1902.Integer32(v)


@functools.lru_cache(maxsize=1024)
def text(s: str) -> rfc1902.OctetString:
    return rfc1902.OctetString(s.encode("utf-8")[:255])


def integer(x: float, lo: int = INT32_MIN, hi: int = INT32_MAX) -> rfc1902.Integer32:
    v = int(round(x))  # _int(x, lo, hi), inlined: the demo agent renders ~100 of these a read
    return _integer32(lo if v < lo else hi if v > hi else v)


def gauge(x: float) -> rfc1902.Gauge32:
    return _gauge32(_int(x, 0, UINT32_MAX))


@functools.lru_cache(maxsize=1024)
def _gauge32(v: int) -> rfc1902.Gauge32:
    return rfc1902.Gauge32(v)


@functools.lru_cache(maxsize=1024)
def oid(o: Oid) -> rfc1902.ObjectIdentifier:
    return rfc1902.ObjectIdentifier(o)


class Uptime:
    """sysUpTime and TimeStamp values: hundredths of a second since the agent started."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def ticks(self) -> int:
        return int((time.monotonic() - self._t0) * 100) % (UINT32_MAX + 1)


def require_integer(value: Value, idx: int, name: Oid) -> int:
    """SET values must be INTEGER-typed; anything else is wrongType (RFC 3416 4.2.5)."""
    if not isinstance(value, univ.Integer) or value.tagSet != univ.Integer.tagSet:
        raise smi_error.WrongTypeError(name=name, idx=idx)
    return int(value)


class DeviceMib:
    """Base of one served device: system group plus a device subtree, read from a view."""

    sys_object_id: Oid = ()
    # Subtrees that objects(only=...) renders alone; every served OID lies under exactly one.
    # Empty: the MIB renders only whole.
    parts: tuple[Oid, ...] = ()

    def __init__(self, control: DemoControl, uptime: Uptime) -> None:
        self.control = control
        self.uptime = uptime

    def objects(self, only: Collection[Oid] | None = None) -> dict[Oid, Value]:
        """Every served OID with its value now (order does not matter). ``only``: the parts
        (of ``parts``) a request needs; at least their objects are rendered, with the same
        values, and the state a device keeps between requests moves on as for a whole read."""
        raise NotImplementedError

    def writers(self) -> dict[Oid, Writer]:
        """The writable instances now, each with its validator."""
        return {}

    def system(self, descr: str, name: str) -> dict[Oid, Value]:
        s = SYSTEM
        return {
            s + (1, 0): text(descr),
            s + (2, 0): oid(self.sys_object_id),
            s + (3, 0): rfc1902.TimeTicks(self.uptime.ticks()),
            s + (4, 0): text("heatrack demo site"),
            s + (5, 0): text(name),
            s + (6, 0): text("heatrack demo rack"),
            s + (7, 0): integer(72),  # applications + end-to-end (as real NMCs report)
        }


class UpsMib(DeviceMib):
    """UPS-MIB (RFC 1628). sysObjectID is upsMIB itself, which NUT's snmp-ups and most
    managers treat as "generic RFC 1628 UPS"."""

    sys_object_id = UPS_MIB
    # the system group, then upsIdent, upsBattery, upsInput, upsOutput, upsAlarm, upsTest
    parts = (SYSTEM, *((UPS + (g,)) for g in (1, 2, 3, 4, 6, 7)))

    def __init__(self, view: Callable[[], UpsView], control: DemoControl, uptime: Uptime) -> None:
        super().__init__(control, uptime)
        self.view = view
        self._alarm_rows: dict[int, tuple[int, int]] = {}  # alarm x -> (row id, TimeStamp)
        self._next_alarm_id = 1
        self._was_on_battery = False
        self._line_bads = 0
        self._test_id: Oid = UPS + (7, 7, TEST_NONE)
        self._test_spinlock = 0
        self._test_start = 0
        self._test_elapsed = 0

    def _track(self, v: UpsView) -> None:
        """State a real UPS keeps between requests: alarm rows and their times, line bads."""
        now = self.uptime.ticks()
        present = []
        for name in v.alarms:
            key = name.lower().removeprefix("upsalarm").replace("_", "")
            present.append(UPS_ALARMS.get(key, UPS_ALARM_GENERAL_FAULT))
        for x in list(self._alarm_rows):
            if x not in present:
                del self._alarm_rows[x]
        for x in present:
            if x not in self._alarm_rows:
                self._alarm_rows[x] = (self._next_alarm_id, now)
                self._next_alarm_id = self._next_alarm_id % INT32_MAX + 1
        if v.on_battery and not self._was_on_battery:
            self._line_bads += 1
        self._was_on_battery = v.on_battery
        if v.self_test_result == "in_progress" and self._test_start:
            self._test_elapsed = now - self._test_start

    def objects(self, only: Collection[Oid] | None = None) -> dict[Oid, Value]:
        v = self.view()
        self._track(v)
        u = UPS
        if v.battery_charge_pct <= 0 and v.on_battery:
            battery_status = 4  # batteryDepleted
        else:
            battery_status = 3 if v.low_battery else 2
        if v.on_battery:
            source = 5  # battery
        else:
            source = 3 if v.output_voltage_v > 0 else 2  # normal / none
        if v.output_voltage_v <= 0:
            out_freq = 0.0  # output off: no frequency
        elif not v.on_battery and v.input_frequency_hz > 0:
            out_freq = v.input_frequency_hz
        else:
            out_freq = NOMINAL_FREQUENCY_HZ
        out_current_a = v.output_power_w / v.output_voltage_v if v.output_voltage_v > 0 else 0.0
        batt_current_a = (v.output_power_w / v.battery_voltage_v
                          if v.on_battery and v.battery_voltage_v > 0 else 0.0)
        renderers: dict[Oid, Callable[[], dict[Oid, Value]]] = {
            SYSTEM: lambda: self.system(f"heatrack demo UPS {v.model}", v.id),
            u + (1,): lambda: {  # upsIdent
                u + (1, 1, 0): text("APC"),  # the maker of the model served; sysDescr says it is a demo
                u + (1, 2, 0): text(v.model),
                u + (1, 3, 0): text("UPS 15.5 (ID1030)"),
                u + (1, 4, 0): text("heatrack demo agent 1.0"),
                u + (1, 5, 0): text(v.id),
                u + (1, 6, 0): text("demo rack"),
            },
            u + (2,): lambda: {  # upsBattery
                u + (2, 1, 0): integer(battery_status),
                u + (2, 2, 0): integer(v.seconds_on_battery if v.on_battery else 0, 0),
                u + (2, 3, 0): integer(v.runtime_s / 60, 0),
                u + (2, 4, 0): integer(v.battery_charge_pct, 0, 100),
                u + (2, 5, 0): integer(v.battery_voltage_v * 10, 0),
                u + (2, 6, 0): integer(batt_current_a * 10),
                u + (2, 7, 0): integer(v.battery_temp_c),
            },
            u + (3,): lambda: {  # upsInput
                u + (3, 1, 0): rfc1902.Counter32(self._line_bads % (UINT32_MAX + 1)),
                u + (3, 2, 0): integer(1),
                u + (3, 3, 1, 1, 1): integer(1),
                u + (3, 3, 1, 2, 1): integer(v.input_frequency_hz * 10, 0),
                u + (3, 3, 1, 3, 1): integer(v.input_voltage_v, 0),
            },
            u + (4,): lambda: {  # upsOutput
                u + (4, 1, 0): integer(source),
                u + (4, 2, 0): integer(out_freq * 10, 0),
                u + (4, 3, 0): integer(1),
                u + (4, 4, 1, 1, 1): integer(1),
                u + (4, 4, 1, 2, 1): integer(v.output_voltage_v, 0),
                u + (4, 4, 1, 3, 1): integer(out_current_a * 10, 0),
                u + (4, 4, 1, 4, 1): integer(v.output_power_w, 0),
                u + (4, 4, 1, 5, 1): integer(v.output_load_pct, 0),
            },
            u + (6,): self._alarms,  # upsAlarm
            u + (7,): lambda: {  # upsTest
                u + (7, 1, 0): oid(self._test_id),
                u + (7, 2, 0): integer(self._test_spinlock),
                u + (7, 3, 0): integer(TEST_RESULTS.get(v.self_test_result, 6)),
                u + (7, 4, 0): text(TEST_DETAIL.get(v.self_test_result, v.self_test_result)),
                u + (7, 5, 0): rfc1902.TimeTicks(self._test_start),
                u + (7, 6, 0): integer(self._test_elapsed, 0),
            },
        }
        o: dict[Oid, Value] = {}
        for prefix, render in renderers.items():
            if only is None or prefix in only:
                o.update(render())
        return o

    def _alarms(self) -> dict[Oid, Value]:
        u = UPS
        o: dict[Oid, Value] = {u + (6, 1, 0): gauge(len(self._alarm_rows))}
        for x, (row, since) in self._alarm_rows.items():
            o[u + (6, 2, 1, 1, row)] = integer(row)
            o[u + (6, 2, 1, 2, row)] = oid(u + (6, 3, x))
            o[u + (6, 2, 1, 3, row)] = rfc1902.TimeTicks(since)
        return o

    def writers(self) -> dict[Oid, Writer]:
        return {UPS + (7, 1, 0): self._set_test_id, UPS + (7, 2, 0): self._set_spinlock}

    def _set_spinlock(self, value: Value, idx: int) -> Commit:
        """upsTestSpinLock is a TestAndIncr: a SET must carry the current value."""
        name = UPS + (7, 2, 0)
        if require_integer(value, idx, name) != self._test_spinlock:
            raise smi_error.InconsistentValueError(name=name, idx=idx)

        def commit() -> None:
            self._test_spinlock = (self._test_spinlock + 1) % (INT32_MAX + 1)
        return commit

    def _set_test_id(self, value: Value, idx: int) -> Commit:
        name = UPS + (7, 1, 0)
        if not isinstance(value, univ.ObjectIdentifier) \
                or value.tagSet != univ.ObjectIdentifier.tagSet:
            raise smi_error.WrongTypeError(name=name, idx=idx)
        test = tuple(value)
        if test[:-1] != UPS + (7, 7) or test[-1] not in (
                TEST_GENERAL, TEST_QUICK_BATTERY, TEST_DEEP_CALIBRATION):
            raise smi_error.WrongValueError(name=name, idx=idx)
        ups = self.view()
        if ups.self_test_result == "in_progress":
            raise smi_error.InconsistentValueError(name=name, idx=idx)

        def commit() -> None:
            try:
                self.control.ups_self_test(ups.id)
            except ValueError:
                raise smi_error.WrongValueError(name=name, idx=idx) from None
            self._test_id = test
            self._test_start = self.uptime.ticks()
            self._test_elapsed = 0
        return commit


def _columns(entry: Oid, cells: dict[int, Callable[[OutletView], Value]]
             ) -> dict[Oid, Callable[[OutletView], Value]]:
    return {entry + (c,): cell for c, cell in cells.items()}


def _serial(device_id: str) -> str:
    """A stable APC-style 12-character serial number derived from the device id."""
    return f"ZA{zlib.crc32(device_id.encode()):010d}"[:12]


class PduMib(DeviceMib):
    """APC PowerNet rPDU2 (AP86xx): ident, device, phase, switched and metered outlets."""

    sys_object_id = APC_AP86XX_SYSOID

    def __init__(self, view: Callable[[], PduView], control: DemoControl, uptime: Uptime) -> None:
        super().__init__(control, uptime)
        self.view = view
        self._peak_w = 0.0
        self._outlet_peak_w: dict[int, float] = {}
        self._cells = self._outlet_cells()

    @staticmethod
    def _outlets(v: PduView) -> list[OutletView]:
        return sorted(v.outlets, key=lambda x: x.number)

    # the system group, rPDU2 ident, device properties, device status, phase status, outlet
    # count, then each column of the switched status, switched control and metered tables
    parts = (SYSTEM, *((RPDU2 + t) for t in ((2, 1), (4, 2), (4, 3), (6, 3), (9, 1))),
             *((RPDU2 + (9, 2, 3, 1, c)) for c in range(1, 7)),
             *((RPDU2 + (9, 2, 4, 1, c)) for c in range(1, 6)),
             *((RPDU2 + (9, 4, 3, 1, c)) for c in (*range(1, 9), 11, 12)))

    def objects(self, only: Collection[Oid] | None = None) -> dict[Oid, Value]:
        v = self.view()
        # State a real PDU keeps between requests, whatever a request reads: peak power.
        self._peak_w = max(self._peak_w, v.power_w)
        outlets = self._outlets(v)
        peaks = self._outlet_peak_w
        for x in outlets:
            peaks[x.number] = max(peaks.get(x.number, 0.0), x.power_w)
        o: dict[Oid, Value] = {}
        for prefix, render in self._renderers(v, outlets).items():
            if only is None or prefix in only:
                o.update(render())
        for col, cell in self._cells.items():  # each column of the outlet tables
            if only is None or col in only:
                o.update({col + (x.number,): cell(x) for x in outlets})
        return o

    def _renderers(self, v: PduView, outlets: list[OutletView]) -> dict[Oid, Callable[[], dict[Oid, Value]]]:
        """One renderer per part before the outlet tables, each giving that part's objects."""
        p = RPDU2
        phase_state = (4 if v.current_a >= PHASE_OVERLOAD_A else
                       3 if v.current_a >= PHASE_NEAR_OVERLOAD_A else 2)
        n_out = len(outlets)
        out: dict[Oid, Callable[[], dict[Oid, Value]]] = {
            SYSTEM: lambda: self.system(f"APC Web/SNMP Management Card (heatrack demo) PN:{v.model}", v.id),
            # rPDU2IdentTable, row 1
            p + (2, 1): lambda: {
                p + (2, 1, 1, 1): integer(1),
                p + (2, 1, 2, 1): integer(1),
                p + (2, 1, 3, 1): text(v.id),
                p + (2, 1, 4, 1): text("heatrack demo rack"),
                p + (2, 1, 6, 1): text("6.7.2"),
                p + (2, 1, 8, 1): text(v.model),
                p + (2, 1, 9, 1): text(_serial(v.id)),
            },
            # rPDU2DevicePropertiesTable
            p + (4, 2): lambda: {
                p + (4, 2, 1, 1, 1): integer(1),
                p + (4, 2, 1, 2, 1): integer(1),
                p + (4, 2, 1, 3, 1): text(v.id),
                p + (4, 2, 1, 4, 1): integer(n_out),
                p + (4, 2, 1, 5, 1): integer(n_out),
                p + (4, 2, 1, 6, 1): integer(n_out),
                p + (4, 2, 1, 7, 1): integer(1),
            },
            # rPDU2DeviceStatusTable: power 0.01 kW, energy 0.1 kWh
            p + (4, 3): lambda: {
                p + (4, 3, 1, 1, 1): integer(1),
                p + (4, 3, 1, 2, 1): integer(1),
                p + (4, 3, 1, 3, 1): text(v.id),
                p + (4, 3, 1, 4, 1): integer(phase_state),
                p + (4, 3, 1, 5, 1): integer(v.power_w / 10, 0),
                p + (4, 3, 1, 6, 1): integer(self._peak_w / 10, 0),
                p + (4, 3, 1, 9, 1): integer(v.energy_kwh * 10, 0),
            },
            # rPDU2PhaseStatusTable, phase 1: current 0.1 A, voltage V, power 0.01 kW
            p + (6, 3): lambda: {
                p + (6, 3, 1, 1, 1): integer(1),
                p + (6, 3, 1, 2, 1): integer(1),
                p + (6, 3, 1, 3, 1): integer(1),
                p + (6, 3, 1, 4, 1): integer(phase_state),
                p + (6, 3, 1, 5, 1): integer(v.current_a * 10, 0),
                p + (6, 3, 1, 6, 1): integer(v.voltage_v, 0),
                p + (6, 3, 1, 7, 1): integer(v.power_w / 10, 0),
            },
            # rPDU2OutletSwitchedInfo count
            p + (9, 1): lambda: {p + (9, 1, 0): integer(n_out)},
        }
        return out

    def _outlet_cells(self) -> dict[Oid, Callable[[OutletView], Value]]:
        """Each column of the outlet tables (in ``parts`` order): an outlet's value in it."""
        p = RPDU2
        peaks = self._outlet_peak_w
        return {
            # rPDU2OutletSwitchedStatusTable
            **_columns(p + (9, 2, 3, 1), {
                1: lambda x: integer(x.number), 2: lambda x: integer(1), 3: lambda x: text(x.name),
                4: lambda x: integer(x.number), 5: lambda x: integer(2 if x.on else 1),
                6: lambda x: integer(2),  # CommandPending: no (the demo model acts at once)
            }),
            # rPDU2OutletSwitchedControlTable: reads 1 immediateOn / 2 immediateOff
            **_columns(p + (9, 2, 4, 1), {
                1: lambda x: integer(x.number), 2: lambda x: integer(1), 3: lambda x: text(x.name),
                4: lambda x: integer(x.number), 5: lambda x: integer(1 if x.on else 2),
            }),
            # rPDU2OutletMeteredStatusTable: current 0.1 A, power W, energy 0.1 kWh
            **_columns(p + (9, 4, 3, 1), {
                1: lambda x: integer(x.number), 2: lambda x: integer(1), 3: lambda x: text(x.name),
                4: lambda x: integer(x.number),
                5: lambda x: integer(4 if x.power_w >= OUTLET_OVERLOAD_W else
                                     3 if x.power_w >= OUTLET_NEAR_OVERLOAD_W else 2),
                6: lambda x: integer(x.current_a * 10, 0), 7: lambda x: integer(x.power_w, 0),
                8: lambda x: integer(peaks[x.number], 0), 11: lambda x: integer(x.energy_kwh * 10, 0),
                12: lambda x: text("C13"),
            }),
        }

    def writers(self) -> dict[Oid, Writer]:
        v = self.view()
        ctl = RPDU2 + (9, 2, 4, 1, 5)
        return {ctl + (x.number,): self._outlet_writer(v.id, x.number) for x in v.outlets}

    def _outlet_writer(self, pdu_id: str, number: int) -> Writer:
        name = RPDU2 + (9, 2, 4, 1, 5, number)

        def check(value: Value, idx: int) -> Commit:
            command = OUTLET_COMMANDS.get(require_integer(value, idx, name))
            if command is None:
                raise smi_error.WrongValueError(name=name, idx=idx)

            def commit() -> None:
                try:
                    self.control.set_outlet(pdu_id, number, command)
                except ValueError:
                    raise smi_error.WrongValueError(name=name, idx=idx) from None
            return commit
        return check
