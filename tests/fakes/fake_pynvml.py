"""A small fake ``pynvml``: per-GPU dicts of values (NVML units) or exception instances to raise,
and a record of set-limit calls. Error classes are pynvml's own, so ``except`` clauses behave
exactly as against the real binding."""
from __future__ import annotations

import types
from typing import Any

import pynvml

NVMLError = pynvml.NVMLError
NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU


def gpu(**overrides: Any) -> dict[str, Any]:
    """One healthy data-centre GPU in NVML units (mW, mJ, bytes); override any field."""
    g: dict[str, Any] = {
        "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-00000000-0000-0000-0000-000000000000",
        "temperature": 48, "power_mw": 312_456, "energy_mj": 7_200_000_000,
        "fans": pynvml.NVMLError_NotSupported(),  # passive board
        "utilization": (87, 41), "memory": (85_899_345_920, 42_949_672_960),
        "limit_mw": 700_000, "constraints": (200_000, 700_000), "default_mw": 700_000,
        "clock_events": 0x4,
        "serial": "1654922012345", "vbios": "96.00.74.00.01",
    }
    g.update(overrides)
    return g


class FakeNvml:
    """Module-like; ``NvmlSource(spec, nvml_module=FakeNvml([...]))``."""

    NVMLError = pynvml.NVMLError
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU

    def __init__(self, gpus: list[dict[str, Any]] | None = None, init_error: Exception | None = None,
                 driver: str = "550.54.15") -> None:
        self.gpus = gpus if gpus is not None else [gpu()]
        self.init_error = init_error
        self.driver = driver
        self.inits = 0
        self.set_calls: list[tuple[int, int]] = []
        self.set_error: Exception | None = None
        for name in dir(pynvml):
            if name.startswith(("NVMLError_", "NVML_ERROR_")):
                setattr(self, name, getattr(pynvml, name))

    def _v(self, h: int, key: str) -> Any:
        if self.inits <= 0:
            raise pynvml.NVMLError_Uninitialized()
        v = self.gpus[h][key]
        if isinstance(v, Exception):
            raise v
        return v

    def nvmlInit(self) -> None:  # noqa: N802
        if self.init_error is not None:
            raise self.init_error
        self.inits += 1

    def nvmlShutdown(self) -> None:  # noqa: N802
        self.inits -= 1

    def nvmlSystemGetDriverVersion(self) -> str:  # noqa: N802
        return self.driver

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:  # noqa: N802
        return i

    def nvmlDeviceGetName(self, h: int) -> str:  # noqa: N802
        return self._v(h, "name")

    def nvmlDeviceGetUUID(self, h: int) -> str:  # noqa: N802
        return self._v(h, "uuid")

    def nvmlDeviceGetSerial(self, h: int) -> str:  # noqa: N802
        return self._v(h, "serial")

    def nvmlDeviceGetVbiosVersion(self, h: int) -> str:  # noqa: N802
        return self._v(h, "vbios")

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:  # noqa: N802
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        return self._v(h, "temperature")

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:  # noqa: N802
        return self._v(h, "power_mw")

    def nvmlDeviceGetTotalEnergyConsumption(self, h: int) -> int:  # noqa: N802
        return self._v(h, "energy_mj")

    def nvmlDeviceGetNumFans(self, h: int) -> int:  # noqa: N802
        return len(self._v(h, "fans"))

    def nvmlDeviceGetFanSpeed_v2(self, h: int, fan: int) -> int:  # noqa: N802
        return self._v(h, "fans")[fan]

    def nvmlDeviceGetFanSpeed(self, h: int) -> int:  # noqa: N802
        return self._v(h, "fans")[0]

    def nvmlDeviceGetUtilizationRates(self, h: int) -> Any:  # noqa: N802
        g, m = self._v(h, "utilization")
        return types.SimpleNamespace(gpu=g, memory=m)

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:  # noqa: N802
        total, used = self._v(h, "memory")
        return types.SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlDeviceGetPowerManagementLimit(self, h: int) -> int:  # noqa: N802
        return self._v(h, "limit_mw")

    def nvmlDeviceGetPowerManagementLimitConstraints(self, h: int) -> list[int]:  # noqa: N802
        return list(self._v(h, "constraints"))

    def nvmlDeviceGetPowerManagementDefaultLimit(self, h: int) -> int:  # noqa: N802
        return self._v(h, "default_mw")

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: int) -> int:  # noqa: N802
        return self._v(h, "clock_events")

    def nvmlDeviceSetPowerManagementLimit(self, h: int, mw: int) -> None:  # noqa: N802
        self.set_calls.append((h, mw))
        if self.set_error is not None:
            raise self.set_error
        self.gpus[h]["limit_mw"] = mw
