"""The demo site's fault panel: each named fault with what it does, a toggle to inject or clear
it while the demo runs, and the faults in force now.

``DemoPanel(ctx, parent)`` is for a window whose ``ctx.demo`` is set (the shell places it as a
dock only then). Injecting, clearing and reading the active faults take the demo runner's
lock, which the simulation holds while it steps, so they run on a worker thread of the panel's
own; results come back through ``ctx.bridge.post``. The active faults are read again every
two seconds (a fault scheduled with ``--fault NAME@TIME`` fires by itself)."""
from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QVBoxLayout, QWidget

from console.demo.faults import FAULTS
from console.ui.context import ViewContext
from console.ui.worker import Worker

log = logging.getLogger("heatrack.ui.demo")

POLL_MS = 2000


def active_text(active: frozenset[str] | None) -> str:
    if active is None:
        return "Reading the demo's faults…"
    if not active:
        return "No fault injected: the demo site runs normally."
    return "Injected now: " + ", ".join(sorted(active))


class DemoPanel(QWidget):
    """One checkbox per fault of ``console.demo.faults.FAULTS``; checked = injected."""

    faults_changed = Signal(object)  # frozenset of the active fault names

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("demoPanel")
        self.active: frozenset[str] | None = None
        self._busy: set[str] = set()
        self._polling = False
        self._poll_again = False
        self._pool = Worker("heatrack-demo")
        layout = QVBoxLayout(self)
        # no heading: the dock that holds the panel is titled "Demo faults"
        intro = QLabel("Put the simulated site into a fault and watch the console notice it. "
                       "Only the demo's physics change; the console talks to it as to real equipment.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(8)
        self.toggles: dict[str, QCheckBox] = {}
        for row, (name, description) in enumerate(FAULTS.items()):
            box = QCheckBox(name)
            box.setToolTip(f"Checked: {name} is injected. Uncheck to clear it.\n{description}")
            box.clicked.connect(lambda checked, name=name: self.toggle(name, checked))
            text = QLabel(description)
            text.setWordWrap(True)
            top = Qt.AlignmentFlag.AlignTop
            grid.addWidget(box, row, 0, top)
            grid.addWidget(text, row, 1, top)
            self.toggles[name] = box
        layout.addLayout(grid)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        if ctx.demo is None:
            for box in self.toggles.values():
                box.setEnabled(False)
            self.status.setText("Not a demo site: faults cannot be injected here.")
            return
        self.status.setText(active_text(None))
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.destroyed.connect(lambda *_: self._pool.close())
        self.refresh()

    # ------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Ask (off the GUI thread) which faults are in force; at most one read at a time."""
        demo = self.ctx.demo
        if demo is None:
            return
        if self._polling:  # read again once this read is back: it may predate the change
            self._poll_again = True
            return
        self._polling, self._poll_again = True, False
        fut = self._pool.submit(lambda: frozenset(demo.active_faults))
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._read(f)))

    def _read(self, fut: Future[frozenset[str]]) -> None:
        self._polling = False
        try:
            active = fut.result()
        except Exception as e:  # noqa: BLE001 - the demo stopped: say so, keep the window
            self.status.setText(f"Cannot read the demo's faults: {str(e).splitlines()[0] if str(e) else e!r}")
        else:
            self._show(active)
        if self._poll_again:
            self.refresh()

    def _show(self, active: frozenset[str]) -> None:
        changed = active != self.active
        self.active = active
        for name, box in self.toggles.items():
            box.setChecked(name in active)
            box.setEnabled(name not in self._busy)
            font = box.font()
            font.setBold(name in active)  # an injected fault is the abnormal state: noticed by weight
            box.setFont(font)
        if not self._busy:
            self.status.setText(active_text(active))
        if changed:
            self.faults_changed.emit(active)

    # ------------------------------------------------------------ acting
    def toggle(self, name: str, inject: bool) -> Future[Any] | None:
        """Inject (``inject`` True) or clear ``name`` off the GUI thread; returns the Future."""
        demo = self.ctx.demo
        if demo is None or name in self._busy:
            return None
        self._busy.add(name)
        self.toggles[name].setEnabled(False)
        self.status.setText(f"{'Injecting' if inject else 'Clearing'} {name}…")

        def work() -> frozenset[str]:
            (demo.inject if inject else demo.clear)(name)
            return frozenset(demo.active_faults)

        fut = self._pool.submit(work)
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._toggled(name, inject, f)))
        return fut

    def _toggled(self, name: str, inject: bool, fut: Future[frozenset[str]]) -> None:
        self._busy.discard(name)
        try:
            active = fut.result()
        except Exception as e:  # noqa: BLE001 - a ValueError for an unknown fault, a stopped demo
            self.toggles[name].setEnabled(True)
            self.toggles[name].setChecked(not inject)
            self.status.setText(f"{name} not {'injected' if inject else 'cleared'}: "
                                f"{str(e).splitlines()[0] if str(e) else type(e).__name__}")
            return
        self._show(active)


__all__ = ["DemoPanel", "active_text"]
