"""Start the window: display check, QApplication, the session under it, clean shutdown."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.display import has_display, no_display_message
from console.site import Site


class ConsoleSession:
    """The window over a ``console.session.Session``; ``close()`` stops them in order."""

    def __init__(self, site: Site, db_path: str | Path, *, demo: bool = False,
                 source_factory: Callable[..., Any] | None = None,
                 credential_resolver: Callable[[str | None], Any] | None = None) -> None:
        from console.session import Session
        from console.ui.main_window import MainWindow

        kwargs: dict[str, Any] = {}
        if source_factory is not None:
            kwargs["source_factory"] = source_factory
        if credential_resolver is not None:
            kwargs["credential_resolver"] = credential_resolver
        self.session = Session.open(site, db_path, **kwargs)
        self.store, self.engine = self.session.store, self.session.engine
        try:
            self.window = MainWindow(site, self.session.live, db_path=str(db_path), demo=demo,
                                     history=self.session.history)
            self.session.start()
        except BaseException:
            self.session.close()
            raise
        self.window.show()

    def close(self) -> None:
        self.window.bridge.close()
        self.session.close()
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
