"""Unit tests of the generic SNMP decoder and the profile files: one test per real-device quirk."""
from __future__ import annotations

from pathlib import Path

import pytest
from pysnmp.proto import rfc1902, rfc1905

from protocols.base import QUANTITY_UNITS
from protocols.snmp import decode as d
from protocols.snmp.profiles import PROFILE_DIR, ProfileError, load_profiles, parse_profile

PROFILES = load_profiles()
UPS = "1.3.6.1.2.1.33.1."


def spec_of(profile: str, name: str):
    prof = PROFILES[profile]
    for entry in (*prof.scalars, *prof.columns):
        if entry.value.name == name:
            return entry.value
    raise KeyError(name)


def readings_by_key(readings) -> dict[str, object]:
    return {r.series_key.split("/", 1)[1]: r.value for r in readings if r.quantity != "alarm"}


# ---------------------------------------------------------------- profiles
def test_every_required_profile_loads_with_canonical_quantities() -> None:
    assert {"ups-mib", "apc-powernet-ups", "apc-rpdu2", "raritan-pdu2", "eaton-epdu",
            "servertech-sentry4"} <= set(PROFILES)
    assert PROFILE_DIR == Path(__file__).resolve().parents[2] / "resources" / "profiles" / "snmp"
    for prof in PROFILES.values():
        assert prof.probes, prof.name
        for entry in (*prof.scalars, *prof.columns):
            assert entry.value.unit == QUANTITY_UNITS[entry.value.quantity]
            assert entry.value.channel == entry.value.channel.lower()


@pytest.mark.parametrize("profile,actions", [
    ("ups-mib", {"self_test"}), ("apc-powernet-ups", {"self_test"}),
    ("apc-rpdu2", {"outlet_on", "outlet_off", "outlet_reboot"}),
    ("raritan-pdu2", {"outlet_on", "outlet_off", "outlet_reboot"}),
    ("eaton-epdu", {"outlet_on", "outlet_off", "outlet_reboot"}),
])
def test_profiles_carry_their_control_recipes(profile: str, actions: set[str]) -> None:
    assert actions <= set(PROFILES[profile].actions)


def test_bad_profile_is_reported_with_its_entry() -> None:
    with pytest.raises(ProfileError, match="unknown quantity 'watts'"):
        parse_profile({"name": "x", "scalar": [{"oid": "1.3.6", "channel": "a", "quantity": "watts"}]})
    with pytest.raises(ProfileError, match="needs an enum"):
        parse_profile({"name": "x", "scalar": [{"oid": "1.3.6", "channel": "a", "quantity": "state"}]})


# ---------------------------------------------------------------- quirks
def test_timeticks_carrying_minutes_are_minutes() -> None:
    """Santak sends upsEstimatedMinutesRemaining as TimeTicks: the number is minutes."""
    raw = d.to_raw(rfc1902.TimeTicks(45))
    spec = spec_of("ups-mib", "upsEstimatedMinutesRemaining")
    assert d.decode_value(raw, spec) == 45 * 60


def test_apc_timeticks_are_hundredths_of_a_second() -> None:
    spec = spec_of("apc-powernet-ups", "upsAdvBatteryRunTimeRemaining")
    assert d.decode_value(d.to_raw(rfc1902.TimeTicks(270000)), spec) == 2700


def test_minus_one_charge_is_no_reading() -> None:
    """Huawei UPS5000: upsEstimatedChargeRemaining = -1."""
    spec = spec_of("ups-mib", "upsEstimatedChargeRemaining")
    assert d.decode_value(d.to_raw(rfc1902.Integer32(-1)), spec) is None
    assert d.decode_value(d.to_raw(rfc1902.Integer32(87)), spec) == 87


def test_gauge_in_tenth_volts_is_caught_by_plausibility() -> None:
    """Huawei: upsInputVoltage is Gauge32 2369 (= 236.9 V); the RFC says INTEGER volts."""
    spec = spec_of("ups-mib", "upsInputVoltage")
    assert d.decode_value(d.to_raw(rfc1902.Gauge32(2369)), spec) == pytest.approx(236.9)
    assert d.decode_value(d.to_raw(rfc1902.Integer32(230)), spec) == 230
    assert d.decode_value(d.to_raw(rfc1902.Integer32(0)), spec) == 0  # a blackout is real
    assert d.decode_value(99_999_999, spec) is None  # implausible at every scale


