"""Writing site files (console/site_writer.py): a new site from answers, a device appended with
every other byte kept, duplicates refused, secrets only in the keyring."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.secrets import KEYRING_SERVICE, resolve
from console.site import load_site
from console.site_writer import NewDevice, SiteAnswers, SiteWriteError, append_device, create_site
from protocols.base import Credentials
from tests.fakes.memory_keyring import MemoryKeyring, memory_keyring
from tests.support import REPO

EXAMPLE = REPO / "resources" / "sites" / "example.toml"
SECRET = "hunter2-very-secret"


@pytest.fixture
def kr() -> Iterator[MemoryKeyring]:
    with memory_keyring() as k:
        yield k


def _pdu(dev_id: str = "pdu2", **kw: object) -> NewDevice:
    args: dict[str, object] = dict(id=dev_id, kind="pdu", protocol="snmp", address="10.20.0.4:161", name="Second PDU",
                                   options={"version": "2c"}, poll_interval=15.0,
                                   credentials=Credentials(community=SECRET))
    args.update(kw)
    return NewDevice(**args)  # type: ignore[arg-type]


def test_append_keeps_every_other_byte_and_loads(tmp_path: Path, kr: MemoryKeyring) -> None:
    site = tmp_path / "riverside.toml"
    original = EXAMPLE.read_bytes()
    site.write_bytes(original)
    ref = append_device(site, _pdu())
    after = site.read_bytes()
    assert ref == "keyring:riverside.pdu2"
    # the file is the old one with one block inserted: every old byte kept, in order
    block = (b'\n[[devices]]\nid = "pdu2"\nname = "Second PDU"\nkind = "pdu"\nprotocol = "snmp"\n'
             b'address = "10.20.0.4:161"\ncredentials = "keyring:riverside.pdu2"\noptions = { version = "2c" }\n'
             b'poll_interval = "15s"\ntimeout = "3s"\n')
    at = after.index(block)
    assert after[:at] + after[at + len(block):] == original
    loaded = load_site(site)
    dev = loaded.device("pdu2")
    assert (dev.kind, dev.address, dev.credentials, dev.poll_interval) == ("pdu", "10.20.0.4:161", ref, 15.0)
    assert [d.id for d in loaded.devices][-1] == "pdu2"
    # the device sits with the others, before the power path's comments
    assert after.index(b'id = "pdu2"') < after.index(b"# ---------------------------------------------------------------- power path")


def test_secrets_never_in_the_file_and_present_in_the_keyring(tmp_path: Path, kr: MemoryKeyring) -> None:
    site = tmp_path / "s.toml"
    site.write_bytes(EXAMPLE.read_bytes())
    creds = Credentials(username="heatrack", auth_key="auth-" + SECRET, priv_key="priv-" + SECRET)
    ref = append_device(site, _pdu("ups2", kind="ups", options={"version": "3"}, credentials=creds))
    text = site.read_text()
    assert SECRET not in text and ref in text
    stored = json.loads(kr.entries[(KEYRING_SERVICE, "s.ups2")])
    assert stored["auth_key"] == "auth-" + SECRET and stored["priv_key"] == "priv-" + SECRET
    got = resolve(ref)  # console.secrets reads what was stored
    assert (got.username, got.auth_key, got.priv_key) == ("heatrack", "auth-" + SECRET, "priv-" + SECRET)


def test_duplicate_id_refused_in_one_line_naming_the_file(tmp_path: Path, kr: MemoryKeyring) -> None:
    site = tmp_path / "s.toml"
    site.write_bytes(EXAMPLE.read_bytes())
    before = site.read_bytes()
    with pytest.raises(SiteWriteError) as e:
        append_device(site, _pdu("pdu1"))
    msg = str(e.value)
    assert "\n" not in msg and str(site) in msg and "'pdu1' already exists" in msg
    assert site.read_bytes() == before and not kr.entries  # nothing written, no secret stored


def test_a_device_that_would_not_load_is_not_written(tmp_path: Path, kr: MemoryKeyring) -> None:
    site = tmp_path / "s.toml"
    site.write_bytes(EXAMPLE.read_bytes())
    before = site.read_bytes()
    with pytest.raises(SiteWriteError, match=r"would not load: .*address: expected host:port"):
        append_device(site, _pdu(address="no-port-here"))
    with pytest.raises(SiteWriteError, match="timeout"):
        append_device(site, _pdu(timeout=20.0, poll_interval=10.0))
    assert site.read_bytes() == before and not kr.entries


def test_append_keeps_crlf_and_works_on_a_file_ending_without_newline(tmp_path: Path, kr: MemoryKeyring) -> None:
    site = tmp_path / "s.toml"
    crlf = EXAMPLE.read_bytes().replace(b"\n", b"\r\n").rstrip(b"\r\n")
    site.write_bytes(crlf)
    append_device(site, _pdu(credentials=None))
    after = site.read_bytes()
    assert after.count(b"\r\n") == after.count(b"\n")  # no bare LF slipped in
    assert after.startswith(crlf[:after.index(b'[[devices]]\r\nid = "pdu2"') - 4])
    assert load_site(site).device("pdu2").credentials is None


def test_a_broken_file_is_refused_not_patched(tmp_path: Path) -> None:
    site = tmp_path / "s.toml"
    site.write_text(EXAMPLE.read_text().replace("max_loop_temp_c = 65", "max_loop_temp_c = 650"))
    with pytest.raises(SiteWriteError, match=r"has problems; fix them first: .*max_loop_temp_c"):
        append_device(site, _pdu(credentials=None))


def test_write_is_atomic_temp_then_replace(tmp_path: Path, kr: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "s.toml"
    site.write_bytes(EXAMPLE.read_bytes())
    before = site.read_bytes()

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("console.site_writer.os.replace", boom)
    with pytest.raises(SiteWriteError, match="cannot write .No space left on device"):
        append_device(site, _pdu(credentials=None))
    assert site.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["s.toml"]  # no temp left


def _answers(**kw: object) -> SiteAnswers:
    devices = (NewDevice("srv1", "server", "redfish", "10.0.0.11:443", name="GPU server", tls=True,
                         credentials=Credentials(username="admin", password=SECRET)),
               NewDevice("heat1", "heat_controller", "modbus", "10.0.0.20:502", profile="heatrack-default",
                         options={"unit": 1}, poll_interval=5, timeout=2))
    args: dict[str, object] = dict(name="Maple Street", location="Leeds, UK", timezone="Europe/London",
                                   devices=devices, currency="gbp")
    args.update(kw)
    return SiteAnswers(**args)  # type: ignore[arg-type]


def test_created_site_loads_with_secrets_in_the_keyring(tmp_path: Path, kr: MemoryKeyring) -> None:
    path = create_site(tmp_path / "maple.toml", _answers())
    site = load_site(path)
    text = path.read_text()
    assert SECRET not in text and "password" not in text
    assert site.site.name == "Maple Street" and site.tariffs.currency == "GBP"
    assert site.heat_path.servers == ["srv1"] and site.heat_path.loop == "heat1"
    assert site.device("srv1").credentials == "keyring:maple.srv1" and site.device("srv1").tls
    assert json.loads(kr.entries[(KEYRING_SERVICE, "maple.srv1")]) == {
        "username": "admin", "password": SECRET, "auth_protocol": "SHA", "priv_protocol": "AES"}
    with pytest.raises(SiteWriteError, match="already exists"):
        create_site(path, _answers())


def test_create_refuses_what_would_not_load(tmp_path: Path, kr: MemoryKeyring) -> None:
    with pytest.raises(SiteWriteError, match="heat controller"):
        create_site(tmp_path / "a.toml", _answers(devices=(NewDevice("srv1", "server", "redfish", "h:443"),)))
    with pytest.raises(SiteWriteError, match=r"not written: .*currency"):
        create_site(tmp_path / "b.toml", _answers(currency="POUNDS"))
    assert list(tmp_path.iterdir()) == [] and not kr.entries


def test_keyring_unavailable_is_one_line(tmp_path: Path) -> None:
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    before = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        site = tmp_path / "s.toml"
        site.write_bytes(EXAMPLE.read_bytes())
        with pytest.raises(SiteWriteError) as e:
            append_device(site, _pdu())
        assert "OS keyring unavailable" in str(e.value) and "\n" not in str(e.value)
        assert site.read_bytes() == EXAMPLE.read_bytes()
    finally:
        keyring.set_keyring(before)


def test_devices_as_an_inline_array_are_refused_untouched(tmp_path: Path, kr: MemoryKeyring) -> None:
    from tests.fakes.sites import site_toml

    # a valid file whose devices are one inline array: a [[devices]] block cannot extend it
    inline = ('devices = [{ id = "srv1", kind = "server", protocol = "redfish", address = "10.0.0.1:443" }, '
              '{ id = "heat1", kind = "heat_controller", protocol = "modbus", address = "10.0.0.2:502" }]\n')
    site = tmp_path / "inline.toml"
    site.write_text(inline + site_toml([]))
    load_site(site)
    before = site.read_bytes()
    with pytest.raises(SiteWriteError, match="inline array"):
        append_device(site, _pdu(credentials=None))
    assert site.read_bytes() == before


def test_a_minimal_site_gets_its_device_after_the_last_one(tmp_path: Path, kr: MemoryKeyring) -> None:
    from tests.fakes.sites import device, site_toml

    site = tmp_path / "min.toml"
    site.write_text(site_toml([device("srv1", "server", "redfish", 1), device("heat1", "heat_controller", "modbus", 3)]))
    before = site.read_text()
    append_device(site, _pdu(credentials=None))
    after = site.read_text()
    assert after.index('id = "pdu2"') < after.index("[heat_path]")
    assert load_site(site).devices[-1].id == "pdu2" and len(after) > len(before)
