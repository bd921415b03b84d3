"""One confirm-write dialog for every action of the vocabulary (power limit, outlet, setpoint,
valve, bypass, pump, UPS self-test).

It states the target (device and channel), the value now (from the live model, its age and
whether it is stale), the value asked for, the bounds that apply, and who holds control; only
then does "Write" send it, through ``ctx.control.perform`` (which never waits: the write runs on
the engine's loop and its Future is handed back to the GUI thread with ``ctx.bridge.post``).
The dialog then shows the read-back, or the refusal in one line (Control audits both).

Other views call ``request_write(ctx, parent, device_id, action)``."""
from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.ui.context import ViewContext
from console.ui.control_events import control_events
from console.write_preview import WritePreview, preview, readback_text
from protocols.base import Action, ActionRefused

MAX_WAIT_SHOWN = 120  # seconds; the engine's per-call timeouts end a write long before


def one_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]


def control_text(ctx: ViewContext, now: float | None = None) -> tuple[bool, str]:
    """(writes possible now, the line that says who holds control or why not)."""
    if ctx.read_only:
        return False, "Read-only: another heatrack writes this site's database; write from there."
    if ctx.control is None:
        return False, "Writes are not possible in this window (no control of the site)."
    st = ctx.control.state()
    if not st.unlocked:
        return False, "Control is locked: unlock it first (Unlock control…), then confirm."
    left = max(0.0, (st.until or 0.0) - (ctx.wall() if now is None else now))
    return True, f"Unlocked by {st.actor} · {int(left // 60)}:{int(left % 60):02d} left"


class WriteDialog(QDialog):
    """Open with ``open()``; ``confirm()`` is the Write button's path (tests call it)."""

    write_finished = Signal(object)  # the ActionResult, or the exception that refused or failed it

    def __init__(self, ctx: ViewContext, device_id: str, action: Action, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.device_id, self.action = ctx, device_id, action
        self.result_value: Any = None
        self._sent_at: float | None = None
        self.setWindowTitle(f"Confirm write — {device_id}")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        self.preview: WritePreview | None
        try:
            self.preview = preview(ctx.site, ctx.live, device_id, action)
            problem = None
        except KeyError:
            self.preview, problem = None, f"No device {device_id!r} in this site."

        self.summary = QLabel(self.preview.summary if self.preview else action.describe())
        font = self.summary.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.summary.setFont(font)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        form = QFormLayout()
        self.now_label = QLabel(self.preview.current if self.preview else "—")
        self.now_label.setToolTip(f"series {self.preview.current_key}" if self.preview and self.preview.current_key
                                  else "no series holds this value")
        self.requested_label = QLabel(self.preview.requested if self.preview else "—")
        bold = self.requested_label.font()
        bold.setBold(True)
        self.requested_label.setFont(bold)
        bounds = self.preview.bounds if self.preview else ()
        self.bounds_label = QLabel("\n".join(f"• {b}" for b in bounds) or "—")
        self.bounds_label.setWordWrap(True)
        self.bounds_label.setToolTip("Control checks these again when it writes; the site's own protections "
                                     "(PLC interlocks, BMC limits) stay in charge")
        self.control_label = QLabel()
        if self.preview is not None:
            form.addRow("Device:", QLabel(self.preview.device))
            form.addRow("Changes:", QLabel(self.preview.what))
        form.addRow("Now:", self.now_label)
        form.addRow("Requested:", self.requested_label)
        form.addRow("Bounds:", self.bounds_label)
        form.addRow("Control:", self.control_label)
        layout.addLayout(form)

        self.result_label = QLabel(problem or "")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        strong = self.result_label.font()
        strong.setBold(True)
        self.result_label.setFont(strong)
        layout.addWidget(self.result_label)

        self.buttons = QDialogButtonBox()
        self.write_button = QPushButton("Write")
        self.write_button.setToolTip("Send this write to the device, then read it back")
        self.write_button.setAutoDefault(False)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setDefault(True)  # Enter does not write
        self.buttons.addButton(self.write_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.write_button.clicked.connect(self.confirm)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._problem = problem
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.update_state)
        self._timer.start()
        self.update_state()

    # ------------------------------------------------------------ state
    def update_state(self) -> None:
        """Who holds control and whether Write is possible (each second: an unlock can expire)."""
        ok, text = control_text(self.ctx)
        self.control_label.setText(text)
        waiting = self._sent_at is not None and self.result_value is None
        self.write_button.setEnabled(ok and self._problem is None and not waiting and self.result_value is None)
        if waiting and self._sent_at is not None:
            waited = time.monotonic() - self._sent_at
            self.result_label.setText(f"Sent; waiting for the read-back from {self.device_id}… ({waited:.0f} s)"
                                      if waited < MAX_WAIT_SHOWN else
                                      f"No answer from {self.device_id} after {waited:.0f} s; see the audit log.")

    # ------------------------------------------------------------ writing
    def confirm(self) -> None:
        """Send the write (Control checks and audits it); the answer comes back on the GUI thread."""
        ok, why = control_text(self.ctx)
        control = self.ctx.control
        if not ok or control is None or self._problem is not None:
            self.result_label.setText(self._problem or why)
            return
        actor = control.state().actor or ""
        self._sent_at = time.monotonic()
        self.write_button.setEnabled(False)
        try:
            fut = control.perform(actor, self.device_id, self.action)
        except Exception as e:  # noqa: BLE001 - ActionRefused, ControlLocked, an engine not running
            self._finish(e)
            return
        self.result_label.setText(f"Sent; waiting for the read-back from {self.device_id}…")
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._resolved(f)))

    def _resolved(self, fut: Future[Any]) -> None:
        try:
            self._finish(fut.result())
        except Exception as e:  # noqa: BLE001 - the client's refusal or failure, one line
            self._finish(e)

    def _finish(self, outcome: Any) -> None:
        self.result_value = outcome
        if isinstance(outcome, BaseException):
            word = "Refused" if isinstance(outcome, ActionRefused) else "Failed"
            self.result_label.setText(f"{word}: {one_line(outcome)}")
            self.result_label.setProperty("outcome", "refused")
        else:
            unit = self.preview.unit if self.preview else ""
            self.result_label.setText(readback_text(outcome, unit))
            self.result_label.setProperty("outcome", "ok" if outcome.ok else "mismatch")
        self.cancel_button.setText("Close")
        self.update_state()
        self.adjustSize()  # the answer may take two lines: grow rather than squeeze the bounds
        if self.ctx.control is not None:
            control_events(self.ctx.control).acted.emit(f"{self.action.describe()} on {self.device_id}")
        self.write_finished.emit(outcome)


def request_write(ctx: ViewContext, parent: QWidget | None, device_id: str, action: Action) -> WriteDialog:
    """Ask the user to confirm ``action`` on ``device_id`` (any action of protocols.base's
    vocabulary); the dialog is window-modal and open when this returns. Its ``write_finished`` signal
    carries the ActionResult or the exception that refused it."""
    dialog = WriteDialog(ctx, device_id, action, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


__all__ = ["WriteDialog", "control_text", "request_write"]
