"""Start the window: display check, QApplication and theme, the session under it, the one
``ViewContext`` every page is built from, clean shutdown."""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.display import has_display, no_display_message
from console.site import Site

if TYPE_CHECKING:
    from console.ui.main_window import MainWindow

log = logging.getLogger("heatrack.ui.app")


class ConsoleSession:
    """The window over a ``console.session.Session``; ``close()`` stops them in order.

    ``demo_hooks`` is the running ``DemoRunner`` on the demo site (the demo panel injects faults
    through it; the devices page probes through its source factory). ``window=False`` starts
    polling without a window; ``open_window()`` builds it later (the screenshot run waits for
    every device first, so pages ask the store with data to ask about)."""

    def __init__(self, site: Site, db_path: str | Path, *, demo: bool = False,
                 demo_hooks: Any = None,
                 source_factory: Callable[..., Any] | None = None,
                 credential_resolver: Callable[[str | None], Any] | None = None,
                 show: bool = True, window: bool = True) -> None:
        from console.session import Session
        from console.ui.bridge import LiveBridge
        from console.ui.context import ViewContext

        kwargs: dict[str, Any] = {}
        if source_factory is not None:
            kwargs["source_factory"] = source_factory
        if credential_resolver is not None:
            kwargs["credential_resolver"] = credential_resolver
        self.demo = demo
        self.session = Session.open(site, db_path, **kwargs)
        self.store, self.engine = self.session.store, self.session.engine
        self.bridge: LiveBridge | None = None
        self._window: MainWindow | None = None
        try:
            on_fault = getattr(demo_hooks, "on_fault", None)
            if callable(on_fault):  # faults injected from the demo panel become events, as headless
                from console.commands.demo import fault_recorder

                on_fault(fault_recorder(self.session, demo_hooks, wall=True))
            self.bridge = LiveBridge(self.session.live)
            self.ctx = ViewContext(site=site, live=self.session.live, bridge=self.bridge,
                                   history=self.session.history, control=self.session.control,
                                   ack=self.session.ack, demo=demo_hooks, db_path=str(db_path))
            if window:
                self.open_window(show=False)
            self.session.start()
        except BaseException:
            if self.bridge is not None:
                self.bridge.close()
            self.session.close()
            raise
        if window and show:
            self.window.show()

    def open_window(self, show: bool = True) -> MainWindow:
        from console.ui.main_window import MainWindow

        if self._window is None:
            self._window = MainWindow(self.ctx, demo=self.demo)
        if show:
            self._window.show()
        return self._window

    @property
    def window(self) -> MainWindow:
        if self._window is None:
            raise RuntimeError("the window is not open yet (open_window)")
        return self._window

    def close(self) -> None:
        self.ctx.bridge.close()
        self.session.close()
        if self._window is not None:
            self._window.close()


def start_app(theme_name: str | None = None) -> Any:
    """The QApplication (created once) with the theme applied: the saved one unless named."""
    from PySide6.QtWidgets import QApplication

    from console.ui import theme

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("heatrack")
    app.setOrganizationName("heatrack")
    theme.apply_theme(app, theme_name or theme.saved_theme())
    return app


def exec_collecting(app: Any) -> int:
    """Run the event loop with Python's cyclic garbage collected only on the GUI thread
    (pyqtgraph's GarbageCollector: automatic collection off, a 1 s GUI timer collects). Left
    automatic, a collection runs on whichever thread allocates, and an engine or history thread
    would then destroy widgets caught in a reference cycle, which Qt forbids."""
    import gc

    from pyqtgraph.util.garbage_collector import GarbageCollector

    collector = GarbageCollector(interval=1.0)
    try:
        return int(app.exec())
    finally:
        collector.timer.stop()
        gc.enable()