def test_any_integer_type_is_accepted() -> None:
    """Eaton 93E: upsAlarmsPresent is Gauge32 where others send INTEGER."""
    for value in (rfc1902.Gauge32(3), rfc1902.Integer32(3), rfc1902.Counter32(3),
                  rfc1902.Unsigned32(3), rfc1902.Counter64(3), rfc1902.TimeTicks(3)):
        assert d.to_raw(value) == 3


def test_missing_objects_are_none() -> None:
    for value in (rfc1905.NoSuchInstance(), rfc1905.NoSuchObject(), rfc1905.EndOfMibView()):
        assert d.to_raw(value) is None


def test_strings_hex_and_padding() -> None:
    assert d.to_text(d.to_raw(rfc1902.OctetString(bytes.fromhex("4541544f4e20393345203830")))) == "EATON 93E 80"
    assert d.to_text(b"Array-3A3     \x00") == "Array-3A3"
    assert d.to_text("0x4541544f4e") == "EATON"  # a hex dump instead of the string
    assert d.to_text(b"\xff\xfe") == "\xff\xfe"  # not UTF-8: kept, not a crash
    assert d.to_raw(rfc1902.ObjectIdentifier("1.3.6.1.2.1.33.1.6.3.2")) == "1.3.6.1.2.1.33.1.6.3.2"
    assert d.to_raw(rfc1902.IpAddress("10.0.0.7")) == "10.0.0.7"
    spec = spec_of("ups-mib", "upsOutputVoltage")
    assert d.decode_value(b"230.5", spec) == 230.5  # numbers sent as text


def test_garbage_raises_decode_error() -> None:
    spec = spec_of("ups-mib", "upsOutputVoltage")
    with pytest.raises(d.DecodeError, match="expected a number"):
        d.decode_value(b"\x01\x02garbage", spec)
    with pytest.raises(d.DecodeError):
        d.decode_value(b"nan", spec)
    state = spec_of("ups-mib", "upsOutputSource")
    with pytest.raises(d.DecodeError):
        d.decode_value(b"online?", state)


def test_unknown_enum_value_is_named_not_crashed() -> None:
    state = spec_of("ups-mib", "upsOutputSource")
    assert d.decode_value(5, state) == "on_battery"
    assert d.decode_value(42, state) == "unknown"


def test_table_rows_with_a_stray_dot_zero() -> None:
    col = next(c for c in PROFILES["ups-mib"].columns if c.value.name == "upsOutputVoltage")
    # ...4.4.1.2.1.0 / .2.0 (stray instance suffix) and a single-row table served as .0
    assert d.decode_column(col, {(1, 0): 230, (2, 0): 231}, None)[:2] == [("output1", 230), ("output2", 231)]
    assert d.decode_column(col, {(0,): 229}, None)[0] == ("output1", 229)
    # a clean row wins over its stray twin
    assert d.decode_column(col, {(1, 0): 1, (1,): 230}, None)[0] == ("output1", 230)
    # Eaton ePDU unit 0 is a real index, not a stray suffix
    assert d.name_index((0, 3), ("unit", "outlet")) == {"unit": 0, "outlet": 3}


def test_raritan_decimal_digits() -> None:
    col = next(c for c in PROFILES["raritan-pdu2"].columns if c.value.name == "outletRmsCurrent")
    rows = {(1, 3, 1): 311, (1, 3, 5): 68, (1, 4, 1): 1500}
    digits = {(1, 3, 1): 3, (1, 3, 5): 0, (1, 4, 1): 2}
    assert d.decode_column(col, rows, digits) == [("outlet3", 0.311), ("outlet4", 15.0)]
    with pytest.raises(d.DecodeError, match="decimal digits"):
        d.decode_column(col, rows, {(1, 3, 1): 40})


def test_eaton_millivolts_and_milliamps() -> None:
    base = "1.3.6.1.4.1.534.6.6.7."
    records = {
        base + "3.2.1.3.0.1.1": 230_123,  # inputVoltage mV
        base + "3.3.1.4.0.1.1": 4_250,  # inputCurrent mA
        base + "3.5.1.4.0.1": 977,  # inputWatts
        base + "6.4.1.3.0.1": 1_200,  # outletCurrent mA
        base + "6.4.1.3.1.1": 9_999,  # a daisy-chained unit: not the master's outlet
        base + "6.6.1.2.0.1": 3,  # pendingOn
    }
    got = readings_by_key(d.decode_records(PROFILES["eaton-epdu"], "epdu", 0.0, records))
    assert got["phase1/voltage"] == pytest.approx(230.123)
    assert got["total/voltage"] == pytest.approx(230.123)
    assert got["total/current"] == pytest.approx(4.25)
    assert got["total/power"] == 977
    assert got["outlet1/current"] == pytest.approx(1.2)
    assert got["outlet1/state"] == "pending_on"


