"""NvmlSource against a hand-written fake pynvml: clean degradation, partial samples, capping."""
from __future__ import annotations

import asyncio

import pynvml
import pytest

from protocols.base import (
    Action,
    ActionRefused,
    BadData,
    DeviceSpec,
    Reading,
    SetOutlet,
    SetPowerLimit,
    SetPump,
    SetSetpoint,
    SetValve,
    Source,
    Unreachable,
    UpsSelfTest,
)
from protocols.nvml.client import NvmlSource, NvmlUnavailable, decode_clock_events
from tests.fakes.fake_pynvml import FakeNvml, gpu

SPEC = DeviceSpec(id="local-gpus", kind="gpu_host", protocol="nvml", address="")


def _values(readings: list[Reading]) -> dict[str, float | str | None]:
    return {f"{r.channel}/{r.quantity}": r.value for r in readings}


@pytest.mark.parametrize("error, reason", [
    (pynvml.NVMLError_LibraryNotFound(), "libnvidia-ml.so.1 not found"),
    (pynvml.NVMLError_DriverNotLoaded(), "NVIDIA driver not loaded"),
    (pynvml.NVMLError_NoPermission(), "no permission"),
    (pynvml.NVMLError_LibRmVersionMismatch(), "version mismatch"),
])
def test_no_driver_is_a_clear_unavailable_state(error: Exception, reason: str) -> None:
    src = NvmlSource(SPEC, nvml_module=FakeNvml(init_error=error))
    assert src.check() == (False, src.unavailable_reason)
    assert reason in src.unavailable_reason
    with pytest.raises(Unreachable) as exc:
        asyncio.run(src.poll())
    assert isinstance(exc.value, NvmlUnavailable)
    assert str(exc.value).startswith("local-gpus (local NVML): local GPU telemetry unavailable: ")
    assert reason in str(exc.value)


def test_no_gpu_is_unavailable() -> None:
    src = NvmlSource(SPEC, nvml_module=FakeNvml(gpus=[]))
    with pytest.raises(NvmlUnavailable, match="no NVIDIA GPU found"):
        asyncio.run(src.poll())


def test_full_sample_converts_units_and_survives_unsupported_fields() -> None:
    g0 = gpu(fans=[35, 37], clock_events=0x0)
    g1 = gpu(uuid="GPU-1", power_mw=pynvml.NVMLError_NotSupported(),
             energy_mj=pynvml.NVMLError_FunctionNotFound(), clock_events=0x24)
    fake = FakeNvml([g0, g1])
    src = NvmlSource(SPEC, nvml_module=fake)
    v = _values(asyncio.run(src.poll()))
    assert src.driver_version == fake.driver and src.unavailable_reason is None
    assert v["gpu0/power"] == pytest.approx(g0["power_mw"] / 1000)
    assert v["gpu0/energy"] == pytest.approx(g0["energy_mj"] / 3.6e9)  # mJ -> kWh
    assert v["gpu0/temperature"] == g0["temperature"]
    assert v["gpu0_fan0/fan_speed"] == 35 and v["gpu0_fan1/fan_speed"] == 37
    assert v["gpu0/utilization"] == g0["utilization"][0] and v["gpu0_mem/utilization"] == g0["utilization"][1]
    assert v["gpu0/memory_used"] == g0["memory"][1] and v["gpu0/memory_total"] == g0["memory"][0]
    assert v["gpu0/power_limit"] == g0["limit_mw"] / 1000
    assert v["gpu0_limit_min/power_limit"] == g0["constraints"][0] / 1000
    assert v["gpu0_limit_max/power_limit"] == g0["constraints"][1] / 1000
    assert v["gpu0_limit_default/power_limit"] == g0["default_mw"] / 1000
    assert v["gpu0_clocks/state"] == "none"
    # gpu1: power and energy unsupported, passive (no fans): the rest is still there
    assert "gpu1/power" not in v and "gpu1/energy" not in v and "gpu1_fan0/fan_speed" not in v
    assert v["gpu1/temperature"] == g1["temperature"]
    assert v["gpu1_clocks/state"] == "sw_power_cap,sw_thermal"
    samples = asyncio.run(src.sample())
    assert set(samples[1].missing) >= {"power", "energy"}
    asyncio.run(src.close())
    assert fake.inits == 0  # init/shutdown balanced


def test_gpu_lost_mid_sample_is_unreachable_and_recovers() -> None:
    fake = FakeNvml([gpu()])
    src = NvmlSource(SPEC, nvml_module=fake)
    asyncio.run(src.poll())
    fake.gpus[0]["temperature"] = pynvml.NVMLError_GpuIsLost()
    with pytest.raises(Unreachable, match="GPU is lost"):
        asyncio.run(src.poll())
    fake.gpus[0]["temperature"] = 51
    assert _values(asyncio.run(src.poll()))["gpu0/temperature"] == 51


