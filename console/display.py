"""Is there a screen to open a window on? Qt-free, so headless paths can ask cheaply and say
what to do instead of letting Qt abort with "could not connect to display"."""
from __future__ import annotations

import os
import sys


def has_display(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    if sys.platform in ("win32", "darwin") or env.get("QT_QPA_PLATFORM"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def no_display_message(command: str) -> str:
    return (f"{command}: no display (DISPLAY and WAYLAND_DISPLAY are unset). Run without a window: "
            "`heatrack demo --headless --duration 10m --db demo.db` (or `heatrack log --site FILE --db FILE`), "
            "or render offscreen with QT_QPA_PLATFORM=offscreen.")
