"""What every view of the window is given: the site, the live model and the services behind it.

A view takes a ``ViewContext`` rather than reaching into the session, so it is built the same
way in the window, in a test (over a ``LiveSite`` fed by hand, no engine) and in the screenshot
run. Views read values, ages and states from ``live``; ask the store only through ``history``
(off the GUI thread, results handed back with ``bridge.post``); write to equipment only through
``control``; and move the user elsewhere only through ``navigate``.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from console.control import Control
    from console.history import HistoryService
    from console.live import LiveSite
    from console.site import Site
    from console.ui.bridge import LiveBridge


class DemoHooks(Protocol):
    """What the demo panel may do to the running demo site (``DemoRunner``)."""

    def inject(self, fault: str) -> None: ...
    def clear(self, fault: str) -> None: ...
    @property
    def active_faults(self) -> frozenset[str]: ...


@dataclasses.dataclass
class ViewContext:
    site: Site
    live: LiveSite
    bridge: LiveBridge
    history: HistoryService | None = None  # None: no site database (views say so)
    control: Control | None = None  # None: writes are not possible in this window (read-only)
    ack: Callable[[int, str], Any] | None = None  # session.ack(event_id, by) -> Future[bool]
    demo: DemoHooks | None = None  # the running demo site, when it is one
    db_path: str = ""
    read_only: bool = False  # another heatrack writes this database: view only
    wall: Callable[[], float] = time.time  # the clock ages are measured against
    # navigate(view, target): switch the window to a view ("devices", "power", ...) and, when
    # not None, select target there (a device id, a series key); a no-op outside the window
    navigate: Callable[[str, str | None], None] = dataclasses.field(default=lambda view, target: None)


class View(Protocol):
    """A main-window page. ``refresh`` is called on the GUI thread by the window's bridge tick
    (at most 4 Hz) and once a second; it must only read the live model and repaint."""

    title: str  # the tab's name

    def refresh(self) -> None: ...


ViewFactory = Callable[[ViewContext], "QWidget"]

__all__ = ["DemoHooks", "View", "ViewContext", "ViewFactory"]
