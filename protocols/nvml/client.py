"""Local GPU telemetry and power capping through NVML (nvidia-ml-py, module ``pynvml``).

All NVML access goes through the module object handed in (real ``pynvml``, the demo's
simulated one, or a test fake). NVML calls block in C, so each sample runs in a worker thread
with a timeout: a hung driver must not stall the engine's loop. A machine without the library,
the driver or a GPU is a normal state, reported with its reason, not a crash.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from typing import Any

from protocols.base import (
    QUANTITY_UNITS,
    Action,
    ActionRefused,
    ActionResult,
    BadData,
    DeviceSpec,
    Identity,
    Reading,
    SetPowerLimit,
    Unreachable,
    check,
    now,
    refuse,
)

log = logging.getLogger(__name__)

# NVML return codes (nvml.h); values, so a fake module needs no constants.
ERR_NOT_SUPPORTED = 3
ERR_NO_PERMISSION = 4
ERR_INVALID_ARGUMENT = 2
ERR_NOT_FOUND = 6
ERR_DRIVER_NOT_LOADED = 9
ERR_LIBRARY_NOT_FOUND = 12
ERR_FUNCTION_NOT_FOUND = 13
ERR_GPU_IS_LOST = 15
ERR_LIB_RM_VERSION_MISMATCH = 18
ERR_NO_DATA = 20
ERR_UNINITIALIZED = 1
OPTIONAL = {ERR_NOT_SUPPORTED, ERR_NO_PERMISSION, ERR_FUNCTION_NOT_FOUND, ERR_NO_DATA, ERR_NOT_FOUND}
FATAL = {ERR_UNINITIALIZED, ERR_DRIVER_NOT_LOADED, ERR_GPU_IS_LOST, ERR_LIB_RM_VERSION_MISMATCH,
         ERR_LIBRARY_NOT_FOUND}
NVML_TEMPERATURE_GPU = 0

# nvmlClocksEventReason* bits (formerly ClocksThrottleReason*)
CLOCK_EVENT_REASONS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal",
    0x40: "hw_thermal",
    0x80: "hw_power_brake",
    0x100: "display_clock",
}


def decode_clock_events(mask: int) -> list[str]:
    """Bitmask -> reason names, lowest bit first; unknown bits as ``bit0x...``."""
    names = [name for bit, name in CLOCK_EVENT_REASONS.items() if mask & bit]
    rest = mask & ~sum(CLOCK_EVENT_REASONS)
    bit = 1
    while rest >= bit:
        if rest & bit:
            names.append(f"bit{bit:#x}")
        bit <<= 1
    return names


def init_failure_reason(err: BaseException) -> str:
    """Why NVML could not start, in words for the UI."""
    value = getattr(err, "value", None)
    if value == ERR_LIBRARY_NOT_FOUND:
        return "NVIDIA driver not installed (libnvidia-ml.so.1 not found)"
    if value == ERR_DRIVER_NOT_LOADED:
        return "NVIDIA driver not loaded"
    if value == ERR_NO_PERMISSION:
        return "no permission to access the GPU"
    if value == ERR_LIB_RM_VERSION_MISMATCH:
        return "NVIDIA driver/library version mismatch (driver upgraded, reboot or reload it)"
    return f"NVML init failed: {err}"


class NvmlUnavailable(Unreachable):
    """No NVML here (no library, no driver, no GPU). ``reason`` says which, for the UI."""

    def __init__(self, device_id: str, address: str, reason: str) -> None:
        super().__init__(device_id, address, f"local GPU telemetry unavailable: {reason}")
        self.reason = reason


@dataclasses.dataclass(slots=True)
class GpuSample:
    """One GPU, canonical units; None where the board does not report the field."""

    index: int
    name: str | None = None
    uuid: str | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    energy_kwh: float | None = None
    fans_pct: list[float] = dataclasses.field(default_factory=list)
    utilization_pct: float | None = None
    memory_utilization_pct: float | None = None
    memory_used_b: int | None = None
    memory_total_b: int | None = None
    power_limit_w: float | None = None
    power_limit_min_w: float | None = None
    power_limit_max_w: float | None = None
    power_limit_default_w: float | None = None
    clock_event_mask: int | None = None
    missing: list[str] = dataclasses.field(default_factory=list)  # fields the board refused

    @property
    def clock_events(self) -> list[str] | None:
        return None if self.clock_event_mask is None else decode_clock_events(self.clock_event_mask)


class NvmlSource:
    """Every GPU visible to the local NVIDIA driver. ``spec.address`` is ignored ("")."""

    def __init__(self, spec: DeviceSpec, nvml_module: Any = None) -> None:
        self.spec = spec
        self._nv = nvml_module
        self._initialised = False
        self._lock = threading.Lock()  # NVML init/shutdown and sampling, one thread at a time
        self.unavailable_reason: str | None = None
        self.driver_version: str | None = None
        self._logged: set[str] = set()

    @property
    def _address(self) -> str:
        return self.spec.address or "local NVML"

    # ------------------------------------------------------------ init
    def _module(self) -> Any:
        if self._nv is None:
            try:
                import pynvml  # nvidia-ml-py; imports fine without a driver
            except ImportError as e:
                raise NvmlUnavailable(self.spec.id, self._address,
                                      f"nvidia-ml-py not installed ({e})") from None
            self._nv = pynvml
        return self._nv

    def _ensure_init(self) -> Any:
        """Initialise NVML once; record and raise the reason when it cannot start."""
        nv = self._module()
        if self._initialised:
            return nv
        try:
            nv.nvmlInit()
        except nv.NVMLError as e:
            self.unavailable_reason = init_failure_reason(e)
            raise NvmlUnavailable(self.spec.id, self._address, self.unavailable_reason) from None
        except OSError as e:  # a broken library install
            self.unavailable_reason = f"NVML library failed to load: {e}"
            raise NvmlUnavailable(self.spec.id, self._address, self.unavailable_reason) from None
        self._initialised = True
        try:
            self.driver_version = _text(nv.nvmlSystemGetDriverVersion())
            count = int(nv.nvmlDeviceGetCount())
        except nv.NVMLError as e:
            self._shutdown()
            self.unavailable_reason = f"NVML started but the driver did not answer: {e}"
            raise NvmlUnavailable(self.spec.id, self._address, self.unavailable_reason) from None
        if count == 0:
            self._shutdown()
            self.unavailable_reason = "no NVIDIA GPU found"
            raise NvmlUnavailable(self.spec.id, self._address, self.unavailable_reason)
        self.unavailable_reason = None
        return nv

    def _shutdown(self) -> None:
        if self._initialised and self._nv is not None:
            try:
                self._nv.nvmlShutdown()
            except Exception as e:  # noqa: BLE001 - shutting down, nothing to save
                log.debug("nvmlShutdown: %s", e)
        self._initialised = False

    def check(self) -> tuple[bool, str]:
        """(available, driver version or the reason it is not), for the UI and the wizard."""
        with self._lock:
            try:
                self._ensure_init()
            except NvmlUnavailable as e:
                return False, e.reason
            return True, self.driver_version or ""

    async def close(self) -> None:
        await asyncio.to_thread(self._close_sync)

    def _close_sync(self) -> None:
        with self._lock:
            self._shutdown()

    # ------------------------------------------------------------ sampling
    def _opt(self, sample: GpuSample, field: str, fn: Any, *args: Any) -> Any:
        """Call one NVML getter; an unsupported field is recorded, not fatal."""
        nv = self._nv
        try:
            return fn(*args)
        except nv.NVMLError as e:
            if e.value in FATAL:
                raise
            sample.missing.append(field)
            if e.value not in OPTIONAL:
                key = f"{sample.index}/{field}/{e.value}"
                if key not in self._logged:
                    self._logged.add(key)
                    log.warning("%s gpu%d %s: %s", self.spec.id, sample.index, field, e)
            return None

    def _sample_gpu(self, nv: Any, i: int) -> GpuSample:
        s = GpuSample(index=i)
        h = nv.nvmlDeviceGetHandleByIndex(i)
        s.name = _text(self._opt(s, "name", nv.nvmlDeviceGetName, h))
        s.uuid = _text(self._opt(s, "uuid", nv.nvmlDeviceGetUUID, h))
        t = self._opt(s, "temperature", nv.nvmlDeviceGetTemperature, h,
                      getattr(nv, "NVML_TEMPERATURE_GPU", NVML_TEMPERATURE_GPU))
        s.temperature_c = _num(t)
        mw = self._opt(s, "power", nv.nvmlDeviceGetPowerUsage, h)
        s.power_w = None if mw is None else _num(mw) / 1000.0
        mj = self._opt(s, "energy", nv.nvmlDeviceGetTotalEnergyConsumption, h)
        s.energy_kwh = None if mj is None else _num(mj) / 3.6e9
        s.fans_pct = self._fans(nv, s, h)
        util = self._opt(s, "utilization", nv.nvmlDeviceGetUtilizationRates, h)
        if util is not None:
            s.utilization_pct = _num(util.gpu)
            s.memory_utilization_pct = _num(util.memory)
        mem = self._opt(s, "memory", nv.nvmlDeviceGetMemoryInfo, h)
        if mem is not None:
            s.memory_used_b, s.memory_total_b = int(mem.used), int(mem.total)
        lim = self._opt(s, "power_limit", nv.nvmlDeviceGetPowerManagementLimit, h)
        s.power_limit_w = None if lim is None else _num(lim) / 1000.0
        cons = self._opt(s, "power_limit_constraints", nv.nvmlDeviceGetPowerManagementLimitConstraints, h)
        if cons is not None:
            lo, hi = cons
            s.power_limit_min_w, s.power_limit_max_w = _num(lo) / 1000.0, _num(hi) / 1000.0
        dflt = self._opt(s, "power_limit_default", nv.nvmlDeviceGetPowerManagementDefaultLimit, h)
        s.power_limit_default_w = None if dflt is None else _num(dflt) / 1000.0
        s.clock_event_mask = self._clock_events(nv, s, h)
        return s

    def _fans(self, nv: Any, s: GpuSample, h: Any) -> list[float]:
        n = self._opt(s, "fans", nv.nvmlDeviceGetNumFans, h) if hasattr(nv, "nvmlDeviceGetNumFans") else None
        if n is None:
            one = self._opt(s, "fan", nv.nvmlDeviceGetFanSpeed, h)
            return [] if one is None else [_num(one)]
        out = []
        for f in range(int(n)):
            v = self._opt(s, f"fan{f}", nv.nvmlDeviceGetFanSpeed_v2, h, f)
            if v is not None:
                out.append(_num(v))
        return out

    def _clock_events(self, nv: Any, s: GpuSample, h: Any) -> int | None:
        fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if fn is None:  # bindings older than the rename
            fn = nv.nvmlDeviceGetCurrentClocksThrottleReasons
        v = self._opt(s, "clock_events", fn, h)
        return None if v is None else int(v)

    def sample_sync(self) -> list[GpuSample]:
        """Blocking: every GPU, once. Raises NvmlUnavailable, Unreachable, BadData."""
        with self._lock:
            nv = self._ensure_init()
            try:
                return [self._sample_gpu(nv, i) for i in range(int(nv.nvmlDeviceGetCount()))]
            except nv.NVMLError as e:
                self._shutdown()  # re-init next time (driver reloaded, GPU back)
                raise Unreachable(self.spec.id, self._address, f"NVML: {e}") from None
            except (TypeError, ValueError, AttributeError) as e:
                raise BadData(self.spec.id, self._address, f"NVML returned garbage: {e}") from None

    async def sample(self) -> list[GpuSample]:
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.sample_sync), self.spec.timeout_s)
        except TimeoutError:
            raise Unreachable(self.spec.id, self._address,
                              f"NVML did not answer within {self.spec.timeout_s:g}s") from None

    async def poll(self) -> list[Reading]:
        return self.readings(await self.sample(), now())

    # ------------------------------------------------------------ identity
    async def identify(self) -> Identity:
        """The driver version (as ``firmware``) and, per GPU, its name, serial, UUID and VBIOS
        as extras (``gpu0_serial``...). A board that has no serial (consumer GPUs answer
        NotSupported) leaves that field out; it is not a failure."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.identify_sync), self.spec.timeout_s)
        except TimeoutError:
            raise Unreachable(self.spec.id, self._address,
                              f"NVML did not answer within {self.spec.timeout_s:g}s") from None

    def identify_sync(self) -> Identity:
        with self._lock:
            nv = self._ensure_init()
            try:
                driver = _text(nv.nvmlSystemGetDriverVersion())
                extra: list[tuple[str, str | None]] = [("nvml_version", self._maybe(nv, "nvmlSystemGetNVMLVersion"))]
                names: list[str] = []
                serials: list[str | None] = []
                for i in range(int(nv.nvmlDeviceGetCount())):
                    h = nv.nvmlDeviceGetHandleByIndex(i)
                    name, serial = self._maybe(nv, "nvmlDeviceGetName", h), self._maybe(nv, "nvmlDeviceGetSerial", h)
                    names.append(name or "unknown GPU")
                    serials.append(serial)
                    extra += [(f"gpu{i}_name", name), (f"gpu{i}_serial", serial),
                              (f"gpu{i}_uuid", self._maybe(nv, "nvmlDeviceGetUUID", h)),
                              (f"gpu{i}_vbios", self._maybe(nv, "nvmlDeviceGetVbiosVersion", h))]
            except nv.NVMLError as e:
                self._shutdown()
                raise Unreachable(self.spec.id, self._address, f"NVML: {e}") from None
        kinds = list(dict.fromkeys(names))
        model = (kinds[0] if len(names) == 1 else f"{len(names)} × {kinds[0]}") if len(kinds) == 1 \
            else ", ".join(kinds)
        return Identity(manufacturer="NVIDIA", model=model, serial=serials[0] if len(serials) == 1 else None,
                        firmware=driver, extra=tuple((k, v) for k, v in extra if v is not None))

    def _maybe(self, nv: Any, fn_name: str, *args: Any) -> str | None:
        """One identity getter: None where the board or the binding does not have it."""
        fn = getattr(nv, fn_name, None)
        if fn is None:
            return None
        try:
            return _text(fn(*args))
        except nv.NVMLError as e:
            if e.value in FATAL:
                raise
            if e.value not in OPTIONAL:
                log.debug("%s %s: %s", self.spec.id, fn_name, e)
            return None

    def readings(self, samples: list[GpuSample], ts: float) -> list[Reading]:
        out: list[Reading] = []
        dev = self.spec.id

        def add(channel: str, quantity: str, value: float | str | None, unit: str | None = None) -> None:
            if value is not None:
                out.append(Reading(ts, dev, channel, quantity, value,
                                   QUANTITY_UNITS[quantity] if unit is None else unit))

        for s in samples:
            ch = f"gpu{s.index}"
            add(ch, "temperature", s.temperature_c)
            add(ch, "power", s.power_w)
            add(ch, "energy", s.energy_kwh)
            add(ch, "utilization", s.utilization_pct)
            add(f"{ch}_mem", "utilization", s.memory_utilization_pct)
            add(ch, "memory_used", s.memory_used_b)
            add(ch, "memory_total", s.memory_total_b)
            add(ch, "power_limit", s.power_limit_w)
            add(f"{ch}_limit_min", "power_limit", s.power_limit_min_w)
            add(f"{ch}_limit_max", "power_limit", s.power_limit_max_w)
            add(f"{ch}_limit_default", "power_limit", s.power_limit_default_w)
            for f, pct in enumerate(s.fans_pct):
                add(f"{ch}_fan{f}", "fan_speed", pct, "%")
            events = s.clock_events
            if events is not None:
                add(f"{ch}_clocks", "state", ",".join(events) if events else "none")
        return out

    # ------------------------------------------------------------ actions
    async def perform(self, action: Action) -> ActionResult:
        """NVML takes one action: cap one GPU (SetPowerLimit with its index, watts within its
        constraints), then read the limit back. Anything else is refused, nothing sent."""
        check(self.spec.id, self._address, action)
        if not isinstance(action, SetPowerLimit):
            raise refuse(self.spec.id, self._address, action,
                         "NVML takes only a GPU power limit (SetPowerLimit with a GPU index)")
        if action.gpu is None:
            raise refuse(self.spec.id, self._address, action,
                         "name the GPU to cap (gpu=0, 1, ...); a server's cap goes through its BMC")
        return await asyncio.wait_for(
            asyncio.to_thread(self._set_power_limit_sync, action.gpu, float(action.watts)),
            self.spec.timeout_s)

    def _set_power_limit_sync(self, gpu_index: int, watts: float) -> ActionResult:
        refuse = lambda what: ActionRefused(self.spec.id, self._address, what)  # noqa: E731
        with self._lock:
            nv = self._ensure_init()
            count = int(nv.nvmlDeviceGetCount())
            if not 0 <= gpu_index < count:
                raise refuse(f"gpu{gpu_index}: no such GPU (have {count})")
            h = nv.nvmlDeviceGetHandleByIndex(gpu_index)
            try:
                lo, hi = nv.nvmlDeviceGetPowerManagementLimitConstraints(h)
            except nv.NVMLError as e:
                raise refuse(f"gpu{gpu_index}: power limit not adjustable ({e})") from None
            w = float(watts)
            if not lo <= w * 1000 <= hi:  # NaN fails too
                raise refuse(f"gpu{gpu_index}: {watts:g} W outside {lo / 1000:g}..{hi / 1000:g} W, not sent")
            mw = int(round(w * 1000))
            try:
                nv.nvmlDeviceSetPowerManagementLimit(h, mw)
            except nv.NVMLError as e:
                if e.value == ERR_NO_PERMISSION:
                    raise refuse(f"gpu{gpu_index}: setting the power limit needs root ({e})") from None
                if e.value in (ERR_NOT_SUPPORTED, ERR_INVALID_ARGUMENT):
                    raise refuse(f"gpu{gpu_index}: driver refused {watts:g} W ({e})") from None
                raise Unreachable(self.spec.id, self._address, f"gpu{gpu_index}: set power limit: {e}") from None
            try:
                back_w = float(nv.nvmlDeviceGetPowerManagementLimit(h)) / 1000.0
            except nv.NVMLError as e:
                return ActionResult(self.spec.id, "set_power_limit", f"gpu{gpu_index}", watts, None, False,
                                    f"sent, read-back failed: {e}")
        ok = abs(back_w - float(watts)) < 1.0
        return ActionResult(self.spec.id, "set_power_limit", f"gpu{gpu_index}", watts, back_w, ok,
                            "" if ok else f"read back {back_w:g} W")


def _text(v: Any) -> str | None:
    if v is None:
        return None
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _num(v: Any) -> float:
    f = float(v)
    if f != f:
        raise ValueError("NaN")
    return f
