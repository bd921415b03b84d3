"""NVML identity: the driver version and each GPU's name, serial, UUID and VBIOS, from the test
fake, the demo's simulated pynvml and (on a machine with a GPU) the real driver."""
from __future__ import annotations

import asyncio

import pynvml
import pytest

from protocols.base import DeviceSpec, Identity, Unreachable
from protocols.demo_views import GpuHostView, GpuView
from protocols.nvml.client import NvmlSource, NvmlUnavailable
from protocols.nvml.sim import SimulatedNvml
from tests.fakes.fake_pynvml import FakeNvml, gpu

SPEC = DeviceSpec(id="local-gpus", kind="gpu_host", protocol="nvml", address="", timeout_s=2.0)


def identify(module: object) -> Identity:
    src = NvmlSource(SPEC, nvml_module=module)

    async def go() -> Identity:
        try:
            return await src.identify()
        finally:
            await src.close()

    return asyncio.run(go())


def test_data_centre_gpus_from_the_fake() -> None:
    fake = FakeNvml([gpu(), gpu(uuid="GPU-1", serial="1654922012346", vbios="96.00.74.00.02")], driver="550.54.15")
    ident = identify(fake)
    assert (ident.manufacturer, ident.model, ident.firmware) == ("NVIDIA", "2 × NVIDIA H100 80GB HBM3", "550.54.15")
    assert ident.serial is None  # two boards: each has its own, below
    extra = dict(ident.extra)
    assert extra["gpu0_serial"] == "1654922012345" and extra["gpu1_serial"] == "1654922012346"
    assert extra["gpu0_uuid"] == "GPU-00000000-0000-0000-0000-000000000000" and extra["gpu1_uuid"] == "GPU-1"
    assert extra["gpu1_vbios"] == "96.00.74.00.02" and extra["gpu0_name"] == "NVIDIA H100 80GB HBM3"
    assert fake.inits == 0  # closed again


def test_consumer_gpu_without_a_serial_is_not_a_failure() -> None:
    fake = FakeNvml([gpu(name="NVIDIA GeForce RTX 4090", serial=pynvml.NVMLError_NotSupported(),
                         vbios=pynvml.NVMLError_NoPermission())])
    ident = identify(fake)
    assert ident.model == "NVIDIA GeForce RTX 4090" and ident.serial is None
    assert "gpu0_serial" not in dict(ident.extra) and "gpu0_vbios" not in dict(ident.extra)
    assert dict(ident.extra)["gpu0_uuid"].startswith("GPU-")


def test_mixed_boards_are_named_each() -> None:
    ident = identify(FakeNvml([gpu(name="NVIDIA L40S"), gpu(name="NVIDIA RTX 6000 Ada Generation")]))
    assert ident.model == "NVIDIA L40S, NVIDIA RTX 6000 Ada Generation"


def test_one_gpu_gives_its_serial_as_the_hosts() -> None:
    assert identify(FakeNvml([gpu()])).serial == "1654922012345"


def test_lost_gpu_and_missing_driver_are_transport_failures() -> None:
    with pytest.raises(Unreachable, match="NVML"):
        identify(FakeNvml([gpu(name=pynvml.NVMLError_GpuIsLost())]))
    with pytest.raises(NvmlUnavailable, match="driver not loaded"):
        identify(FakeNvml(init_error=pynvml.NVMLError_DriverNotLoaded()))


def test_hostile_name_is_cut_and_escaped() -> None:
    ident = identify(FakeNvml([gpu(name="H100\x1b[5m" + "!" * 1_000_000)]))
    name = dict(ident.extra)["gpu0_name"]
    assert len(name) == 128 and name.startswith("H100\\x1b[5m") and name.isprintable()
    assert ident.model is not None and len(ident.model) == 128


def _view(*names: str) -> GpuHostView:
    gpus = [GpuView(index=i, name=n, uuid=f"GPU-demo-{i}", temperature_c=50.0, power_w=200.0, energy_j=0.0,
                    power_limit_w=300.0, power_limit_min_w=100.0, power_limit_max_w=300.0,
                    power_limit_default_w=300.0, utilization_pct=50.0, memory_used_b=0,
                    memory_total_b=48 * 2**30, fan_pct=None, throttle_reasons=0) for i, n in enumerate(names)]
    return GpuHostView(id="gpuhost1", driver_version="550.54.15", gpus=gpus)


def test_the_simulator_answers_like_pynvml() -> None:
    view = _view("NVIDIA RTX 6000 Ada Generation", "NVIDIA GeForce RTX 4090")
    ident = identify(SimulatedNvml(lambda: view))
    extra = dict(ident.extra)
    assert ident.firmware == "550.54.15" and extra["nvml_version"] == "12.550.54"
    assert len(extra["gpu0_serial"]) == 13 and extra["gpu0_serial"].isdigit()
    assert "gpu1_serial" not in extra  # GeForce: NotSupported, as the real binding says
    assert extra["gpu0_vbios"].startswith("96.00.") and extra["gpu1_uuid"] == "GPU-demo-1"
    again = identify(SimulatedNvml(lambda: view))
    assert again == ident  # stable across restarts: a device page does not flicker


@pytest.mark.gpu
def test_real_driver_identity() -> None:
    src = NvmlSource(SPEC)
    ok, reason = src.check()
    if not ok:
        pytest.skip(f"no usable NVML here: {reason}")
    try:
        ident = asyncio.run(src.identify())
    finally:
        asyncio.run(src.close())
    extra = dict(ident.extra)
    assert ident.manufacturer == "NVIDIA" and ident.firmware == src.driver_version
    assert extra["gpu0_name"] and extra["gpu0_uuid"].startswith(("GPU-", "MIG-"))
    print(f"real NVML identity: {ident}")
