"""The console's main window: one tab per page of ``console/ui/pages.py`` (each built from the one
``ViewContext``), the control and demo panels docked beside them when present, a status bar
(devices reporting, active alarms, where it logs) and the menus.

Only the page in view is refreshed: on each bridge tick (the live model changed, at most 4 Hz)
and once a second so that ages and staleness move without polls; a page refreshes again as it
is shown. Pages are imported when the window opens: one whose module is not there is skipped
(debug log); one that fails to build is replaced by a line saying why, so one broken page never
takes the window down.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from html import escape
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QTabWidget,
    QToolBar,
    QWidget,
)

from console.ui import pages as page_registry
from console.ui import theme
from console.ui.context import ViewContext

log = logging.getLogger("heatrack.ui.window")

RECENT_MAX = 8
PANELS = (  # (module:Class, where) — optional parts built by (ctx, parent) when their module exists
    ("console.ui.control_panel:ControlPanel", "control"),
    ("console.ui.demo_panel:DemoPanel", "demo"),
    ("console.ui.alarm_notifier:AlarmNotifier", "notifier"),
)


class MainWindow(QMainWindow):
    """``open_requested(path)`` asks the application to open another site file;
    ``add_device_requested()`` to add a device to the open one."""

    open_requested = Signal(str)
    add_device_requested = Signal()

    def __init__(self, ctx: ViewContext, *, demo: bool = False,
                 pages: Sequence[tuple[str, str]] | None = None, tick_ms: int = 1000) -> None:
        super().__init__()
        self.ctx = ctx
        self.bridge = ctx.bridge
        self.demo = demo
        ctx.navigate = self.navigate
        site = ctx.site.site
        self.setWindowTitle(f"heatrack — {site.name}" + (" (demo)" if demo else "")
                            + (" — read-only" if ctx.read_only else ""))
        self.resize(1280, 800)
        self._failed_refresh: set[str] = set()

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.pages: dict[str, QWidget] = {}
        for name, spec in (page_registry.PAGES if pages is None else pages):
            page = self._build_page(name, spec)
            if page is not None:
                self.pages[name] = page
                self.tabs.addTab(page, getattr(page, "title", name.title()))
                self.tabs.setTabToolTip(self.tabs.count() - 1,
                                        f"{getattr(page, 'title', name)} (Ctrl+{self.tabs.count()})"
                                        if self.tabs.count() <= 9 else name)
        if not self.pages:
            self.tabs.addTab(QLabel("  no pages are installed"), "heatrack")
        self.banner = QLabel(self._banner_text())
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setContentsMargins(8, 2, 8, 2)
        self.toolbar = QToolBar("Site")
        self.toolbar.setObjectName("toolbar-site")
        self.toolbar.setMovable(False)
        self.toolbar.addWidget(self.banner)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.setCentralWidget(self.tabs)

        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addWidget(self.status, 1)
        self.panels: dict[str, Any] = {}
        self._control_action: QAction | None = None
        self._build_panels()
        self._build_menus()

        self.bridge.changed.connect(self.refresh)
        self.tabs.currentChanged.connect(lambda _i: self.refresh())
        self._tick = QTimer(self)  # ages and staleness move even when no poll arrives
        self._tick.setInterval(tick_ms)
        self._tick.timeout.connect(self.refresh)
        self._tick.start()
        self.refresh()

    # ------------------------------------------------------------ building
    def _build_page(self, name: str, spec: str) -> QWidget | None:
        try:
            factory = page_registry.load(spec)
        except (ImportError, AttributeError) as e:
            log.debug("page %s (%s) is not available: %s", name, spec, e)
            return None
        try:
            page = factory(self.ctx)
        except Exception as e:  # a broken page must not take the window down: say why in its place
            log.exception("page %s (%s) failed to open", name, spec)
            page = QLabel(f"  The {name} page could not be opened: {' '.join(str(e).split())}")
            page.setWordWrap(True)
            page.setProperty("title", name.title())
        return page

    def _build_panels(self) -> None:
        for spec, where in PANELS:
            if where == "demo" and self.ctx.demo is None:
                continue
            try:
                cls = page_registry.load(spec)
            except (ImportError, AttributeError) as e:
                log.debug("panel %s is not available: %s", spec, e)
                continue
            try:
                panel: Any = cls(self.ctx, self)  # type: ignore[call-arg]
            except Exception:
                log.exception("panel %s failed to open", spec)
                continue
            self.panels[where] = panel
            if where == "notifier":
                self._wire_notifier(panel)
                continue
            if where == "control":  # one line (state, unlock, lock): at the end of the toolbar
                self._control_action = self.toolbar.addWidget(panel)
                continue
            dock = QDockWidget("Demo faults", self)
            dock.setObjectName(f"dock-{where}")
            dock.setWidget(panel)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            area = Qt.DockWidgetArea.RightDockWidgetArea
            self.addDockWidget(area, dock)
            dock.hide()  # the demo's fault panel: View ▸ Demo faults, the toolbar or Ctrl+D
            toggle = dock.toggleViewAction()
            toggle.setShortcut(QKeySequence("Ctrl+D"))
            toggle.setToolTip("Inject and clear faults in the simulated equipment (Ctrl+D)")
            if self._control_action is not None:
                self.toolbar.insertAction(self._control_action, toggle)
            else:
                self.toolbar.addAction(toggle)
            self.panels[f"{where}-dock"] = dock

    def _wire_notifier(self, notifier: Any) -> None:
        """The notifier's badge ("Events (2)") goes on the events tab when both exist."""
        for signal_name in ("badge_changed", "badge", "count_changed"):
            signal = getattr(notifier, signal_name, None)
            if signal is not None and hasattr(signal, "connect"):
                signal.connect(self._set_events_badge)
                self._set_events_badge(len(self.ctx.live.active_events()))
                return

    def _set_events_badge(self, text: object) -> None:
        page = self.pages.get("events")
        if page is None:
            return
        i = self.tabs.indexOf(page)
        base = getattr(page, "title", "Events")
        if isinstance(text, int):
            text = f"{base} ({text})" if text else base
        self.tabs.setTabText(i, str(text) or base)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open site…", self._open_site, QKeySequence.StandardKey.Open,
                     "Open another site file in this window")
        self.recent_menu = file_menu.addMenu("&Recent sites")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.add_device_action = self._action(file_menu, "&Add a device…", lambda: self.add_device_requested.emit(),
                                              None, "Probe a new device's address and add it to the site file")
        self.add_device_action.setEnabled(False)  # the application enables it when a site file is open
        self._action(file_menu, "&Export page…", self._export, "Ctrl+E",
                     "Save what the current page shows (its own export when it has one, else a PNG)")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        view = bar.addMenu("&View")
        for i in range(self.tabs.count()):
            page = self.tabs.widget(i)
            if page not in self.pages.values():
                continue
            shortcut = f"Ctrl+{i + 1}" if i < 9 else None
            self._action(view, self.tabs.tabText(i), lambda _=False, i=i: self.tabs.setCurrentIndex(i), shortcut)
        view.addSeparator()
        theme_menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for name in theme.THEMES:
            a = self._action(theme_menu, name.title(), lambda _=False, n=name: self.set_theme(n))
            a.setCheckable(True)
            group.addAction(a)
            self.theme_actions[name] = a
        dock = self.panels.get("demo-dock")
        if dock is not None:
            view.addAction(dock.toggleViewAction())

        control = bar.addMenu("&Control")
        panel = self.panels.get("control")
        added = False
        for label, names, shortcut in (("&Unlock control…", ("unlock", "ask_unlock", "unlock_dialog"), "Ctrl+U"),
                                       ("&Lock control", ("lock",), "Ctrl+L"),
                                       ("&Write to equipment…", ("ask_write",), "Ctrl+Shift+W")):
            fn = next((getattr(panel, n) for n in names if callable(getattr(panel, n, None))), None)
            if fn is not None:
                self._action(control, label, lambda _=False, fn=fn: fn(), shortcut)
                added = True
        if not added:
            a = control.addAction("Control is not available in this window" if self.ctx.control is None
                                  else "Control panel not installed")
            a.setEnabled(False)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&About heatrack", self._about)

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _banner_text(self) -> str:
        s = self.ctx.site.site
        where = f" · {escape(s.location)}" if s.location else ""
        note = " · <i>simulated equipment — nothing here touches real hardware</i>" if self.demo else ""
        ro = " · <b>read-only</b>: another heatrack writes this database" if self.ctx.read_only else ""
        return f"<b>{escape(s.name)}</b>{where} · {len(self.ctx.site.devices)} devices{note}{ro}"

    # ------------------------------------------------------------ refreshing
    def current_page(self) -> QWidget | None:
        page = self.tabs.currentWidget()
        return page if page in self.pages.values() else None

    def refresh(self) -> None:
        """Refresh the page in view and the status bar (GUI thread; reads the live model only)."""
        page = self.current_page()
        refresh = getattr(page, "refresh", None)
        if callable(refresh):
            try:
                refresh()
            except Exception:  # keep the window alive; say it once per page
                name = type(page).__name__
                if name not in self._failed_refresh:
                    self._failed_refresh.add(name)
                    log.exception("page %s failed to refresh", name)
        self.status.setText(self.status_text())

    def status_text(self) -> str:
        live = self.ctx.live
        n, m = live.reporting(), len(self.ctx.site.devices)
        alarms = len(live.active_events())
        where = self.ctx.db_path or "no database"
        log_part = f"viewing {where} read-only" if self.ctx.read_only else f"logging to {where}"
        return (f"{n} of {m} devices reporting · {alarms} active alarm{'s' * (alarms != 1)} · {log_part}")

    # ------------------------------------------------------------ navigation
    def navigate(self, view: str, target: str | None = None) -> None:
        """Show page ``view`` and, when given, select ``target`` there (a device id, a series key)."""
        page = self.pages.get(view)
        if page is None:
            log.debug("navigate: no page %r", view)
            return
        self.tabs.setCurrentWidget(page)
        select = getattr(page, "select", None)
        if target is not None and callable(select):
            select(target)
        page.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------ themes
    def set_theme(self, name: str, save: bool = True) -> str:
        """Apply a theme (light, dark, system) to the application and every page."""
        app = QApplication.instance()
        resolved = theme.apply_theme(app, name) if isinstance(app, QApplication) else theme.resolve(name)
        theme.restyle_plots(self, resolved)
        for page in self.pages.values():
            fn = getattr(page, "apply_theme", None)
            if callable(fn):
                fn(resolved)
        if name in self.theme_actions:
            self.theme_actions[name].setChecked(True)
        if save:
            theme.save_theme(name)
        self.refresh()
        return resolved

    # ------------------------------------------------------------ file menu
    def _open_site(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a site file", "", "Site files (*.toml);;All files (*)")
        if path:
            self.open_requested.emit(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        paths = recent_sites()
        if not paths:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for p in paths[:RECENT_MAX]:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_requested.emit(p))

    def _export(self) -> None:
        page = self.current_page()
        if page is None:
            return
        own = getattr(page, "export", None)
        if callable(own):
            own()
            return
        name = next((k for k, v in self.pages.items() if v is page), "page")
        path, _ = QFileDialog.getSaveFileName(self, "Export page", f"heatrack-{name}.png", "PNG images (*.png)")
        if path:
            ok = page.grab().save(path, "PNG")
            self.statusBar().showMessage(f"saved {path}" if ok else f"could not write {path}", 5000)

    # ------------------------------------------------------------ help
    def shortcuts_text(self) -> str:
        rows = [(f"Ctrl+{i + 1}", self.tabs.tabText(i)) for i in range(min(9, self.tabs.count()))]
        rows += [("Ctrl+Tab / Ctrl+Shift+Tab", "next / previous page"),
                 ("Tab / Shift+Tab", "move between parts of a page"),
                 ("Arrows, Enter", "move in the devices tree; Enter opens the device's readings"),
                 ("Ctrl+O", "open a site file"), ("Ctrl+E", "export the current page"),
                 ("Ctrl+U / Ctrl+L", "unlock / lock control"), ("Ctrl+Shift+W", "write to equipment (unlocked)"),
                 ("Ctrl+D", "demo fault panel (demo only)"),
                 ("F1", "this list"), ("Ctrl+Q", "quit")]
        return "\n".join(f"{k:<28}{v}" for k, v in rows)

    def show_shortcuts(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", self.shortcuts_text(),
                          QMessageBox.StandardButton.Close, self)
        box.setStyleSheet("QLabel { font-family: monospace; }")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _about(self) -> None:
        QMessageBox.about(self, "About heatrack",
                          "<b>heatrack</b><br>A console for micro data centres whose servers heat homes, "
                          "tanks and pools: Redfish, NVML, SNMP and Modbus, straight to the equipment; "
                          "everything logged to SQLite on this machine.")

    # ------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self._tick.stop()
        self.bridge.close()
        # ctx.navigate is this window's bound method: a reference cycle (window -> ctx -> window)
        # that Python's collector could break on any thread, destroying the widgets off the GUI
        # thread ("QBasicTimer::start: Timers cannot be started from another thread")
        self.ctx.navigate = _nowhere
        for page in self.pages.values():
            fn = getattr(page, "shutdown", None)
            if callable(fn):
                try:
                    fn()
                except Exception:  # noqa: BLE001 - closing goes on
                    log.exception("page %s failed to shut down", type(page).__name__)
        super().closeEvent(event)


def _nowhere(view: str, target: str | None = None) -> None:
    """``ctx.navigate`` once the window is closed."""


def remember_site(path: str) -> None:
    """Put ``path`` first in File ▸ Recent sites (the start screen's list: one list)."""
    from console.ui import start_screen

    start_screen.remember_site(start_screen.app_settings(), path)


def recent_sites() -> list[str]:
    from console.ui import start_screen

    return start_screen.recent_sites(start_screen.app_settings())[:RECENT_MAX]


__all__ = ["MainWindow", "recent_sites", "remember_site"]
