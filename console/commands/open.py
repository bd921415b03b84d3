"""``heatrack open SITE``: the window on a site file. The only command above the window layer:
it imports console.ui, lazily, once it knows there is a display (``heatrack demo`` opens its
window through ``run_window`` here)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from console.display import has_display, no_display_message
from console.site import Site, SiteError, load_site


def default_db_path(site_file: str | Path) -> Path:
    from console.paths import data_dir

    return data_dir() / f"{Path(site_file).stem}.db"


def open_command(args: argparse.Namespace) -> int:
    if args.site is None:  # the first-run screen: open a file, start the demo, create a site
        if not has_display():
            print(no_display_message("heatrack"), file=sys.stderr)
            return 2
        from console.ui.app import start_app
        from console.ui.start_screen import choose_start

        start_app()
        choice = choose_start()
        if choice is None:
            return 0
        if choice.action == "demo":
            from console.commands.demo import demo_command

            return demo_command(argparse.Namespace(headless=False, serve=False, duration=None, speed=1.0, fault=[],
                                                   db=None, list_faults=False, seed=1, screenshot=None,
                                                   theme="light"))
        args.site = choice.path
    try:
        site = load_site(args.site)
    except SiteError as e:
        print(e, file=sys.stderr)
        return 1
    if not has_display():
        print(no_display_message("heatrack"), file=sys.stderr)
        return 2
    return run_window(site, args.db or default_db_path(args.site), site_file=args.site)


def run_window(site: Site, db_path: str | Path, **options: Any) -> int:
    """The window over a session on ``site`` (``heatrack open`` and ``heatrack demo``): the one
    place a command imports the window layer."""
    from console.ui.app import run_gui

    return run_gui(site, db_path, **options)


def run_screenshots(runner: Any, db_path: str | Path, out_dir: str | Path, themes: list[str]) -> list[Path]:
    """Every page of the window on the running demo ``runner`` to PNG (``heatrack demo --screenshot``)."""
    from console.ui.screenshots import take

    return take(runner, db_path, out_dir, themes)
