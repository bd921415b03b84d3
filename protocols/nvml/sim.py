"""A simulated ``pynvml`` for the demo: the same calls, units and error classes as the real
binding, answered from a GpuHostView, so NvmlSource runs unchanged against the demo model.

Error classes are pynvml's own (``import pynvml`` works without a driver), so ``except
pynvml.NVMLError_NotSupported`` behaves identically against the real and simulated module.
"""
from __future__ import annotations

import types
import zlib
from collections.abc import Callable
from typing import Any, Protocol

import pynvml

from protocols.demo_views import GpuHostView, GpuView


class GpuPowerControl(Protocol):
    def set_gpu_power_limit(self, host_id: str, gpu_index: int, watts: float) -> None: ...


class _Handle:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class SimulatedNvml:
    """Module-like object; pass it as ``NvmlSource(spec, nvml_module=SimulatedNvml(...))``."""

    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVMLError = pynvml.NVMLError

    def __init__(self, get_view: Callable[[], GpuHostView], control: GpuPowerControl | None = None,
                 nvml_version: str = "12.550.54") -> None:
        self._get_view = get_view
        self._control = control
        self._nvml_version = nvml_version
        self._inits = 0
        self.driver_loaded = True  # the demo can flip this to show the "driver not loaded" state
        for name in dir(pynvml):
            if name.startswith(("NVMLError_", "NVML_ERROR_")):
                setattr(self, name, getattr(pynvml, name))

    # ------------------------------------------------------------ helpers
    def _check(self) -> None:
        if self._inits <= 0:
            raise pynvml.NVMLError_Uninitialized()

    def _gpu(self, handle: _Handle) -> GpuView:
        self._check()
        gpus = self._get_view().gpus
        if not isinstance(handle, _Handle) or not 0 <= handle.index < len(gpus):
            raise pynvml.NVMLError_InvalidArgument()
        return gpus[handle.index]

    # ------------------------------------------------------------ system
    def nvmlInit(self) -> None:  # noqa: N802 - pynvml's names
        if not self.driver_loaded:
            raise pynvml.NVMLError_DriverNotLoaded()
        self._inits += 1

    def nvmlShutdown(self) -> None:  # noqa: N802
        self._check()
        self._inits -= 1

    def nvmlSystemGetDriverVersion(self) -> str:  # noqa: N802
        self._check()
        return self._get_view().driver_version

    def nvmlSystemGetNVMLVersion(self) -> str:  # noqa: N802
        self._check()
        return self._nvml_version

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        self._check()
        return len(self._get_view().gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:  # noqa: N802
        self._check()
        if not 0 <= index < len(self._get_view().gpus):
            raise pynvml.NVMLError_InvalidArgument()
        return _Handle(index)

    # ------------------------------------------------------------ device getters (NVML units)
    def nvmlDeviceGetName(self, h: _Handle) -> str:  # noqa: N802
        return self._gpu(h).name

    def nvmlDeviceGetUUID(self, h: _Handle) -> str:  # noqa: N802
        return self._gpu(h).uuid

    def nvmlDeviceGetSerial(self, h: _Handle) -> str:  # noqa: N802
        """Boards with an inforom (data-centre and workstation) have a 13-digit serial;
        GeForce boards answer NotSupported, as they do on real hardware."""
        g = self._gpu(h)
        if "GeForce" in g.name:
            raise pynvml.NVMLError_NotSupported()
        return f"1{zlib.crc32(g.uuid.encode()) % 10**12:012d}"

    def nvmlDeviceGetVbiosVersion(self, h: _Handle) -> str:  # noqa: N802
        g = self._gpu(h)
        family = zlib.crc32(g.name.encode()) % 0x100  # one VBIOS per board model
        return f"96.00.{family:02X}.00.01"

    def nvmlDeviceGetTemperature(self, h: _Handle, sensor: int) -> int:  # noqa: N802
        if sensor != pynvml.NVML_TEMPERATURE_GPU:
            raise pynvml.NVMLError_InvalidArgument()
        return int(round(self._gpu(h).temperature_c))

    def nvmlDeviceGetPowerUsage(self, h: _Handle) -> int:  # noqa: N802
        return int(round(self._gpu(h).power_w * 1000))

    def nvmlDeviceGetTotalEnergyConsumption(self, h: _Handle) -> int:  # noqa: N802
        return int(self._gpu(h).energy_j * 1000)

    def nvmlDeviceGetNumFans(self, h: _Handle) -> int:  # noqa: N802
        return 0 if self._gpu(h).fan_pct is None else 1

    def nvmlDeviceGetFanSpeed_v2(self, h: _Handle, fan: int) -> int:  # noqa: N802
        g = self._gpu(h)
        if g.fan_pct is None:
            raise pynvml.NVMLError_NotSupported()
        if fan != 0:
            raise pynvml.NVMLError_InvalidArgument()
        return int(round(g.fan_pct))

    def nvmlDeviceGetFanSpeed(self, h: _Handle) -> int:  # noqa: N802
        return self.nvmlDeviceGetFanSpeed_v2(h, 0)

    def nvmlDeviceGetUtilizationRates(self, h: _Handle) -> Any:  # noqa: N802
        g = self._gpu(h)
        # NVML's "memory" utilisation is memory-bus activity, not occupancy: follow the SMs.
        return types.SimpleNamespace(gpu=int(round(g.utilization_pct)),
                                     memory=int(round(g.utilization_pct * 0.6)))

    def nvmlDeviceGetMemoryInfo(self, h: _Handle) -> Any:  # noqa: N802
        g = self._gpu(h)
        return types.SimpleNamespace(total=g.memory_total_b, used=g.memory_used_b,
                                     free=g.memory_total_b - g.memory_used_b)

    def nvmlDeviceGetPowerManagementLimit(self, h: _Handle) -> int:  # noqa: N802
        return int(round(self._gpu(h).power_limit_w * 1000))

    def nvmlDeviceGetEnforcedPowerLimit(self, h: _Handle) -> int:  # noqa: N802
        return self.nvmlDeviceGetPowerManagementLimit(h)

    def nvmlDeviceGetPowerManagementLimitConstraints(self, h: _Handle) -> list[int]:  # noqa: N802
        g = self._gpu(h)
        return [int(round(g.power_limit_min_w * 1000)), int(round(g.power_limit_max_w * 1000))]

    def nvmlDeviceGetPowerManagementDefaultLimit(self, h: _Handle) -> int:  # noqa: N802
        return int(round(self._gpu(h).power_limit_default_w * 1000))

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: _Handle) -> int:  # noqa: N802
        return int(self._gpu(h).throttle_reasons)

    nvmlDeviceGetCurrentClocksThrottleReasons = nvmlDeviceGetCurrentClocksEventReasons

    def nvmlDeviceGetSupportedClocksEventReasons(self, h: _Handle) -> int:  # noqa: N802
        self._gpu(h)
        return 0x1FF

    def nvmlDeviceGetPerformanceState(self, h: _Handle) -> int:  # noqa: N802
        g = self._gpu(h)
        return 0 if g.utilization_pct > 5 else 8

    # ------------------------------------------------------------ control
    def nvmlDeviceSetPowerManagementLimit(self, h: _Handle, limit_mw: int) -> None:  # noqa: N802
        g = self._gpu(h)
        if self._control is None:
            raise pynvml.NVMLError_NoPermission()
        if not g.power_limit_min_w * 1000 <= limit_mw <= g.power_limit_max_w * 1000:
            raise pynvml.NVMLError_InvalidArgument()
        try:
            self._control.set_gpu_power_limit(self._get_view().id, h.index, limit_mw / 1000.0)
        except ValueError:
            raise pynvml.NVMLError_InvalidArgument() from None
