"""Malformed site files found by hostile testing (issue 7, item 8): each gets one clear
problem with file, line and key, from the validator, ``heatrack site check`` and
``heatrack log`` alike, never a traceback and never a silent acceptance."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from console.cli import main
from console.site import SiteError, load_site, parse_site
from tests.support import REPO

EXAMPLE = REPO / "resources" / "sites" / "example.toml"
TEXT = EXAMPLE.read_text(encoding="utf-8")
POWER_PATH = "# ---------------------------------------------------------------- power path"


def line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


def edit(old: str, new: str) -> Callable[[], str]:
    def make() -> str:
        assert TEXT.count(old) >= 1, old
        return TEXT.replace(old, new, 1)
    return make


# name -> (file text, needle on the line the problem must name, key, words the message must hold)
CASES: dict[str, tuple[Callable[[], str], str, str, str]] = {
    "address written as a list": (edit('address = "10.20.0.3:161"', 'address = ["10.20.0.3", 161]'),
                                  'address = ["10.20.0.3"', "devices[4].address", "string"),
    "outlet written as a table": (edit("outlet = 2", "outlet = { number = 2 }"),
                                  "outlet = { number", "power_path.outlets[1].outlet", "integer"),
    "devices = 5": (lambda: "devices = 5\n" + TEXT.split("[[devices]]")[0] + TEXT[TEXT.index(POWER_PATH):],
                    "devices = 5", "devices", "list"),
    "3,000 nested brackets": (edit('location = "Exeter, UK"', "location = " + "[" * 3000 + "]" * 3000),
                              "location = [[[", "site.location", "nested"),
    "poll_interval = nan": (edit('poll_interval = "10s"', "poll_interval = nan"),
                            "poll_interval = nan", "devices[0].poll_interval", "finite"),
    "poll_interval = inf": (edit('poll_interval = "10s"', "poll_interval = inf"),
                            "poll_interval = inf", "devices[0].poll_interval", "finite"),
    "min_room_temp_c = nan": (edit("min_room_temp_c = 19", "min_room_temp_c = nan"),
                              "min_room_temp_c = nan", "comfort.min_room_temp_c", "finite"),
    "max_circuit_current_a = 1e308": (edit("max_circuit_current_a = 16", "max_circuit_current_a = 1e308"),
                                      "max_circuit_current_a", "limits.max_circuit_current_a", "<= 1000"),
    "auth_password in options": (edit('options = { version = "3" }',
                                      'options = { version = "3", auth_password = "hunter2hunter2" }'),
                                 "auth_password = ", "devices[3].options.auth_password", "keyring"),
    "privPassword on a device": (edit('credentials = "keyring:srv2-bmc"', 'privPassword = "hunter2hunter2"'),
                                 "privPassword = ", "devices[1].privPassword", "keyring"),
    "unclosed array at the end": (lambda: TEXT + "\nextra = [\n    1,\n    2,\n",
                                  "extra = [", "comfort.extra", "never closed"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_reported_file_gives_one_located_problem(name: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    make, needle, key, words = CASES[name]
    text = make()
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteError) as info:
        load_site(path)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.key) == (str(path), line_of(text, needle), key), problem
    assert words in problem.message
    assert "hunter2" not in str(problem)  # a secret is never echoed back
    assert len(str(problem).splitlines()) == 1 and len(str(problem)) < 400


@pytest.mark.parametrize("name", ["devices = 5", "3,000 nested brackets", "address written as a list"])
def test_cli_commands_report_instead_of_crashing(name: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.toml"
    path.write_text(CASES[name][0](), encoding="utf-8")
    for argv in (["site", "check", str(path)], ["log", "--site", str(path), "--db", str(tmp_path / "x.db")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert f"{path}:{line_of(path.read_text(), CASES[name][1])}: {CASES[name][2]}: " in err
        assert "Traceback" not in err
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_binary_file_is_not_utf8_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.toml"
    path.write_bytes(b'name = "ok"\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR' + bytes(range(256)))
    with pytest.raises(SiteError) as info:
        load_site(path)
    [problem] = info.value.problems
    assert (problem.file, problem.line) == (str(path), 2)
    assert "UTF-8" in problem.message
    assert main(["site", "check", str(path)]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode())
    assert load_site(path).site.name == "Riverside makerspace"
    assert parse_site("\ufeff" + TEXT).site.name == "Riverside makerspace"
    # and lines stay right after the BOM
    with pytest.raises(SiteError) as info:
        parse_site("\ufeff" + TEXT.replace("min_flow_lpm = 4", "min_flow_lpm = -4"), "s.toml")
    assert info.value.problems[0].line == line_of(TEXT, "min_flow_lpm")


def test_unclosed_inline_table_and_string_name_where_they_opened() -> None:
    for tail, needle in (('\nmore = { a = 1,\n b = 2\n', "more = {"),
                         ('\nnotes = """\nnever ends\n', 'notes = """'),
                         ("\nlist = [[1, 2], [3,\n", "list = [[")):
        text = TEXT + tail
        with pytest.raises(SiteError) as info:
            parse_site(text, "s.toml")
        [problem] = info.value.problems
        assert problem.line == line_of(text, needle), (tail, problem)


def test_deeply_dotted_keys_name_their_line() -> None:
    for extra in ("[site]\n" + "a." * 5000 + "b = 1\n", "[" + "t." * 3000 + "u]\nx = 1\n"):
        text = TEXT + "\n" + extra
        with pytest.raises(SiteError) as info:
            parse_site(text, "s.toml")
        [problem] = info.value.problems
        assert problem.line == len(TEXT.split("\n")) + (2 if extra.startswith("[site]") else 1), problem
        assert "nested deeper than 32" in problem.message and len(str(problem)) < 200
    # found by the fuzz test: a deep table name and deep brackets on the next line
    text = TEXT + "\n[" + "t." * 2000 + "u]\nid = " + "[" * 40 + "1" + "]" * 40 + "\n"
    with pytest.raises(SiteError) as info:
        parse_site(text, "s.toml")
    assert all(len(str(p)) < 300 for p in info.value.problems), info.value


def test_directory_and_huge_file_are_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="cannot read"):
        load_site(tmp_path)
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    with pytest.raises(SiteError, match="too large"):
        load_site(big)


@pytest.mark.parametrize(("old", "new", "key", "words"), [
    ('poll_interval = "10s"', 'poll_interval = "10ms"', "devices[0].poll_interval", ">= 0.05"),
    ('poll_interval = "10s"', 'poll_interval = "2d"', "devices[0].poll_interval", "<= 86400"),
    ('timeout = "3s"', 'timeout = "5ms"', "devices[0].timeout", ">= 0.01"),
    ('timeout = "3s"', 'timeout = "121s"', "devices[0].timeout", "<= 120"),
    ('timeout = "2s"', "timeout = 1" + "0" * 400, "devices[5].timeout", "too large"),
    ('timeout = "2s"', "timeout = 1e400", "devices[5].timeout", "finite"),
    ("max_loop_temp_c = 65", "max_loop_temp_c = 1e308", "limits.max_loop_temp_c", "<= 100"),
    ("min_flow_lpm = 4", "min_flow_lpm = 1e9", "limits.min_flow_lpm", "<= 10000"),
    ("max_circuit_current_a = 16", "max_circuit_current_a = 10000000000000000000000000",
     "limits.max_circuit_current_a", "<= 1000"),
    ("min_room_temp_c = 19", "min_room_temp_c = -300", "comfort.min_room_temp_c", ">= 0"),
    ("max_room_temp_c = 23", "max_room_temp_c = inf", "comfort.max_room_temp_c", "finite"),
    ("volume_l = 300", "volume_l = inf", "heat_path.tank.volume_l", "finite"),
    ("design_w = 3000", "design_w = nan", "heat_path.consumers[0].design_w", "finite"),
    ("electricity_price_per_kwh = 0.245", "electricity_price_per_kwh = nan",
     "tariffs.electricity_price_per_kwh", "finite"),
    ("co2_grid_kg_per_kwh = 0.207", "co2_grid_kg_per_kwh = 207", "tariffs.co2_grid_kg_per_kwh", "<= 2"),
    ("latitude = 50.72", "latitude = nan", "site.latitude", "finite"),
])
def test_values_have_sane_bounds(old: str, new: str, key: str, words: str) -> None:
    text = TEXT.replace(old, new, 1)
    with pytest.raises(SiteError) as info:
        parse_site(text, "s.toml")
    [problem] = info.value.problems
    assert (problem.line, problem.key) == (line_of(text, new), key), problem
    assert words in problem.message, problem


@pytest.mark.parametrize("line", [
    'options = { version = "3", authPassword = "x" }', 'options = { "priv-passphrase" = "x" }',
    'options = { snmp_community_string = "x" }', 'options = { AuthKey = "x" }', 'options = { api_token = "x" }',
    'options = { client_secret = "x" }', 'options = { credential = "x" }', 'options = { passwd = "x" }',
])
def test_secrets_under_any_spelling_are_refused(line: str) -> None:
    text = TEXT.replace('options = { version = "3" }', line)
    with pytest.raises(SiteError) as info:
        parse_site(text, "s.toml")
    [problem] = info.value.problems
    assert "keyring" in problem.message and problem.line == line_of(text, line)


def test_legit_keys_are_not_secrets() -> None:
    text = TEXT.replace('options = { version = "3" }',
                        'options = { version = "3", auth_protocol = "SHA", priv_protocol = "AES", '
                        'context = "ups", retries = 2, auth_credentials = "keyring:ups1-auth" }')
    site = parse_site(text)
    assert site.device("ups1").options["auth_protocol"] == "SHA"
    assert site.heat_path.bypass.kind == "dry_cooler"  # "bypass" holds "pass": not a secret


def test_inline_credentials_value_is_never_echoed() -> None:
    text = TEXT.replace('credentials = "keyring:srv2-bmc"', 'credentials = "hunter2 is my password"')
    with pytest.raises(SiteError) as info:
        parse_site(text, "s.toml")
    [problem] = info.value.problems
    assert problem.key == "devices[1].credentials" and "keyring:NAME" in problem.message
    assert "hunter2" not in str(problem)
