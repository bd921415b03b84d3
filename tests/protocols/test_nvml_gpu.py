"""Real-driver checks, run on a machine with an NVIDIA GPU; skipped where nvmlInit fails.
Read-only: the GPU's power limit is never changed here (only an out-of-range request, which
must be refused before anything reaches the driver)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from protocols.base import ActionRefused, DeviceSpec, SetPowerLimit
from protocols.nvml.client import NvmlSource
from tests.support import wait_until

pytestmark = pytest.mark.gpu


@pytest.fixture()
def src() -> Iterator[NvmlSource]:
    source = NvmlSource(DeviceSpec(id="local-gpus", kind="gpu_host", protocol="nvml", address=""))
    ok, reason = source.check()
    if not ok:
        pytest.skip(f"no usable NVML here: {reason}")
    yield source
    asyncio.run(source.close())


def test_every_field_is_plausible(src: NvmlSource) -> None:
    samples = asyncio.run(src.sample())
    assert samples and src.driver_version
    for s in samples:
        where = f"gpu{s.index} ({s.name}) missing={s.missing}"
        assert s.name and s.uuid and s.uuid.startswith(("GPU-", "MIG-")), where
        assert s.temperature_c is not None and 0 <= s.temperature_c <= 120, where
        assert s.power_w is not None and 0 < s.power_w < 2000, where
        assert s.memory_total_b and 0 <= (s.memory_used_b or 0) <= s.memory_total_b, where
        assert s.utilization_pct is not None and 0 <= s.utilization_pct <= 100, where
        assert all(0 <= f <= 100 for f in s.fans_pct), where
        if s.power_limit_min_w is not None and s.power_limit_max_w is not None:
            assert 0 < s.power_limit_min_w <= s.power_limit_max_w, where
            assert s.power_limit_w is not None
            assert s.power_limit_min_w - 1 <= s.power_limit_w <= s.power_limit_max_w + 1, where
            if s.power_limit_default_w is not None:
                assert s.power_limit_min_w - 1 <= s.power_limit_default_w <= s.power_limit_max_w + 1
        assert s.clock_events is not None and all(not n.startswith("bit") for n in s.clock_events), where
    readings = asyncio.run(src.poll())
    assert {r.channel for r in readings} >= {f"gpu{s.index}" for s in samples}
    print({r.series_key: r.value for r in readings})  # evidence in -rA / -s output


def test_energy_counter_increases(src: NvmlSource) -> None:
    first = {s.index: s.energy_kwh for s in asyncio.run(src.sample())}
    if any(v is None for v in first.values()):
        pytest.skip("energy counter not supported (pre-Volta)")

    def all_grew() -> bool:
        now = {s.index: s.energy_kwh for s in asyncio.run(src.sample())}
        return all(now[i] > first[i] for i in first)

    wait_until(all_grew, timeout=5, what="NVML energy counters to advance")


def test_out_of_range_limit_is_refused_before_the_driver(src: NvmlSource) -> None:
    s = asyncio.run(src.sample())[0]
    if s.power_limit_max_w is None:
        pytest.skip("power limit constraints not reported")
    with pytest.raises(ActionRefused, match="outside"):
        asyncio.run(src.perform(SetPowerLimit(s.power_limit_max_w + 100, gpu=s.index)))
