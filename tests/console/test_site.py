"""Site files: the example is valid, and every kind of mistake is reported at once with
file, line and key."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from console.cli import main
from console.site import SiteError, device_spec, load_site, parse_site
from tests.support import REPO

EXAMPLE = REPO / "resources" / "sites" / "example.toml"


def test_example_site_is_valid_and_complete() -> None:
    site = load_site(EXAMPLE)
    assert site.site.name
    kinds = {d.kind for d in site.devices}
    assert {"server", "ups", "pdu", "heat_controller", "gpu_host"} <= kinds
    assert site.power_path.outlets and site.power_path.feeds
    assert site.heat_path.tank.volume_l > 0
    # durations are parsed to seconds
    assert site.device("srv1").poll_interval == 10.0
    assert site.device("heat1").timeout == 2.0


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return i
    raise AssertionError(needle)


def test_every_problem_reported_with_file_line_and_key(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    text = text.replace('address = "10.20.0.3:161"', 'address = "pdu1"')
    text = text.replace("min_flow_lpm = 4", "min_flow_lpm = -4\nflow_typo = 1")
    text = text.replace('device = "srv2"', 'device = "srv9"')
    text = text.replace('displaced_fuel = "gas"', 'displaced_fuel = "coal"')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(SiteError) as info:
        load_site(bad)
    got = {(p.line, p.key): p.message for p in info.value.problems}
    pdu_index = [i for i, d in enumerate(EXAMPLE.read_text().split("[[devices]]")[1:]) if 'id = "pdu1"' in d][0]
    assert got[(_line_of(text, 'address = "pdu1"'), f"devices[{pdu_index}].address")] == \
        "expected host:port, got 'pdu1'"
    assert "no device with id 'srv9'" in got[(_line_of(text, 'device = "srv9"'), "power_path.outlets[1].device")]
    assert ">= 0" in got[(_line_of(text, "min_flow_lpm = -4"), "limits.min_flow_lpm")]
    assert "unknown key" in got[(_line_of(text, "flow_typo"), "limits.flow_typo")]
    assert "'coal'" in got[(_line_of(text, 'displaced_fuel = "coal"'), "tariffs.displaced_fuel")]
    assert len(info.value.problems) == 5
    assert all(str(p).startswith(f"{bad}:") for p in info.value.problems)


@pytest.mark.parametrize("line", ['password = "hunter2"', 'community = "private"',
                                  'options = { auth_key = "abc12345" }'])
def test_inline_secret_is_refused(line: str) -> None:
    text = EXAMPLE.read_text().replace('credentials = "keyring:srv2-bmc"', line)
    with pytest.raises(SiteError) as info:
        parse_site(text, "site.toml")
    [problem] = info.value.problems
    assert "keyring" in problem.message and problem.line == _line_of(text, line)
    assert problem.key.startswith("devices[1].")


def test_credentials_in_address_are_refused() -> None:
    text = EXAMPLE.read_text().replace('"10.20.0.3:161"', '"public@10.20.0.3:161"')
    with pytest.raises(SiteError, match="credentials in the address"):
        parse_site(text)


def test_invalid_toml_names_the_line() -> None:
    text = EXAMPLE.read_text().replace('name = "Riverside makerspace"', 'name = "Riverside')
    with pytest.raises(SiteError) as info:
        parse_site(text, "s.toml")
    assert info.value.problems[0].line == _line_of(text, 'name = "Riverside')


def test_kind_and_protocol_must_agree_and_ids_unique() -> None:
    text = EXAMPLE.read_text().replace('protocol = "modbus"', 'protocol = "snmp"', 1)
    text = text.replace('id = "srv2"', 'id = "srv1"')
    with pytest.raises(SiteError) as info:
        parse_site(text)
    msgs = [f"{p.key}: {p.message}" for p in info.value.problems]
    assert any(re.search(r"devices\[\d\]\.protocol: a heat_controller speaks modbus, not snmp", m) for m in msgs)
    assert any("duplicate id 'srv1'" in m for m in msgs)


def test_device_spec_carries_what_clients_need() -> None:
    site = load_site(EXAMPLE)
    spec = device_spec(site.device("heat1"))
    assert (spec.protocol, spec.address, spec.profile, spec.options["unit"]) == \
        ("modbus", "10.20.0.20:502", "heatrack-default", 1)
    assert spec.timeout_s < spec.poll_interval_s
    assert device_spec(site.device("gpuhost")).address == ""


def test_site_check_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["site", "check", str(EXAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "b.toml"
    bad.write_text(EXAMPLE.read_text().replace("max_tank_temp_c = 75", "max_tank_temp_c = 'hot'"))
    assert main(["site", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:{_line_of(bad.read_text(), 'max_tank_temp_c')}: limits.max_tank_temp_c:" in err
    assert main(["site", "check", str(tmp_path / "missing.toml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_demo_references_resolve_anywhere_and_env_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from console.demo.credentials import BMC_PASSWORD
    from console.secrets import SecretError, resolve

    assert resolve("demo:bmc").password == BMC_PASSWORD
    with pytest.raises(SecretError, match="no demo credentials"):
        resolve("demo:nope")
    monkeypatch.setenv("HR_SNMP", '{"username": "u", "auth_key": "a1234567", "priv_key": "p1234567"}')
    creds = resolve("env:HR_SNMP")
    assert (creds.username, creds.auth_key) == ("u", "a1234567")
    assert "a1234567" not in repr(creds)  # secrets never show up in logs through repr
    monkeypatch.setenv("HR_BAD", '{"user": "x"}')
    with pytest.raises(SecretError, match="unknown fields: user"):
        resolve("env:HR_BAD")
    monkeypatch.delenv("HR_MISSING", raising=False)
    with pytest.raises(SecretError, match="HR_MISSING is not set"):
        resolve("env:HR_MISSING")


def test_https_devices_pin_into_a_file_that_outlives_the_process(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEATRACK_DATA_DIR", str(tmp_path))
    site = load_site(EXAMPLE)
    spec = device_spec(site.device("srv1"))
    assert spec.tls and Path(spec.options["pin_store"]).parent == tmp_path
    assert "pin_store" not in device_spec(site.device("heat1")).options
