"""One Qt signal per Control: "control acted" (an unlock, a lock, a write attempted).

Control itself is Qt-free and has no listeners; the window's parts that act through it (the
control panel, the confirm-write dialog) say so here, and the parts that show its effects
(the audit view) listen, so the audit view refreshes when something was done rather than on
a timer."""
from __future__ import annotations

import weakref
from typing import Any

from PySide6.QtCore import QObject, Signal


class ControlEvents(QObject):
    acted = Signal(str)  # what was done, in a few words (for a status line)


_hubs: weakref.WeakKeyDictionary[Any, ControlEvents] = weakref.WeakKeyDictionary()


def control_events(control: Any) -> ControlEvents:
    """The hub of ``control`` (created on first use, lives as long as the control)."""
    hub = _hubs.get(control)
    if hub is None:
        hub = _hubs[control] = ControlEvents()
    return hub


__all__ = ["ControlEvents", "control_events"]
