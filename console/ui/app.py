"""Start the window: display check, QApplication, engine + store wiring, clean shutdown."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.site import Site, SiteError, load_site

from console.display import has_display, no_display_message


def default_db_path(site_file: str | Path) -> Path:
    from console.paths import data_dir

    return data_dir() / f"{Path(site_file).stem}.db"


class ConsoleSession:
    """The window with its engine, store and bridge; ``close()`` stops them in order."""

    def __init__(self, site: Site, db_path: str | Path, *, demo: bool = False,
                 source_factory: Callable[..., Any] | None = None,
                 credential_resolver: Callable[[str | None], Any] | None = None) -> None:
        from console.engine import Engine
        from console.store import Store
        from console.ui.bridge import EngineBridge
        from console.ui.main_window import MainWindow

        self.store = Store(db_path)
        kwargs: dict[str, Any] = {}
        if source_factory is not None:
            kwargs["source_factory"] = source_factory
        if credential_resolver is not None:
            kwargs["credential_resolver"] = credential_resolver
        self.engine = Engine(site, self.store, **kwargs)
        self.window = MainWindow(site, db_path=str(db_path), demo=demo)
        self.bridge = EngineBridge(self.engine.subscribe, parent=self.window)
        self.bridge.updated.connect(self.window.on_update)
        self.engine.start()
        self.window.show()

    def close(self) -> None:
        self.bridge.close()
        self.engine.stop()
        self.store.close()
        self.window.close()


def run_gui(site: Site, db_path: str | Path, *, demo: bool = False,
            source_factory: Callable[..., Any] | None = None,
            credential_resolver: Callable[[str | None], Any] | None = None) -> int:
    """Open the main window on ``site``, polling through the engine and logging to ``db_path``."""
    if not has_display():
        print(no_display_message("heatrack"), file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("heatrack")
    from console.store import StoreError

    try:
        session = ConsoleSession(site, db_path, demo=demo, source_factory=source_factory,
                                 credential_resolver=credential_resolver)
    except StoreError as e:  # in use by another writer, read-only, locked: one line, no window
        print(f"heatrack: {e}", file=sys.stderr)
        return 1
    try:
        return app.exec()
    finally:
        session.close()


def open_command(args: argparse.Namespace) -> int:
    try:
        site = load_site(args.site)
    except SiteError as e:
        print(e, file=sys.stderr)
        return 1
    if not has_display():
        print(no_display_message("heatrack"), file=sys.stderr)
        return 2
    return run_gui(site, args.db or default_db_path(args.site))
