"""``heatrack open SITE``: the window on a site file. The only command above the window layer
(it imports console.ui, lazily, once it knows there is a display)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.display import has_display, no_display_message
from console.site import SiteError, load_site


def default_db_path(site_file: str | Path) -> Path:
    from console.paths import data_dir

    return data_dir() / f"{Path(site_file).stem}.db"


def open_command(args: argparse.Namespace) -> int:
    try:
        site = load_site(args.site)
    except SiteError as e:
        print(e, file=sys.stderr)
        return 1
    if not has_display():
        print(no_display_message("heatrack"), file=sys.stderr)
        return 2
    from console.ui.app import run_gui

    return run_gui(site, args.db or default_db_path(args.site))
