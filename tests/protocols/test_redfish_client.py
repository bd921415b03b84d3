"""RedfishSource against sushy-static serving the DMTF mockups (software nobody here wrote).

Expected values are read from the mockup JSON files, resource by resource."""
from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocols.base import (
    ActionRefused,
    CertificateChanged,
    Reading,
    SetPowerLimit,
    Source,
)
from protocols.redfish.client import RedfishSource
from tests.fakes.bmc import self_signed
from tests.fakes.sushy import Sushy, load, spec

pytestmark = pytest.mark.slow


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def by_key(readings: list[Reading]) -> dict[tuple[str, str], Reading]:
    out = {(r.channel, r.quantity): r for r in readings}
    assert len(out) == len(readings), "one reading per channel/quantity"
    return out


@pytest.fixture(scope="module")
def mockups(peers_dir: Path) -> Path:
    return peers_dir / "redfish" / "mockups"


def _serve(mockups: Path, name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sushy]:
    server = Sushy(mockups / name, tmp_path_factory.mktemp(name) / "sushy.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def localstorage(mockups: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sushy]:
    yield from _serve(mockups, "public-localstorage", tmp_path_factory)


@pytest.fixture(scope="module")
def liquid(mockups: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sushy]:
    yield from _serve(mockups, "public-liquid-cooled-server", tmp_path_factory)


@pytest.fixture(scope="module")
def tower(mockups: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sushy]:
    yield from _serve(mockups, "public-tower", tmp_path_factory)


def poll_twice(address: str, **options: object) -> tuple[RedfishSource, list[Reading], list[Reading]]:
    async def go() -> tuple[RedfishSource, list[Reading], list[Reading]]:
        src = RedfishSource(spec(address, **options))
        try:
            return src, await src.poll(), await src.poll()
        finally:
            await src.close()

    return run(go())


# ---------------------------------------------------------------- legacy only
def test_legacy_only_mockup(localstorage: Sushy) -> None:
    m = localstorage.mockup
    src, first, second = poll_twice(localstorage.address)
    assert isinstance(src, Source)
    r = by_key(second)
    thermal, power = load(m, "Chassis/1U/Thermal"), load(m, "Chassis/1U/Power")
    cpu_temps = {}
    for t in thermal["Temperatures"]:
        if t.get("PhysicalContext") == "Intake":
            assert r["inlet", "temperature"].value == t["ReadingCelsius"]
        elif (n := re.match(r"CPU(\d+)", t["Name"])):
            cpu_temps[f"cpu{n.group(1)}"] = t.get("ReadingCelsius")
    assert cpu_temps and {ch: r[ch, "temperature"].value for ch in cpu_temps} == cpu_temps
    assert None in cpu_temps.values(), "mockup has a sensor without a reading (CPU2)"
    fans = sorted(f["Reading"] for f in thermal["Fans"])
    assert sorted(x.value for x in second if x.quantity == "fan_speed") == fans
    assert {x.unit for x in second if x.quantity == "fan_speed"} == {"RPM"}
    pc = power["PowerControl"][0]
    assert r["chassis", "power"].value == pc["PowerConsumedWatts"]
    assert r["chassis", "power_limit"].value == pc["PowerLimit"]["LimitInWatts"]
    assert r["psu1_out", "power"].value == power["PowerSupplies"][0]["LastPowerOutputWatts"]
    assert r["psu1", "power"].value is None  # PowerInputWatts not reported: no value, still listed
    assert ("exhaust", "temperature") not in r
    assert all(r.unit == "°C" for (_, q), r in r.items() if q == "temperature")
    assert src.auth_mode == "basic"  # sushy-static has no working SessionService
    # Discovery happened once: the second poll read only the cached URIs.
    assert localstorage.gets("/redfish/v1/Chassis") == 1
    assert localstorage.gets("/redfish/v1/Chassis/1U/Thermal") == 2
    assert [(x.channel, x.quantity) for x in first] == [(x.channel, x.quantity) for x in second]


# ---------------------------------------------------------------- new model only
def test_new_only_mockup(liquid: Sushy) -> None:
    m = liquid.mockup
    src, _, readings = poll_twice(liquid.address)
    r = by_key(readings)
    summary = load(m, "Chassis/1U/ThermalSubsystem/ThermalMetrics")["TemperatureSummaryCelsius"]
    assert r["inlet", "temperature"].value == summary["Intake"]["Reading"]
    assert r["exhaust", "temperature"].value == summary["Exhaust"]["Reading"]
    for bay in ("Bay1", "Bay2"):
        fan = load(m, f"Chassis/1U/ThermalSubsystem/Fans/{bay}")
        assert r[f"fan_{bay.lower()}", "fan_speed"].value == fan["SpeedPercent"]["SpeedRPM"]
    psu = load(m, "Chassis/1U/PowerSubsystem/PowerSupplies/Bay1/Metrics")
    assert r["psu1", "power"].value == psu["InputPowerWatts"]["Reading"]
    assert r["psu1_out", "power"].value == psu["OutputPowerWatts"]["Reading"]
    assert r["psu1", "energy"].value == psu["EnergykWh"]["Reading"]
    env = load(m, "Chassis/1U/EnvironmentMetrics")
    assert r["chassis", "power"].value == env["PowerWatts"]["Reading"]
    control = load(m, "Chassis/1U/Controls/PowerLimit")
    assert r["chassis", "power_limit"].value == control["SetPoint"]
    assert src.provenance["srv1/chassis/power_limit"].startswith(control["@odata.id"])
    for cc in ("CPU1", "CPU2"):
        conn = load(m, f"Chassis/1U/ThermalSubsystem/CoolantConnectors/{cc}")
        assert r[f"{cc.lower()}_supply", "temperature"].value == conn["SupplyTemperatureCelsius"]["Reading"]
        assert r[f"{cc.lower()}_return", "temperature"].value == conn["ReturnTemperatureCelsius"]["Reading"]
    # Every temperature sensor of the Sensors collection is read (DIMMs are only there).
    for n in (1, 2, 3):
        assert r[f"dimm{n}", "temperature"].value == load(m, f"Chassis/1U/Sensors/DIMM{n}Temp")["Reading"]
    cpu_env = load(m, "Systems/437XR1138R2/Processors/CPU1/EnvironmentMetrics")
    assert r["cpu1", "temperature"].value == cpu_env["TemperatureCelsius"]["Reading"]
    assert not any("/Thermal#" in p or "/Power#" in p for p in src.provenance.values())


# ---------------------------------------------------------------- both models + GPUs
def test_both_models_prefer_new_keep_legacy_only(tower: Sushy) -> None:
    m = tower.mockup
    src, _, readings = poll_twice(tower.address)
    r = by_key(readings)
    legacy = load(m, "Chassis/Tower/Thermal")
    new_inlet = load(m, "Chassis/Tower/ThermalSubsystem/ThermalMetrics")["TemperatureSummaryCelsius"]["Intake"]
    legacy_inlet = next(t for t in legacy["Temperatures"] if t.get("PhysicalContext") == "Intake")
    assert new_inlet["Reading"] != legacy_inlet["ReadingCelsius"], "the mockup disagrees with itself"
    assert r["inlet", "temperature"].value == new_inlet["Reading"]
    assert "ThermalMetrics" in src.provenance["srv1/inlet/temperature"]
    # Legacy-only sensors (the baseboard fans) are kept beside the new model's fans.
    legacy_fans = sorted(f["Reading"] for f in legacy["Fans"])
    from_legacy = sorted(x.value for x in readings
                         if x.quantity == "fan_speed" and "/Thermal#" in src.provenance[x.series_key])
    assert from_legacy == legacy_fans
    assert r["fan_bay1", "fan_speed"].value == \
        load(m, "Chassis/Tower/ThermalSubsystem/Fans/Bay1")["SpeedPercent"]["SpeedRPM"]
    assert r["chassis", "power"].value == load(m, "Chassis/Tower/EnvironmentMetrics")["PowerWatts"]["Reading"]
    limit = load(m, "Chassis/Tower/Power")["PowerControl"][0]["PowerLimit"]["LimitInWatts"]
    assert r["chassis", "power_limit"].value == limit  # only the legacy model has it here
    gpus = [load(m, f"Systems/437XR1238R2/Processors/{g}") for g in ("GPU1", "GPU2")]
    assert [g["model"] for g in src.map.gpus] == [g["Model"] for g in gpus]
    assert not any(x.channel.startswith("gpu") for x in readings), "inventory-only GPUs: no empty series"


@pytest.fixture(scope="module")
def tower_with_gpu_metrics(mockups: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sushy]:
    """public-tower plus Processor EnvironmentMetrics for its GPUs (no DMTF mockup has any)."""
    root = tmp_path_factory.mktemp("gpu-tower") / "mockup"
    shutil.copytree(mockups / "public-tower", root)
    procs = root / "Systems/437XR1238R2/Processors"
    values = {"GPU1": {"TemperatureCelsius": {"Reading": 61.5}, "PowerWatts": {"Reading": 287.25},
                       "EnergyJoules": {"Reading": 7.2e6}, "PowerLimitWatts": {"SetPoint": 300}},
              "GPU2": {"TemperatureCelsius": {"Reading": None}, "PowerWatts": {"Reading": 40}}}
    for gpu, metrics in values.items():
        uri = f"/redfish/v1/Systems/437XR1238R2/Processors/{gpu}/EnvironmentMetrics"
        (procs / gpu / "EnvironmentMetrics").mkdir()
        (procs / gpu / "EnvironmentMetrics/index.json").write_text(json.dumps(
            {"@odata.id": uri, "@odata.type": "#EnvironmentMetrics.v1_3_0.EnvironmentMetrics", **metrics}))
        doc = json.loads((procs / gpu / "index.json").read_text())
        doc["EnvironmentMetrics"] = {"@odata.id": uri}
        (procs / gpu / "index.json").write_text(json.dumps(doc))
    server = Sushy(root, root.parent / "sushy.log")
    yield server
    server.stop()


def test_gpu_environment_metrics(tower_with_gpu_metrics: Sushy) -> None:
    m = tower_with_gpu_metrics.mockup
    _, _, readings = poll_twice(tower_with_gpu_metrics.address)
    r = by_key(readings)
    g1 = load(m, "Systems/437XR1238R2/Processors/GPU1/EnvironmentMetrics")
    assert r["gpu1", "temperature"].value == g1["TemperatureCelsius"]["Reading"]
    assert r["gpu1", "power"].value == g1["PowerWatts"]["Reading"]
    assert r["gpu1", "energy"].value == pytest.approx(g1["EnergyJoules"]["Reading"] / 3.6e6)
    assert r["gpu1", "energy"].unit == "kWh"
    assert r["gpu1", "power_limit"].value == g1["PowerLimitWatts"]["SetPoint"]
    assert r["gpu2", "temperature"].value is None  # null reading kept as "no value"
    assert r["gpu2", "power"].value == load(m, "Systems/437XR1238R2/Processors/GPU2/EnvironmentMetrics")[
        "PowerWatts"]["Reading"]


# ---------------------------------------------------------------- actions
def test_power_limit_patch_ignored_by_sushy_is_not_ok(liquid: Sushy) -> None:
    control = load(liquid.mockup, "Chassis/1U/Controls/PowerLimit")
    wanted = (control["AllowableMin"] + control["SetPoint"]) // 2

    async def go():  # type: ignore[no-untyped-def]
        src = RedfishSource(spec(liquid.address))
        try:
            result = await src.perform(SetPowerLimit(wanted))
            with pytest.raises(ActionRefused, match="outside the allowed range"):
                await src.perform(SetPowerLimit(control["AllowableMax"] + 1))
            return result
        finally:
            await src.close()

    result = run(go())
    assert result.ok is False
    assert result.requested == wanted and result.readback == control["SetPoint"]
    assert "did not take effect" in result.message
    assert "PATCH /redfish/v1/Chassis/1U/Controls/PowerLimit" in liquid.log.read_text()


def test_legacy_power_limit_patch_ignored(localstorage: Sushy) -> None:
    power = load(localstorage.mockup, "Chassis/1U/Power")
    current = power["PowerControl"][0]["PowerLimit"]["LimitInWatts"]

    async def go():  # type: ignore[no-untyped-def]
        src = RedfishSource(spec(localstorage.address))
        try:
            return await src.perform(SetPowerLimit(current - 50))
        finally:
            await src.close()

    result = run(go())
    assert (result.ok, result.readback) == (False, current)
    assert "PATCH /redfish/v1/Chassis/1U/Power" in localstorage.log.read_text()


# ---------------------------------------------------------------- TLS pinning
def test_tls_pins_on_first_use_then_detects_a_changed_certificate(mockups: Path, tmp_path: Path) -> None:
    cert_a, key_a, fp_a = self_signed(tmp_path, "bmc-a")
    cert_b, key_b, fp_b = self_signed(tmp_path, "bmc-b")
    pins = tmp_path / "pins.json"
    mockup = mockups / "public-localstorage"
    server = Sushy(mockup, tmp_path / "a.log", cert=cert_a, key=key_a)
    port = server.port
    power = load(mockup, "Chassis/1U/Power")["PowerControl"][0]["PowerConsumedWatts"]

    async def first() -> tuple[RedfishSource, list[Reading]]:
        src = RedfishSource(spec(server.address, tls=True, pin_store=str(pins)))
        return src, await src.poll()

    try:
        kept, readings = run(first())
    finally:
        server.stop()
    assert by_key(readings)["chassis", "power"].value == power
    assert json.loads(pins.read_text()) == {f"127.0.0.1:{port}": fp_a}

    server = Sushy(mockup, tmp_path / "b.log", port=port, cert=cert_b, key=key_b)
    try:
        async def again() -> None:
            await RedfishSource(spec(server.address, tls=True, pin_store=str(pins))).poll()

        with pytest.raises(CertificateChanged) as new_source:
            run(again())
        with pytest.raises(CertificateChanged) as open_source:  # its next connection is checked too
            run(kept.poll())
        # A CA file is the other explicit choice: cert B verifies against itself.
        src_ca = RedfishSource(spec(server.address, tls=True, ca_file=str(cert_b)))
        assert by_key(run(src_ca.poll()))["chassis", "power"].value == power
        run(src_ca.close())
    finally:
        run(kept.close())
        server.stop()
    for exc in (new_source.value, open_source.value):
        assert f"pinned {fp_a}, now {fp_b}" in str(exc) and "re-trust" in str(exc)
        assert exc.device_id == "srv1" and exc.address == f"127.0.0.1:{port}"
    assert json.loads(pins.read_text()) == {f"127.0.0.1:{port}": fp_a}, "a mismatch never re-pins"
