"""A second heatrack on a database that already has a writer: never two writers. The window
asks, in a clear dialog, whether to view the site read-only or cancel; read-only, the views get a
``ViewContext`` over a ``console.viewer.ReadOnlyLive`` (refreshed from the store on its own
thread), with no control and no acknowledging (``control=None``, ``ack=None``, ``read_only``).

Used by the window shell where opening the session raises ``StoreError``::

    except StoreError as e:
        code = run_read_only(e, site, db_path, demo=demo)
        if code is None:      # not "in use", or cancelled: say why, as before
            print(f"heatrack: {e}", file=sys.stderr)
            return 1
        return code
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QWidget

from console.site import Site
from console.ui.context import ViewContext
from console.viewer import REFRESH_S, ReadOnlyLive

IN_USE_MARKS = ("already open for writing", "in use by another heatrack")


def is_in_use(error: BaseException) -> bool:
    """Whether a store error means another heatrack writes this database (not a broken file)."""
    text = str(error)
    return any(mark in text for mark in IN_USE_MARKS)


@dataclasses.dataclass
class ReadOnlySetup:
    """What a read-only window runs on; ``close()`` stops the refresh thread and the services."""

    ctx: ViewContext
    live: ReadOnlyLive

    def close(self) -> None:
        self.ctx.bridge.close()
        if self.ctx.history is not None:
            self.ctx.history.close()
        self.live.close()


def open_read_only(site: Site, db_path: str | Path, *, refresh_s: float | None = None) -> ReadOnlySetup:
    """A ViewContext over the database another heatrack writes (needs a QApplication)."""
    from console.history import HistoryService
    from console.ui.bridge import LiveBridge

    live = ReadOnlyLive(site, db_path, refresh_s=REFRESH_S if refresh_s is None else refresh_s).start()
    bridge = LiveBridge(live)
    ctx = ViewContext(site=site, live=live, bridge=bridge, history=HistoryService(db_path), control=None,
                      ack=None, db_path=str(db_path), read_only=True)
    return ReadOnlySetup(ctx, live)


def ask_read_only(error: BaseException, parent: QWidget | None = None) -> bool:
    """The dialog: who holds the database, and "View read-only" or "Cancel"."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("heatrack — site already open")
    box.setText("Another heatrack is already recording this site.")
    box.setInformativeText("Only one heatrack can record a site database at a time. You can watch the site "
                           "read-only here (values as the other one records them; no control, no "
                           "acknowledging), or cancel.")
    box.setDetailedText(str(error))
    view = box.addButton("View read-only", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(view)
    box.exec()
    return box.clickedButton() is view


def read_only_window(setup: ReadOnlySetup, *, demo: bool = False) -> QMainWindow:
    """The main window over a read-only setup, its title saying so (once)."""
    from console.ui.main_window import MainWindow

    window = MainWindow(setup.ctx, demo=demo)
    if "read-only" not in window.windowTitle():  # the shell says it already (ctx.read_only)
        window.setWindowTitle(f"{window.windowTitle()} — read-only")
    return window


def run_read_only(error: BaseException, site: Site, db_path: str | Path, *, demo: bool = False) -> int | None:
    """For ``run_gui`` when the session cannot open: offer read-only, and run that window until
    it closes (its exit status). None when it is not an "in use" error or the person cancelled:
    the caller reports the error as before."""
    setup = offer_read_only(error, site, db_path)
    if setup is None:
        return None
    window = read_only_window(setup, demo=demo)
    window.show()
    app = QApplication.instance()
    try:
        from console.ui.app import exec_collecting

        return exec_collecting(app) if app is not None else 1
    finally:
        window.close()
        setup.close()


def offer_read_only(error: BaseException, site: Site, db_path: str | Path, parent: QWidget | None = None, *,
                    ask: Callable[[BaseException, QWidget | None], bool] | None = None,
                    refresh_s: float | None = None) -> ReadOnlySetup | None:
    """For an "in use" store error: ask (``ask_read_only`` by default, looked up when called),
    and open read-only if the person agrees. None when they cancel or when the error is another
    kind (a broken or unreadable database: show it as is)."""
    if not is_in_use(error) or not (ask or ask_read_only)(error, parent):
        return None
    return open_read_only(site, db_path, refresh_s=refresh_s)


__all__ = ["ReadOnlySetup", "ask_read_only", "is_in_use", "offer_read_only", "open_read_only", "read_only_window",
           "run_read_only"]
