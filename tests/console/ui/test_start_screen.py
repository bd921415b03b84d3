"""The first-run screen: recent sites (most recent first, a missing file greyed and removable),
open / demo / create choices returned to the command, a broken file refused in one line."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from console.site import load_site
from console.ui.start_screen import CreateSiteDialog, StartChoice, StartScreen, recent_sites, remember_site
from tests.fakes.memory_keyring import MemoryKeyring, memory_keyring
from tests.support import REPO

EXAMPLE = REPO / "resources" / "sites" / "example.toml"


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def sites(tmp_path: Path) -> list[Path]:
    out = []
    for name in ("a", "b"):
        p = tmp_path / f"{name}.toml"
        p.write_bytes(EXAMPLE.read_bytes())
        out.append(p)
    return out


@pytest.fixture
def kr() -> Iterator[MemoryKeyring]:
    with memory_keyring() as k:
        yield k


def _screen(qtbot: Any, settings: QSettings, **kw: Any) -> StartScreen:
    s = StartScreen(settings=settings, **kw)
    qtbot.addWidget(s)
    return s


def test_recent_sites_most_recent_first_missing_greyed_and_removable(qtbot: Any, settings: QSettings,
                                                                       sites: list[Path], tmp_path: Path) -> None:
    gone = tmp_path / "gone.toml"
    for p in (sites[0], gone, sites[1], sites[0]):  # a again: it moves to the top, once
        remember_site(settings, p)
    assert recent_sites(settings) == [str(sites[0]), str(sites[1]), str(gone)]
    s = _screen(qtbot, settings)
    texts = [s.recent.item(i).text() for i in range(s.recent.count())]
    assert texts == [f"Riverside makerspace  ·  {sites[0]}", f"Riverside makerspace  ·  {sites[1]}",
                     f"{gone} — not found"]
    missing = s.recent.item(2)
    assert missing.foreground().color() != s.recent.item(0).foreground().color()  # greyed
    s.recent.setCurrentRow(2)
    assert not s.open_recent.isEnabled() and s.remove_recent.isEnabled()
    s.remove_recent.click()
    assert recent_sites(settings) == [str(sites[0]), str(sites[1])] and s.recent.count() == 2
    s.show()
    s.recent.setCurrentRow(1)
    s.recent.setFocus()
    qtbot.keyClick(s.recent, Qt.Key.Key_Delete)
    assert recent_sites(settings) == [str(sites[0])]


def test_open_a_recent_site(qtbot: Any, settings: QSettings, sites: list[Path]) -> None:
    remember_site(settings, sites[1])
    remember_site(settings, sites[0])
    s = _screen(qtbot, settings)
    s.recent.setCurrentRow(1)
    s.open_recent.click()
    assert s.choice == StartChoice("open", str(sites[1].resolve())) and s.result() == 1
    assert recent_sites(settings)[0] == str(sites[1])


def test_open_a_file_and_the_demo(qtbot: Any, settings: QSettings, sites: list[Path]) -> None:
    s = _screen(qtbot, settings, pick_file=lambda parent: str(sites[0]))
    s.open_button.click()
    assert s.choice == StartChoice("open", str(sites[0].resolve()))
    assert recent_sites(settings) == [str(sites[0])]
    s = _screen(qtbot, settings)
    s.demo_button.click()
    assert s.choice == StartChoice("demo")
    s = _screen(qtbot, settings, pick_file=lambda parent: "")  # the file dialog was cancelled
    s.open_button.click()
    assert s.choice is None


def test_a_broken_site_file_is_one_line_and_not_opened(qtbot: Any, settings: QSettings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace("max_loop_temp_c = 65", "max_loop_temp_c = 650")
                   .replace('currency = "GBP"', 'currency = "POUNDS"'))
    s = _screen(qtbot, settings, pick_file=lambda parent: str(bad))
    s.open_button.click()
    assert s.choice is None and recent_sites(settings) == []
    text = s.error.text()
    assert "\n" not in text and str(bad) in text and "(and 1 more problem)" in text


def test_create_a_site_then_open_it(qtbot: Any, settings: QSettings, tmp_path: Path, kr: MemoryKeyring) -> None:
    target = tmp_path / "maple.toml"
    made: list[CreateSiteDialog] = []

    def create(parent: Any) -> str | None:
        d = CreateSiteDialog(parent, pick_path=lambda p: str(target))
        qtbot.addWidget(d)
        made.append(d)
        d.name.setText("Maple Street")
        d.currency.setText("EUR")
        d.server_address.setText("10.0.0.11:443")
        d.server_user.setText("admin")
        d.server_password.setText("pw-never-in-file")
        d.controller_address.setText("10.0.0.20:502")
        d.save()
        return d.path

    s = _screen(qtbot, settings, create=create)
    s.create_button.click()
    assert s.choice == StartChoice("open", str(target.resolve()))
    site = load_site(target)
    assert site.site.name == "Maple Street" and site.tariffs.currency == "EUR"
    assert "pw-never-in-file" not in target.read_text()
    assert "pw-never-in-file" in kr.entries[("heatrack", "maple.srv1")]


def test_create_refuses_in_one_line(qtbot: Any, tmp_path: Path) -> None:
    d = CreateSiteDialog(pick_path=lambda p: str(tmp_path / "x.toml"))
    qtbot.addWidget(d)
    d.save()
    assert d.error.text() == "Give the site a name." and d.path is None
    d.name.setText("X")
    d.server_address.setText("no port")
    d.controller_address.setText("10.0.0.20:502")
    d.save()
    assert "address" in d.error.text() and "\n" not in d.error.text() and d.path is None
    assert not (tmp_path / "x.toml").exists()


def test_recent_list_shares_the_window_menus_form(settings: QSettings, sites: list[Path]) -> None:
    # File ▸ Recent sites stores a plain list under the same key; QSettings hands a one-item list
    # back as a string. Both directions read the same paths.
    settings.setValue("recent_sites", [str(sites[1]), str(sites[0])])
    assert recent_sites(settings) == [str(sites[1]), str(sites[0])]
    settings.setValue("recent_sites", str(sites[0]))
    assert recent_sites(settings) == [str(sites[0])]
    remember_site(settings, sites[1])
    value = settings.value("recent_sites")
    assert value == [str(sites[1]), str(sites[0])]