def test_alarm_table_names_the_well_known_alarms() -> None:
    records = {
        UPS + "6.2.1.2.1": "1.3.6.1.2.1.33.1.6.3.2",
        UPS + "6.2.1.2.2": "1.3.6.1.2.1.33.1.6.3.1",
        UPS + "6.2.1.2.3": "1.3.6.1.4.1.99.1",  # vendor-specific alarm
        UPS + "4.1.0": 5,
    }
    readings = d.decode_records(PROFILES["ups-mib"], "ups", 0.0, records)
    alarms = [r.value for r in readings if r.quantity == "alarm"]
    assert alarms == ["OnBattery", "BatteryBad", "Alarm(1.3.6.1.4.1.99.1)"]
    got = readings_by_key(readings)
    assert got["alarms/count"] == 3
    assert got["battery_health/state"] == "replace"
    assert got["ups/state"] == "on_battery"


def test_apc_status_values_raise_alarms() -> None:
    base = "1.3.6.1.4.1.318.1.1.1."
    records = {base + "4.1.1.0": 3, base + "2.1.1.0": 3, base + "2.2.4.0": 2}
    readings = d.decode_records(PROFILES["apc-powernet-ups"], "ups", 0.0, records)
    assert {r.value for r in readings if r.quantity == "alarm"} == {"OnBattery", "LowBattery", "BatteryBad"}
    got = readings_by_key(readings)
    assert (got["ups/state"], got["battery/state"], got["battery_health/state"]) == \
        ("on_battery", "low_battery", "replace")


def test_high_precision_wins_and_basic_fills_in() -> None:
    base = "1.3.6.1.4.1.318.1.1.1."
    prof = PROFILES["apc-powernet-ups"]
    both = readings_by_key(d.decode_records(prof, "u", 0.0, {base + "2.3.1.0": 995, base + "2.2.1.0": 99}))
    assert both["battery/charge"] == 99.5
    basic = readings_by_key(d.decode_records(prof, "u", 0.0, {base + "2.2.1.0": 99}))
    assert basic["battery/charge"] == 99


def test_snmprec_with_crlf_line_endings(peers_dir: Path) -> None:
    """snmpsim-data's phoenixtec file has CRLF endings: it must decode like the LF one."""
    text = (peers_dir / "snmp" / "recordings" / "ups-ietf-eaton-93e.snmprec").read_text()
    lf = d.records_raw(d.parse_snmprec(text))
    crlf = d.records_raw(d.parse_snmprec("\ufeff" + text.replace("\n", "\r\n")))
    assert crlf == lf
    assert lf[UPS + "2.4.0"] == 100
    assert lf["1.3.6.1.2.1.1.1.0"] == b"EATON 93E 80"
    prof = PROFILES["ups-mib"]
    assert readings_by_key(d.decode_records(prof, "u", 0.0, crlf)) == \
        readings_by_key(d.decode_records(prof, "u", 0.0, lf))


def test_snmprec_variation_modules_and_comments() -> None:
    recs = d.parse_snmprec("# comment\r\n\r\n1.3.6.1|2:numeric|min=1,max=2,initial=2\r\n"
                           "1.3.6.2|2:writecache|value=1,vlist=lt:1:wrongvalue\r\n1.3.6.3|64x|0a000001\r\n")
    assert d.records_raw(recs) == {"1.3.6.1": 2, "1.3.6.2": 1, "1.3.6.3": "10.0.0.1"}


def test_detection_prefers_vendor_over_ups_mib() -> None:
    ups = {UPS + "2.1.0": 2}
    assert d.choose_profile(PROFILES.values(), "1.3.6.1.4.1.705.1", ups).name == "ups-mib"
    apc = {**ups, "1.3.6.1.4.1.318.1.1.1.2.2.1.0": 100}
    assert d.choose_profile(PROFILES.values(), "1.3.6.1.4.1.318.1.3.27", apc).name == "apc-powernet-ups"
    # An Eaton ePDU that also answers UPS-MIB probes is still a PDU (LibreNMS #16994).
    epdu = {**ups, "1.3.6.1.4.1.534.6.6.7.1.2.1.2.0": b"EMAB04"}
    assert d.choose_profile(PROFILES.values(), "1.3.6.1.4.1.534.6.6.7", epdu).name == "eaton-epdu"
    assert d.choose_profile(PROFILES.values(), "1.3.6.1.4.1.476.1.42", {}) is None
