"""The demo's simulated pynvml: NvmlSource reads a GpuHostView through it unchanged, and
set-limit calls reach the DemoControl callback; out-of-range limits raise pynvml's own errors."""
from __future__ import annotations

import asyncio

import pynvml
import pytest

from protocols.base import ActionRefused, DeviceSpec, SetPowerLimit, Unreachable
from protocols.demo_views import GpuHostView, GpuView
from protocols.nvml.client import NvmlSource, NvmlUnavailable
from protocols.nvml.sim import SimulatedNvml

SPEC = DeviceSpec(id="demo-gpus", kind="gpu_host", protocol="nvml", address="")


def _view() -> GpuHostView:
    def g(i: int, fan: float | None, reasons: int) -> GpuView:
        return GpuView(index=i, name="NVIDIA L40S", uuid=f"GPU-demo-{i}", temperature_c=55.4 + i,
                       power_w=287.25 + i, energy_j=3_600_000.0 * (i + 1), power_limit_w=350.0,
                       power_limit_min_w=100.0, power_limit_max_w=350.0, power_limit_default_w=350.0,
                       utilization_pct=93.0, memory_used_b=20 * 2**30, memory_total_b=48 * 2**30,
                       fan_pct=fan, throttle_reasons=reasons)
    return GpuHostView(id="gpuhost1", driver_version="550.54.15", gpus=[g(0, 42.0, 0), g(1, None, 0x24)])


class Control:
    def __init__(self, view: GpuHostView) -> None:
        self.view = view
        self.calls: list[tuple[str, int, float]] = []

    def set_gpu_power_limit(self, host_id: str, gpu_index: int, watts: float) -> None:
        self.calls.append((host_id, gpu_index, watts))
        if watts < 150:
            raise ValueError("model: below the floor it allows")
        self.view.gpus[gpu_index].power_limit_w = watts


def test_source_reads_the_view_through_the_simulated_module() -> None:
    view = _view()
    src = NvmlSource(SPEC, nvml_module=SimulatedNvml(lambda: view, Control(view)))
    v = {f"{r.channel}/{r.quantity}": (r.value, r.unit) for r in asyncio.run(src.poll())}
    g0, g1 = view.gpus
    assert src.driver_version == view.driver_version
    assert v["gpu0/power"] == (pytest.approx(g0.power_w), "W")
    assert v["gpu0/energy"] == (pytest.approx(g0.energy_j / 3.6e6), "kWh")
    assert v["gpu0/temperature"][0] == round(g0.temperature_c)  # NVML reports whole °C
    assert v["gpu0_fan0/fan_speed"] == (g0.fan_pct, "%")
    assert "gpu1_fan0/fan_speed" not in v  # passive: NotSupported, rest intact
    assert v["gpu1/power"][0] == pytest.approx(g1.power_w)
    assert v["gpu1_clocks/state"][0] == "sw_power_cap,sw_thermal"
    assert v["gpu0/memory_used"][0] == g0.memory_used_b
    assert v["gpu1_limit_min/power_limit"][0] == g1.power_limit_min_w
    asyncio.run(src.close())


def test_set_limit_goes_to_demo_control_and_reads_back() -> None:
    view = _view()
    control = Control(view)
    src = NvmlSource(SPEC, nvml_module=SimulatedNvml(lambda: view, control))
    res = asyncio.run(src.perform(SetPowerLimit(250, gpu=1)))
    assert res.ok and res.readback == 250.0
    assert control.calls == [("gpuhost1", 1, 250.0)]
    with pytest.raises(ActionRefused, match="outside 100..350 W"):
        asyncio.run(src.perform(SetPowerLimit(400, gpu=1)))
    with pytest.raises(ActionRefused, match="driver refused 120 W"):  # the model's ValueError
        asyncio.run(src.perform(SetPowerLimit(120, gpu=1)))
    assert view.gpus[1].power_limit_w == 250.0


def test_simulated_module_errors_are_pynvmls() -> None:
    view = _view()
    sim = SimulatedNvml(lambda: view)  # no control: read-only, like a non-root user
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        sim.nvmlDeviceGetCount()
    sim.nvmlInit()
    h = sim.nvmlDeviceGetHandleByIndex(1)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        sim.nvmlDeviceGetFanSpeed(h)
    with pytest.raises(pynvml.NVMLError_NoPermission):
        sim.nvmlDeviceSetPowerManagementLimit(h, 200_000)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        sim.nvmlDeviceGetHandleByIndex(5)
    assert sim.nvmlDeviceGetPowerUsage(h) == round(view.gpus[1].power_w * 1000)
    sim.nvmlShutdown()


def test_driver_not_loaded_fault() -> None:
    view = _view()
    sim = SimulatedNvml(lambda: view)
    sim.driver_loaded = False
    src = NvmlSource(SPEC, nvml_module=sim)
    with pytest.raises(NvmlUnavailable, match="NVIDIA driver not loaded") as exc:
        asyncio.run(src.poll())
    assert isinstance(exc.value, Unreachable)
    sim.driver_loaded = True
    assert asyncio.run(src.poll())  # recovers once the driver is back