def test_garbage_value_is_bad_data() -> None:
    src = NvmlSource(SPEC, nvml_module=FakeNvml([gpu(power_mw="lots")]))
    with pytest.raises(BadData, match="garbage"):
        asyncio.run(src.poll())


def test_set_power_limit_bounds_and_read_back() -> None:
    fake = FakeNvml([gpu(constraints=(200_000, 700_000))])
    src = NvmlSource(SPEC, nvml_module=fake)
    res = asyncio.run(src.perform(SetPowerLimit(450, gpu=0)))
    assert res.ok and res.readback == 450.0 and res.target == "gpu0"
    assert fake.set_calls == [(0, 450_000)]
    for watts in (900, 199.9):
        with pytest.raises(ActionRefused, match="outside 200..700 W"):
            asyncio.run(src.perform(SetPowerLimit(watts, gpu=0)))
    with pytest.raises(ActionRefused, match="no such GPU"):
        asyncio.run(src.perform(SetPowerLimit(300, gpu=3)))
    assert fake.set_calls == [(0, 450_000)]  # nothing else sent
    fake.set_error = pynvml.NVMLError_NoPermission()
    with pytest.raises(ActionRefused, match="needs root"):
        asyncio.run(src.perform(SetPowerLimit(300, gpu=0)))


@pytest.mark.parametrize("action, why", [
    (SetPowerLimit(300), "name the GPU"), (SetValve(40), "takes only a GPU power limit"),
    (SetPump(False), "takes only a GPU power limit"), (SetOutlet(1, "off"), "takes only a GPU power limit"),
    (UpsSelfTest(), "takes only a GPU power limit"), (SetSetpoint("supply_setpoint", 50), "takes only"),
    (SetPowerLimit(float("nan"), gpu=0), "finite number of watts"),
    (SetPowerLimit(float("inf"), gpu=0), "finite number of watts"),
    (SetPowerLimit(300, gpu=-1), "GPU index"), (SetPowerLimit(300, gpu=True), "GPU index"),
    (SetPowerLimit(300, gpu="0"), "GPU index"), (("gpu0", 300), "not one of the actions"),
])
def test_nvml_refuses_what_it_does_not_do_and_touches_nothing(action: Action, why: str) -> None:
    fake = FakeNvml([gpu(constraints=(200_000, 700_000))])
    src = NvmlSource(SPEC, nvml_module=fake)
    with pytest.raises(ActionRefused, match=why) as info:
        asyncio.run(src.perform(action))
    assert str(info.value).startswith(f"{SPEC.id} (local NVML): ")
    if isinstance(action, Action):
        assert action.describe() in str(info.value)
    assert fake.set_calls == []
    assert isinstance(src, Source)


def test_set_power_limit_detects_a_limit_that_did_not_stick() -> None:
    class Sticky(FakeNvml):
        def nvmlDeviceSetPowerManagementLimit(self, h: int, mw: int) -> None:  # noqa: N802
            self.set_calls.append((h, mw))  # accepted, but the limit stays

    src = NvmlSource(SPEC, nvml_module=Sticky([gpu(limit_mw=700_000)]))
    res = asyncio.run(src.perform(SetPowerLimit(400, gpu=0)))
    assert not res.ok and res.readback == 700.0 and "700" in res.message


@pytest.mark.parametrize("mask, names", [
    (0x0, []),
    (0x4, ["sw_power_cap"]),
    (0x1 | 0x20 | 0x40, ["gpu_idle", "sw_thermal", "hw_thermal"]),
    (0x80 | 0x100, ["hw_power_brake", "display_clock"]),
    (0x400, ["bit0x400"]),
])
def test_clock_event_decode(mask: int, names: list[str]) -> None:
    assert decode_clock_events(mask) == names


def test_clock_event_names_follow_pynvml_constants() -> None:
    pairs = {"gpu_idle": "GpuIdle", "sw_power_cap": "SwPowerCap", "hw_slowdown": "HwSlowdown",
             "sync_boost": "SyncBoost", "sw_thermal": "SwThermalSlowdown",
             "hw_thermal": "HwThermalSlowdown", "hw_power_brake": "HwPowerBrakeSlowdown",
             "display_clock": "DisplayClockSetting"}
    for ours, theirs in pairs.items():
        assert decode_clock_events(getattr(pynvml, f"nvmlClocksEventReason{theirs}")) == [ours]


def test_missing_binding_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    src = NvmlSource(SPEC)
    ok, reason = src.check()
    assert not ok and "nvidia-ml-py not installed" in reason
