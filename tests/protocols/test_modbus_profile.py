"""Register-map profiles: the shipped maps load, bad maps fail with file + point, codecs."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from protocols.base import QUANTITY_UNITS
from protocols.modbus.profile import (
    PROFILE_DIR,
    ProfileError,
    decode,
    encode,
    load_profile,
    plan_blocks,
    thermal_power_w,
    water_cp,
    water_density,
)

DEFAULT_POINTS = {
    "supply_temp", "return_temp", "tank_top_temp", "tank_mid_temp", "tank_bottom_temp",
    "outdoor_temp", "room_temp", "flow", "thermal_power", "thermal_energy", "dump_power",
    "valve_position", "valve_setpoint", "bypass_position", "bypass_command", "pump_on",
    "supply_setpoint", "tank_max_temp", "alarm_word", "firmware_version", "model", "serial",
}


@pytest.mark.parametrize("path", sorted(PROFILE_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_profiles_load(path: Path) -> None:
    prof = load_profile(path)
    assert prof.points
    for p in prof.points.values():
        assert p.quantity is None or p.quantity in QUANTITY_UNITS
        if p.writable and p.type != "bool":
            assert p.min is not None and p.max is not None and p.min <= p.max


def test_default_profile_has_the_contract_points() -> None:
    prof = load_profile("heatrack-default")
    assert DEFAULT_POINTS <= set(prof.points)
    bits = set(prof.point("alarm_word").bits.values())
    assert bits == {"pump_fault", "overtemp", "low_flow", "sensor_fault", "valve_fault"}
    writable = {n for n, p in prof.points.items() if p.writable}
    assert writable == {"valve_setpoint", "bypass_command", "pump_on", "supply_setpoint", "tank_max_temp"}
    assert (prof.point("supply_setpoint").min, prof.point("supply_setpoint").max) == (30.0, 70.0)
    assert (prof.point("tank_max_temp").min, prof.point("tank_max_temp").max) == (40.0, 85.0)
    assert prof.reports_thermal_power


def test_heat_meter_is_one_based_low_word_first_without_power() -> None:
    prof = load_profile("generic-heat-meter")
    assert prof.point("supply_temp").address == 0  # register number 1
    assert all(p.word_order == "little" for p in prof.points.values())
    assert not prof.reports_thermal_power and prof.can_compute_thermal_power


def _write(tmp_path: Path, points: str, head: str = "") -> Path:
    f = tmp_path / "bad.toml"
    f.write_text(f'[profile]\nname = "bad"\n{head}\n[points]\n{points}\n', encoding="utf-8")
    return f


@pytest.mark.parametrize("line, needle", [
    ('t = { table = "inputs", address = 0, type = "int16", quantity = "temperature", unit = "degC" }', "table"),
    ('t = { table = "input", address = 0, type = "int64", quantity = "temperature", unit = "degC" }', "type"),
    ('t = { table = "input", address = -1, type = "int16", quantity = "temperature", unit = "degC" }', "address"),
    ('t = { table = "input", address = 0, type = "int16", quantity = "temperature", unit = "furlong" }', "unit"),
    ('t = { table = "input", address = 0, type = "int16", quantity = "temperature", unit = "kW" }', "does not give"),
    ('t = { table = "input", address = 0, type = "int16", quantity = "temperature", unit = "degC", writable = true, min = 0, max = 1 }', "writable"),
    ('t = { table = "holding", address = 0, type = "int16", quantity = "setpoint", unit = "degC", writable = true }', "min and max"),
    ('t = { table = "input", address = 0, type = "int16", quantity = "temprature", unit = "degC" }', "quantity"),
    ('t = { table = "coil", address = 0, type = "float32", quantity = "state" }', "does not fit"),
    ('t = { table = "input", address = 0, type = "int16", quantity = "temperature", unit = "degC", colour = 1 }', "unknown keys"),
])
def test_bad_points_name_file_and_point(tmp_path: Path, line: str, needle: str) -> None:
    f = _write(tmp_path, line)
    with pytest.raises(ProfileError) as exc:
        load_profile(f)
    assert str(f) in str(exc.value) and "'t'" in str(exc.value) and needle in str(exc.value)


def test_overlap_and_bad_toml_are_reported(tmp_path: Path) -> None:
    f = _write(tmp_path, 'a = { table = "input", address = 0, type = "float32", quantity = "flow", unit = "L/min" }\n'
                         'b = { table = "input", address = 1, type = "int16", quantity = "temperature", unit = "degC" }')
    with pytest.raises(ProfileError, match="'b' overlaps 'a'"):
        load_profile(f)
    f.write_text("[points]\na = { table = 'input'; address = 0 }\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(f)
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "missing.toml")


def test_word_order_codec_matches_struct() -> None:
    prof = load_profile("generic-heat-meter")
    supply = prof.point("supply_temp")
    hi, lo = struct.unpack(">HH", struct.pack(">f", 45.5))
    assert encode(supply, 45.5) == [lo, hi]  # low word first
    assert decode(supply, [lo, hi]) == 45.5
    assert decode(supply, [hi, lo]) != 45.5  # the classic swap is visible
    energy = prof.point("thermal_energy")
    assert encode(energy, 123.456) == [123456 & 0xFFFF, 123456 >> 16]
    big = load_profile("heatrack-default").point("thermal_energy")
    assert encode(big, 1234.56) == [123456 >> 16, 123456 & 0xFFFF]
    neg = load_profile("heatrack-default").point("outdoor_temp")
    assert encode(neg, -3.2) == [(-32) & 0xFFFF] and decode(neg, encode(neg, -3.2)) == pytest.approx(-3.2)


def test_encode_rejects_values_that_do_not_fit() -> None:
    p = load_profile("heatrack-default").point("valve_setpoint")
    with pytest.raises(ValueError, match="does not fit"):
        encode(p, 700.0)  # 70000 counts > uint16


def test_nan_float_is_bad_data() -> None:
    p = load_profile("heatrack-default").point("flow")
    with pytest.raises(ValueError, match="finite"):
        decode(p, [0x7FC0, 0])


def test_blocks_cover_points_within_limits() -> None:
    prof = load_profile("heatrack-default")
    blocks = plan_blocks(prof)
    covered = {p.name for b in blocks for p in b.points}
    assert covered == {n for n, p in prof.points.items() if not p.identity}
    for b in blocks:
        assert b.count <= 125
        for p in b.points:
            assert b.address <= p.address and p.end <= b.address + b.count
    assert len(blocks) == 3  # input, holding, coil: one request each


def test_water_properties_and_thermal_power() -> None:
    assert water_density(4.0) == pytest.approx(1000.0, abs=0.1)
    assert water_density(45.0) == pytest.approx(990.2, abs=0.3)
    assert water_cp(45.0) == pytest.approx(4180, abs=3)
    # notes §6: 0.35 m³/h, 45.5/38.0 °C -> 3.02 kW; rule of thumb 1.15 kW per m³/h·K
    flow_lpm = 0.35 * 1000 / 60
    assert thermal_power_w(flow_lpm, 45.5, 38.0) == pytest.approx(3020, rel=0.005)
    assert thermal_power_w(flow_lpm, 45.5, 38.0) == pytest.approx(1150 * 0.35 * 7.5, rel=0.01)
    assert thermal_power_w(flow_lpm, 38.0, 45.5) < 0


_ACTION_POINTS = ('v = { table = "holding", address = 0, type = "uint16", scale = 0.01, unit = "%", '
                  'quantity = "valve_position", writable = true, min = 0.0, max = 100.0 }\n'
                  'p = { table = "coil", address = 0, quantity = "state", writable = true, enum = { 0 = "off", 1 = "on" } }\n'
                  'r = { table = "input", address = 1, type = "uint16", scale = 0.01, unit = "%", quantity = "valve_position" }\n')


def test_default_profile_names_its_action_points() -> None:
    assert load_profile("heatrack-default").actions == {
        "valve": "valve_setpoint", "bypass": "bypass_command", "pump": "pump_on"}
    assert load_profile("generic-heat-meter").actions == {}


@pytest.mark.parametrize("table, needle", [
    ('valve = "nope"', "not a writable point"), ('valve = "r"', "not a writable point"),
    ('valve = "p"', "does not take a number"), ('pump = "v"', "does not take on/off"),
    ('heater = "v"', "unknown action"), ("valve = 3", "not a writable point"),
])
def test_bad_action_table_names_file_and_action(tmp_path: Path, table: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(f'[profile]\nname = "bad"\n[points]\n{_ACTION_POINTS}\n[actions]\n{table}\n', encoding="utf-8")
    with pytest.raises(ProfileError) as exc:
        load_profile(f)
    assert str(f) in str(exc.value) and "[actions]" in str(exc.value) and needle in str(exc.value)
    f.write_text(f'[profile]\nname = "ok"\n[points]\n{_ACTION_POINTS}\n[actions]\nvalve = "v"\npump = "p"\n',
                 encoding="utf-8")
    assert load_profile(f).actions == {"valve": "v", "pump": "p"}
