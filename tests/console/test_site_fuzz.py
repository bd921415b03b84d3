"""Property: whatever a site file holds, the validator returns a Site or raises SiteError whose
every problem names the file on one line, never anything else (issue 7, item 8).

Mutations start from the documented example and the demo site and change bytes, lines,
values, types, key names and nesting. Bounded for a 2-core CI: fixed examples, derandomised
(the same inputs every run), no example database written into the tree.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.demo.model import DemoConfig
from console.demo.sitefile import Endpoints, render
from console.site import Site, SiteError, load_site
from tests.support import REPO

EXAMPLE = (REPO / "resources" / "sites" / "example.toml").read_text(encoding="utf-8")
_cfg = DemoConfig()
DEMO = render(_cfg, Endpoints(redfish={s.id: 18000 + i for i, s in enumerate(_cfg.servers)},
                              ups=16161, pdu=16162, modbus=15020), seed=1, speed=1.0)
SEEDS = [EXAMPLE, DEMO]

FUZZ = settings(max_examples=150, deadline=2000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Values a careless or hostile file might hold where a valid one stood.
SCALARS = st.sampled_from([
    "nan", "inf", "-inf", "+inf", "1e308", "-1e308", "0", "-1", "1" + "0" * 30, "-" + "9" * 400, "0.0",
    "true", "false", '""', '"x"', '"\\u0000"', "'literal'", '"""\nmulti\n"""', "1979-05-27T07:32:00Z",
    "07:32:00", "1979-05-27", "0x7F7F", "0o777", "0b101", '"10s"', '"0.001s"', '"999999999d"', '"nan"',
    '"keyring:x"', '"env:X"', '"demo:bmc"', '"127.0.0.1:0"', '"[::1]:161"', '"a@b:1"', "[]", "{}",
    "[1, 2]", '["a", 1]', "{ a = 1 }", "{ password = \"x\" }", "[{ x = 1 }]", "1_000", "1e-400",
])
KEYS = st.sampled_from([
    "id", "kind", "protocol", "address", "credentials", "poll_interval", "timeout", "options", "devices",
    "outlet", "pdu", "servers", "tank", "consumers", "limits", "auth_password", "privPassword", "Community",
    "secret_key", "site", "power_path", "heat_path", "x", "__class__", "0", '"quoted key"', "a.b.c",
])
LINES = st.sampled_from([
    "[site]", "[[devices]]", "[limits]", "[[power_path.outlets]]", "[heat_path.tank]", "devices = 5",
    "[devices]", "site = 1", "=", "[", "]]", "{", '"""', "'''", "# comment", "\ufeff", "\x00", "\t",
    "x = [", "y = {", 'z = "unterminated', "[[devices]]\nid = 1", "a.b.c.d = 1", "limits = {}",
    "a." * 2000 + "b = 1", "[" + "t." * 2000 + "u]",
])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    lines = draw(st.sampled_from(SEEDS)).split("\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "value", "key", "nest", "delete", "duplicate", "swap",
                                   "insert", "type", "truncate"]))
        line = lines[i]
        key, eq, _ = line.partition("=")
        if op == "value" and eq:
            lines[i] = f"{key}= {draw(SCALARS)}"
        elif op == "key" and eq:
            lines[i] = f"{draw(KEYS)} ={line.partition('=')[2]}"
        elif op == "nest" and eq:
            depth = draw(st.integers(1, 3000))
            lines[i] = f"{key}= {'[' * depth}{line.partition('=')[2]}{']' * draw(st.integers(0, depth))}"
        elif op == "type" and eq:  # the same value as a list or a table
            lines[i] = f"{key}= " + draw(st.sampled_from(["[{v}]", "{{ v = {v} }}", "[[{v}]]"])).format(
                v=line.partition("=")[2].strip() or "1")
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(LINES))
        elif op == "truncate":
            lines = lines[:i + 1]
            lines[-1] = line[:draw(st.integers(0, len(line)))]
        if not lines:
            lines = [""]
    data = "\n".join(lines).encode("utf-8")
    if draw(st.booleans()):  # byte damage: flips, inserts, deletes, BOMs, invalid UTF-8
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 6))):
            pos = draw(st.integers(0, len(buf)))
            what = draw(st.sampled_from(["flip", "insert", "delete"]))
            if what == "flip" and pos < len(buf):
                buf[pos] = draw(st.integers(0, 255))
            elif what == "insert":
                buf[pos:pos] = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff", b"\x00", b"\r", b"\r\n",
                                                     b"\xc3", b"\xe2\x80\xa8", b"[", b"]", b'"', b"'"]))
            elif pos < len(buf):
                del buf[pos:pos + draw(st.integers(1, 40))]
        data = bytes(buf)
    return data


@pytest.fixture(scope="module")
def site_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def check(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        result = load_site(path)
    except SiteError as e:
        assert e.problems
        for p in e.problems:
            line = str(p)
            assert p.file == str(path) and line.startswith(f"{path}"), line
            assert len(line.splitlines()) == 1 and len(line) < 1000, line
        return
    assert isinstance(result, Site)


@FUZZ
@given(data=mutated())
def test_mutated_site_files_give_a_site_or_located_problems(site_dir: Path, data: bytes) -> None:
    check(site_dir / "site.toml", data)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_give_located_problems(site_dir: Path, data: bytes) -> None:
    check(site_dir / "bytes.toml", data)


def test_the_seeds_are_valid_sites(site_dir: Path) -> None:
    for i, text in enumerate(SEEDS):
        path = site_dir / f"seed{i}.toml"
        path.write_text(text, encoding="utf-8")
        assert isinstance(load_site(path), Site)
