"""The window shell: pages from the registry (a missing one skipped, a broken one replaced by a
line saying why), only the page in view refreshed, navigation, shortcuts, status bar, themes."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from console.ui import theme
from console.ui.main_window import MainWindow
from tests.fakes.views import view_context


class Counting(QWidget):
    """A page that counts its refreshes and remembers what it was asked to select."""

    title = "Counting"
    built: list[Counting] = []

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.refreshes = 0
        self.selected: list[str] = []
        self.themes: list[str] = []
        Counting.built.append(self)

    def refresh(self) -> None:
        self.refreshes += 1

    def select(self, target: str) -> None:
        self.selected.append(target)

    def apply_theme(self, name: str) -> None:
        self.themes.append(name)


class Other(Counting):
    title = "Other"


class Broken(QWidget):
    title = "Broken"

    def __init__(self, ctx) -> None:
        raise RuntimeError("no heat path\nin this site")


PAGES = [("first", f"{__name__}:Counting"), ("missing", "console.ui.not_written_yet:Nothing"),
         ("broken", f"{__name__}:Broken"), ("second", f"{__name__}:Other")]


@pytest.fixture
def window(qtbot):
    import pyqtgraph as pg

    app = QApplication.instance()
    # a theme is application-wide: give the next tests the application as it was
    before = (app.style().name(), QPalette(app.palette()), app.styleSheet(),
              {k: pg.getConfigOption(k) for k in ("background", "foreground", "antialias")})
    ctx, feeder = view_context(qtbot, db_path="site.db")
    w = MainWindow(ctx, pages=PAGES, tick_ms=50)
    qtbot.addWidget(w)
    yield w, ctx, feeder
    w.close()
    style, palette, sheet, options = before
    app.setStyleSheet(sheet)
    app.setStyle(style)
    app.setPalette(palette)
    pg.setConfigOptions(**options)
    app.setProperty("heatrack_theme", None)


def test_pages_come_from_the_registry_missing_ones_skipped_broken_ones_explained(window) -> None:
    w, ctx, _ = window
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == ["Counting", "Broken", "Other"]
    assert list(w.pages) == ["first", "broken", "second"]
    broken = w.pages["broken"]
    assert isinstance(broken, QLabel) and "no heat path in this site" in broken.text()
    assert ctx.navigate == w.navigate  # pages move the user through the window


def test_only_the_page_in_view_refreshes_and_a_shown_page_refreshes_at_once(qtbot, window) -> None:
    w, ctx, feeder = window
    first, second = w.pages["first"], w.pages["second"]
    feeder.step(60)  # the live model changed: the bridge ticks
    qtbot.waitUntil(lambda: first.refreshes >= 3, timeout=3000)  # bridge tick + the window's timer
    assert second.refreshes == 0
    w.tabs.setCurrentWidget(second)
    assert second.refreshes == 1  # at once, not at the next tick
    before = first.refreshes
    qtbot.waitUntil(lambda: second.refreshes >= 3, timeout=3000)
    assert first.refreshes == before


def test_navigate_switches_page_and_selects_the_target(window) -> None:
    w, ctx, _ = window
    ctx.navigate("second", "srv1/chassis/power")
    assert w.tabs.currentWidget() is w.pages["second"]
    assert w.pages["second"].selected == ["srv1/chassis/power"]
    ctx.navigate("nowhere", "x")  # unknown page: nothing happens
    assert w.tabs.currentWidget() is w.pages["second"]


def test_ctrl_number_reaches_every_page(qtbot, window) -> None:
    w, _, _ = window
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=2000)
    for n in (3, 1, 2):
        qtbot.keyClick(w, getattr(Qt.Key, f"Key_{n}"), Qt.KeyboardModifier.ControlModifier)
        assert w.tabs.currentIndex() == n - 1
    assert "Ctrl+3" in w.shortcuts_text() and "Other" in w.shortcuts_text()


def test_status_bar_counts_devices_alarms_and_names_the_database(window) -> None:
    w, ctx, feeder = window
    assert w.status_text() == "0 of 7 devices reporting · 0 active alarms · logging to site.db"
    feeder.step(60)
    from console.recorder import RecordedEvent

    ctx.live.on_event(RecordedEvent(7, 1.0, "alarm", "heat1", "pump_fault", "pump stopped"))
    w.refresh()
    assert w.status.text() == "7 of 7 devices reporting · 1 active alarm · logging to site.db"


def test_read_only_window_says_so(qtbot) -> None:
    ctx, _ = view_context(qtbot, db_path="site.db", read_only=True)
    w = MainWindow(ctx, pages=PAGES[:1])
    qtbot.addWidget(w)
    assert "read-only" in w.windowTitle() and "read-only" in w.banner.text()
    assert w.status_text().endswith("viewing site.db read-only")
    w.close()


def test_themes_switch_the_palette_and_tell_the_pages(window) -> None:
    w, _, _ = window
    app = QApplication.instance()
    assert w.set_theme("dark", save=False) == "dark"
    dark = app.palette().color(QPalette.ColorRole.Window)
    assert dark.lightness() < 80
    assert w.pages["first"].themes == ["dark"] and w.theme_actions["dark"].isChecked()
    assert w.set_theme("light", save=False) == "light"
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 180
    # text stays readable in both: strong contrast between text and its background
    for name in ("light", "dark"):
        pal = theme.palette_for(name)
        text, base = pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base)
        assert abs(text.lightness() - base.lightness()) > 150
    with pytest.raises(ValueError, match="theme must be one of"):
        theme.resolve("sepia")


def test_the_devices_page_is_registered_and_builds_in_the_window(qtbot) -> None:
    ctx, feeder = view_context(qtbot)
    w = MainWindow(ctx, pages=[("devices", "console.ui.devices_view:DevicesView")])
    qtbot.addWidget(w)
    feeder.step(60)
    w.refresh()
    assert w.pages["devices"].tree.state_of("srv1") == "ok"
    from console.ui.pages import PAGES as REGISTERED

    assert ("devices", "console.ui.devices_view:DevicesView") in REGISTERED
    w.close()


def test_open_without_a_site_and_without_a_display_says_so_in_one_line(monkeypatch, capsys) -> None:
    from console.cli import main

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main(["open"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no display" in err
    assert main([]) == 0  # no command, no screen: the help, not a window
    assert "usage: heatrack" in capsys.readouterr().out


def test_a_closed_window_is_not_kept_in_a_cycle_by_its_context(qtbot) -> None:
    """ctx.navigate was the window's bound method after close: window -> ctx -> window, a cycle
    the collector could break on a worker thread, destroying widgets off the GUI thread (seen
    once as "QBasicTimer::start: Timers cannot be started from another thread")."""
    ctx, _ = view_context(qtbot)
    w = MainWindow(ctx, pages=PAGES[:1])
    qtbot.addWidget(w)
    assert getattr(ctx.navigate, "__self__", None) is w
    w.close()
    assert getattr(ctx.navigate, "__self__", None) is None
    ctx.navigate("first", "srv1")  # harmless once closed


def test_file_open_site_replaces_the_window_and_add_device_belongs_to_the_open_file(qtbot, tmp_path,
                                                                                     monkeypatch) -> None:
    from console.site import parse_site
    from console.ui.app import ConsoleSession, SiteWindows
    from tests.fakes.sites import site_toml

    monkeypatch.setenv("HEATRACK_DATA_DIR", str(tmp_path / "data"))
    first_file, second_file = tmp_path / "first.toml", tmp_path / "second.toml"
    text = site_toml(['[[devices]]\nid = "srv1"\nkind = "server"\nprotocol = "redfish"\naddress = "127.0.0.1:1"\n',
                      '[[devices]]\nid = "heat1"\nkind = "heat_controller"\nprotocol = "modbus"\n'
                      'address = "127.0.0.1:3"\nprofile = "heatrack-default"\n'])
    first_file.write_text(text.replace('name = "test"', 'name = "First site"'))
    second_file.write_text(text.replace('name = "test"', 'name = "Second site"'))
    cs = ConsoleSession(parse_site(first_file.read_text(), str(first_file)), tmp_path / "first.db", show=False)
    remembered: list[str] = []  # File > Recent sites, without touching this machine's settings
    windows = SiteWindows(cs, str(first_file), remember=remembered.append)
    try:
        assert cs.window.add_device_action.isEnabled()
        assert windows.reopen(str(second_file))
        assert windows.current is not cs and "Second site" in windows.current.window.windowTitle()
        assert cs.session._closed  # noqa: SLF001 - the first session stopped polling
        assert windows.site_file == str(second_file)
        assert remembered == [str(first_file.resolve()), str(second_file.resolve())]
        assert not windows.reopen(str(tmp_path / "missing.toml"))  # one line in a box, the window stays
        assert "missing.toml" in windows.message.text() and "\n" not in windows.message.text()
        assert "Second site" in windows.current.window.windowTitle()
        dialog = windows.add_device()
        assert dialog is not None and dialog.isVisible()
        dialog.close()
    finally:
        windows.close()


def test_faults_injected_from_the_demo_panel_are_recorded_as_events(qtbot, tmp_path) -> None:
    from console.demo.model import DemoConfig
    from console.site import parse_site
    from console.ui.app import ConsoleSession
    from tests.fakes.sites import site_toml

    class Demo:
        config = DemoConfig()
        active_faults = frozenset()
        listeners: list = []

        def inject(self, f): ...
        def clear(self, f): ...

        def on_fault(self, listener):
            self.listeners.append(listener)

    demo = Demo()
    site = parse_site(site_toml(['[[devices]]\nid = "srv1"\nkind = "server"\nprotocol = "redfish"\n'
                                 'address = "127.0.0.1:1"\n',
                                 '[[devices]]\nid = "heat1"\nkind = "heat_controller"\nprotocol = "modbus"\n'
                                 'address = "127.0.0.1:3"\nprofile = "heatrack-default"\n']), "<t>")
    cs = ConsoleSession(site, tmp_path / "d.db", demo=True, demo_hooks=demo, show=False)
    try:
        assert len(demo.listeners) == 1
        demo.listeners[0]("pump-failure", time.time())
        qtbot.waitUntil(lambda: any(e.kind == "fault_injected" for e in cs.ctx.live.active_events()), timeout=5000)
        event = next(e for e in cs.ctx.live.active_events() if e.kind == "fault_injected")
        assert event.device_id == "heat1" and event.severity == "warning" and "pump-failure" in event.message
    finally:
        cs.close()
