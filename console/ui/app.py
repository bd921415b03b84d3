"""Start the window: display check, QApplication, engine + store wiring, clean shutdown."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.site import Site, SiteError, load_site

NO_DISPLAY = ("heatrack: no display found (DISPLAY and WAYLAND_DISPLAY are not set). "
              "Run without a window: `heatrack demo --headless --duration 10m --db demo.db` "
              "(or `heatrack log --site FILE --db FILE`), or set QT_QPA_PLATFORM=offscreen.")


def has_display() -> bool:
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def default_db_path(site_file: str | Path) -> Path:
    import platformdirs

    folder = Path(platformdirs.user_data_dir("heatrack"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{Path(site_file).stem}.db"


def run_gui(site: Site, db_path: str | Path, *, demo: bool = False,
            source_factory: Callable[..., Any] | None = None,
            credential_resolver: Callable[[str | None], Any] | None = None,
            exec_loop: bool = True) -> int:
    """Open the main window on ``site``, polling through the engine and logging to ``db_path``."""
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    from console.engine import Engine
    from console.store import Store
    from console.ui.bridge import EngineBridge
    from console.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("heatrack")
    store = Store(db_path)
    kwargs: dict[str, Any] = {}
    if source_factory is not None:
        kwargs["source_factory"] = source_factory
    if credential_resolver is not None:
        kwargs["credential_resolver"] = credential_resolver
    engine = Engine(site, store, **kwargs)
    window = MainWindow(site, db_path=str(db_path), demo=demo)
    bridge = EngineBridge(engine.subscribe, parent=window)
    bridge.updated.connect(window.on_update)
    engine.start()
    window.show()
    try:
        return app.exec() if exec_loop else 0
    finally:
        if exec_loop:
            bridge.close()
            engine.stop()
            store.close()


def open_command(args: argparse.Namespace) -> int:
    try:
        site = load_site(args.site)
    except SiteError as e:
        print(e, file=sys.stderr)
        return 1
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    return run_gui(site, args.db or default_db_path(args.site))