def run_gui(site: Site, db_path: str | Path, *, demo: bool = False, demo_hooks: Any = None,
            source_factory: Callable[..., Any] | None = None,
            credential_resolver: Callable[[str | None], Any] | None = None,
            site_file: str | None = None) -> int:
    """Open the main window on ``site``, polling through the engine and logging to ``db_path``.
    Another heatrack recording the same database: offer a read-only window instead. File ▸ Open
    site replaces the session with one on the chosen file (its default database)."""
    if not has_display():
        print(no_display_message("heatrack"), file=sys.stderr)
        return 2
    app = start_app()
    from console.store import StoreError

    try:
        session = ConsoleSession(site, db_path, demo=demo, demo_hooks=demo_hooks, source_factory=source_factory,
                                 credential_resolver=credential_resolver)
    except StoreError as e:  # in use by another writer: offer read-only; else one line, no window
        from console.ui.open_flow import run_read_only

        code = run_read_only(e, site, db_path, demo=demo)
        if code is None:
            print(f"heatrack: {e}", file=sys.stderr)
            return 1
        return code
    windows = SiteWindows(session, site_file)
    try:
        return exec_collecting(app)
    finally:
        windows.close()


def _remember_site(path: str) -> None:
    from console.ui.main_window import remember_site

    remember_site(path)


class _ReadOnly:
    """A read-only window over a database another heatrack records (File ▸ Open site)."""

    def __init__(self, setup: Any) -> None:
        from console.ui.open_flow import read_only_window

        self.setup = setup
        self.window = read_only_window(setup)
        self.window.show()

    def close(self) -> None:
        self.window.close()
        self.setup.close()


class SiteWindows:
    """The window the application shows, and what File ▸ Open site and File ▸ Add a device do:
    open another site file in its place (read-only when another heatrack records it), or add a
    device to the open one and reopen it so the new device is polled."""

    def __init__(self, first: ConsoleSession, site_file: str | None,
                 remember: Callable[[str], None] | None = None) -> None:
        self.current: ConsoleSession | _ReadOnly = first
        self.site_file = site_file
        self.message: Any = None  # the last message box shown (non-modal)
        self._remember = remember or _remember_site  # File > Recent sites (QSettings)
        if site_file:
            self._remember(str(Path(site_file).resolve()))
        self._wire(first)

    def _wire(self, cs: ConsoleSession | _ReadOnly) -> None:
        from console.ui.main_window import MainWindow

        w = cs.window
        if isinstance(w, MainWindow):
            w.open_requested.connect(self.reopen)
            w.add_device_requested.connect(self.add_device)
            w.add_device_action.setEnabled(self.site_file is not None and isinstance(cs, ConsoleSession))

    def _say(self, title: str, text: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        self.message = QMessageBox(QMessageBox.Icon.Warning, title, " ".join(text.split()),
                                   QMessageBox.StandardButton.Close, self.current.window)
        self.message.open()

    def reopen(self, path: str) -> bool:
        """Open ``path`` (its default database) in place of the current window; False if not."""
        from console.commands.open import default_db_path
        from console.site import SiteError, load_site
        from console.store import StoreError
        from console.ui.open_flow import offer_read_only

        new: ConsoleSession | _ReadOnly
        try:
            new_site = load_site(path)
        except SiteError as e:
            self._say("Cannot open the site", str(e))
            return False
        db = default_db_path(path)
        try:
            new = ConsoleSession(new_site, db)
        except StoreError as e:
            setup = offer_read_only(e, new_site, db, parent=self.current.window)
            if setup is None:
                self._say("Cannot open the site", str(e))
                return False
            new = _ReadOnly(setup)
        old, self.current, self.site_file = self.current, new, path
        self._wire(new)
        self._remember(str(Path(path).resolve()))
        old.close()
        return True

    def add_device(self) -> Any:
        """The add-device dialog for the open site file (returned, open; None without a file)."""
        from console.ui.add_device import AddDeviceDialog

        if self.site_file is None:
            return None
        site_file = self.site_file
        dialog = AddDeviceDialog(site_file, self.current.window)
        dialog.saved.connect(lambda _id: self.reopen(site_file))  # the session polls the new device
        dialog.open()
        return dialog

    def close(self) -> None:
        self.current.close()
