"""Start the window: display check, QApplication and theme, the session under it, the one
``ViewContext`` every page is built from, clean shutdown."""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.display import has_display, no_display_message
from console.site import Site

log = logging.getLogger("heatrack.ui.app")


class ConsoleSession:
    """The window over a ``console.session.Session``; ``close()`` stops them in order.

    ``demo_hooks`` is the running ``DemoRunner`` on the demo site (the demo panel injects faults
    through it; the devices page probes through its source factory)."""

    def __init__(self, site: Site, db_path: str | Path, *, demo: bool = False,
                 demo_hooks: Any = None,
                 source_factory: Callable[..., Any] | None = None,
                 credential_resolver: Callable[[str | None], Any] | None = None,
                 show: bool = True) -> None:
        from console.session import Session
        from console.ui.bridge import LiveBridge
        from console.ui.context import ViewContext
        from console.ui.main_window import MainWindow

        kwargs: dict[str, Any] = {}
        if source_factory is not None:
            kwargs["source_factory"] = source_factory
        if credential_resolver is not None:
            kwargs["credential_resolver"] = credential_resolver
        self.session = Session.open(site, db_path, **kwargs)
        self.store, self.engine = self.session.store, self.session.engine
        self.bridge: LiveBridge | None = None
        try:
            self.bridge = LiveBridge(self.session.live)
            self.ctx = ViewContext(site=site, live=self.session.live, bridge=self.bridge,
                                   history=self.session.history, control=self.session.control,
                                   ack=self.session.ack, demo=demo_hooks, db_path=str(db_path))
            self.window = MainWindow(self.ctx, demo=demo)
            self.session.start()
        except BaseException:
            if self.bridge is not None:
                self.bridge.close()
            self.session.close()
            raise
        if show:
            self.window.show()

    def close(self) -> None:
        self.window.bridge.close()
        self.session.close()
        self.window.close()


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
    from console.ui.main_window import remember_site

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
    if site_file:
        remember_site(str(Path(site_file).resolve()))
    holder = [session]
    files: list[str | None] = [site_file]

    def reopen(path: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        from console.commands.open import default_db_path
        from console.site import SiteError, load_site
        from console.ui.open_flow import offer_read_only

        db = default_db_path(path)
        try:
            new_site = load_site(path)
            new = ConsoleSession(new_site, db)
        except StoreError as e:
            if offer_read_only(e, new_site, db, parent=holder[0].window) is None:
                QMessageBox.warning(holder[0].window, "Cannot open the site", " ".join(str(e).split()))
            else:
                QMessageBox.information(holder[0].window, "Another heatrack records this site",
                                        f"Open it read-only with: heatrack open {path}")
            return
        except SiteError as e:
            QMessageBox.warning(holder[0].window, "Cannot open the site", " ".join(str(e).split()))
            return
        old = holder[0]
        holder[0] = new
        files[0] = path
        wire(new)
        remember_site(str(Path(path).resolve()))
        old.close()

    def add_device() -> None:
        from console.ui.add_device import AddDeviceDialog

        if files[0] is None:
            return
        dialog = AddDeviceDialog(files[0], holder[0].window)
        dialog.saved.connect(lambda _id: reopen(str(files[0])))  # the session polls the new device
        dialog.open()

    def wire(cs: ConsoleSession) -> None:
        cs.window.open_requested.connect(reopen)
        cs.window.add_device_requested.connect(add_device)
        cs.window.add_device_action.setEnabled(files[0] is not None)

    wire(session)
    try:
        return app.exec()
    finally:
        holder[0].close()
