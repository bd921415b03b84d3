"""Which series the power graphs offer (grouped by device, by quantity and unit), the default
selection, and the range presets."""
from __future__ import annotations

import dataclasses

import pytest

from console.live import LiveSite
from console.power_series import (
    RANGES,
    SEASON_LOOKBACK,
    default_selection,
    pixels_for,
    power_series,
    preset,
)
from tests.fakes.views import DemoFeeder, demo_site_model


@pytest.fixture(scope="module")
def demo() -> tuple:
    site = demo_site_model()
    live = LiveSite(site)
    DemoFeeder(live).step(60)
    return site, live.series()


def test_demo_power_series_are_grouped_by_device_in_site_order(demo: tuple) -> None:
    site, states = demo
    groups = power_series(site, states)
    assert [g.device_id for g in groups] == ["srv1", "srv2", "srv3", "gpuhost", "ups1", "pdu1", "heat1"]
    keys = {g.device_id: [s.key for s in g.series] for g in groups}
    # the headline figure first, then GPUs, then PSUs
    assert keys["srv1"][0] == "srv1/chassis/power"
    assert {"srv1/gpu0/power", "srv1/gpu1/power", "srv1/coolant/thermal_power"} <= set(keys["srv1"])
    assert keys["gpuhost"] == ["gpuhost/gpu0/power", "gpuhost/gpu1/power"]
    assert keys["ups1"][0] == "ups1/output/power"
    outlets = [k for k in keys["pdu1"] if "outlet" in k]
    assert outlets == [f"pdu1/outlet{i}/power" for i in range(1, 9)]  # natural order: 2 before 10
    assert set(keys["heat1"]) == {"heat1/loop/thermal_power", "heat1/dump/thermal_power"}
    every = [k for ks in keys.values() for k in ks]
    # only power in W: no limits, energy, temperatures or currents
    assert not [k for k in every if k.endswith(("power_limit", "energy", "temperature", "current"))]
    assert groups[0].title.startswith("srv1 — ")


def test_labels_name_device_and_part(demo: tuple) -> None:
    site, states = demo
    labels = {s.key: s.label for g in power_series(site, states) for s in g.series}
    assert labels["srv1/chassis/power"] == "srv1 chassis power"
    assert labels["srv1/gpu0/power"] == "srv1 GPU 0 power"
    assert labels["pdu1/outlet3/power"] == "pdu1 outlet 3 power"
    assert labels["srv2/psu1_out/power"] == "srv2 PSU 1 output power"
    assert labels["heat1/loop/thermal_power"] == "heat1 loop thermal power"


def test_default_is_each_chassis_the_loop_and_the_ups_output(demo: tuple) -> None:
    site, states = demo
    assert default_selection(site, power_series(site, states)) == [
        "srv1/chassis/power", "srv2/chassis/power", "srv3/chassis/power",
        "heat1/loop/thermal_power", "ups1/output/power"]


@dataclasses.dataclass
class _S:
    key: str
    device_id: str
    channel: str
    quantity: str
    unit: str


def test_any_site_by_quantity_and_unit() -> None:
    site = demo_site_model()
    states = [_S("heat1/meter_a/thermal_power", "heat1", "meter_a", "thermal_power", "W"),
              _S("srv1/system/power", "srv1", "system", "power", "W"),
              _S("srv1/weird/power", "srv1", "weird", "power", "kW"),  # not in W: left out
              _S("other/x/power", "other", "x", "power", "W")]  # a device the site file lacks: last
    groups = power_series(site, states)
    assert [g.device_id for g in groups] == ["srv1", "heat1", "other"]
    assert [s.role for g in groups for s in g.series] == ["chassis", "thermal", "other"]
    # a loop controller without a "loop" channel: its first thermal series is the default
    assert default_selection(site, groups) == ["srv1/system/power", "heat1/meter_a/thermal_power"]


def test_range_presets() -> None:
    assert [r.name for r in RANGES] == ["15m", "1h", "6h", "24h", "7d", "30d", "season"]
    assert preset("1h").window(10_000.0) == (6_400.0, 10_000.0)
    assert preset("7d").window(1e9) == (1e9 - 7 * 86400, 1e9)
    season = preset("season")
    assert season.window(1e9) == (1e9 - SEASON_LOOKBACK, 1e9)  # first sample not known yet
    assert season.window(1e9, first=1e9 - 1000) == (1e9 - 1000, 1e9)
    with pytest.raises(ValueError, match="unknown range '2h'; one of 15m, 1h"):
        preset("2h")


def test_pixels_one_bucket_per_pixel_within_the_services_bounds() -> None:
    assert pixels_for(812.4) == 812
    assert pixels_for(3) == 50
    assert pixels_for(1e6) == 10_000
    assert pixels_for(float("nan")) == 50
