"""Who may write to the equipment now: "Control locked", or "Unlocked by NAME · 12:34 left",
with "Unlock control…" (asks who, for how long, why), "Lock" and, while unlocked, "Write…"
(choose a device, what to change and the value; then the confirm dialog).

A plain widget the window places (a toolbar or a dock): ``ControlPanel(ctx, parent)``. It reads
``ctx.control.state()`` each second, so an unlock that expires shows as locked without anyone
touching it; the time left is measured against ``ctx.wall`` (the clock Control is given; both
default to ``time.time``). Control bounds the unlock (up to 8 h, a printable name) and audits
refused unlocks too; the dialog shows its one-line refusal."""
from __future__ import annotations

import threading

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from console.control import DEFAULT_UNLOCK_MINUTES, MAX_NAME, MAX_REASON, MAX_UNLOCK_MINUTES, ControlState
from console.ui.context import ViewContext
from console.ui.control_events import control_events
from console.ui.who import last_name, remember_name
from console.ui.write_picker import WritePicker
from console.write_preview import warm_profiles


def state_text(state: ControlState | None, now: float, why_not: str | None = None) -> str:
    if why_not is not None:
        return why_not
    if state is None or not state.unlocked:
        return "Control locked"
    left = max(0.0, (state.until or now) - now)
    h, rest = divmod(int(left), 3600)
    m, s = divmod(rest, 60)
    shown = f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    return f"Unlocked by {state.actor} · {shown} left"


def unavailable(ctx: ViewContext) -> str | None:
    if ctx.read_only:
        return "Control unavailable: read-only (another heatrack writes this database)"
    if ctx.control is None:
        return "Control unavailable in this window"
    return None


class UnlockDialog(QDialog):
    """Who (required), for how long, why. ``accept()`` asks Control; a refusal stays open with
    Control's one-line reason. Open with ``open()``."""

    unlocked = Signal(object)  # the ControlState

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Unlock control")
        layout = QVBoxLayout(self)
        intro = QLabel("Writes to the equipment (power limits, outlets, setpoints, valves, pump, UPS self-test) "
                       "are possible only while control is unlocked, by a named person, for a limited time. "
                       "Every write and this unlock are recorded in the audit log.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.name = QLineEdit(last_name())
        self.name.setMaxLength(MAX_NAME)
        self.name.setPlaceholderText("required: who is unlocking")
        self.minutes = QSpinBox()
        self.minutes.setRange(1, int(MAX_UNLOCK_MINUTES))
        self.minutes.setValue(int(DEFAULT_UNLOCK_MINUTES))
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip(f"1 to {MAX_UNLOCK_MINUTES:g} minutes; control locks itself afterwards")
        self.reason = QLineEdit()
        self.reason.setMaxLength(MAX_REASON)
        self.reason.setPlaceholderText("optional: what for (recorded in the audit log)")
        form.addRow("Who:", self.name)
        form.addRow("For:", self.minutes)
        form.addRow("Why:", self.reason)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Unlock")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def accept(self) -> None:
        control = self.ctx.control
        if control is None or self.ctx.read_only:
            self.error.setText(unavailable(self.ctx) or "")
            self.error.show()
            return
        try:
            state = control.unlock(self.name.text(), self.minutes.value(), self.reason.text())
        except ValueError as e:  # Control's one-line reason (and it audited the refusal)
            self.error.setText(f"Not unlocked: {str(e).splitlines()[0]}")
            self.error.show()
            self.adjustSize()
            control_events(control).acted.emit("unlock refused")
            return
        remember_name(self.name.text())
        super().accept()
        control_events(control).acted.emit(f"control unlocked by {state.actor}")
        self.unlocked.emit(state)


class ControlPanel(QWidget):
    """The control state line and its two buttons; ``refresh()`` each second."""

    changed = Signal(object)  # the ControlState after an unlock, lock or expiry

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("controlPanel")
        self.label = QLabel()
        self.label.setToolTip("Writes to the equipment need control unlocked by a named person")
        self.unlock_button = QPushButton("Unlock control…")
        self.unlock_button.setToolTip("Allow writes for a limited time; asks who, for how long and why")
        self.lock_button = QPushButton("Lock")
        self.lock_button.setToolTip("End the unlock now")
        self.write_button = QPushButton("Write…")
        self.write_button.setToolTip("Change a power limit, an outlet, a setpoint, a valve, the pump or start a UPS "
                                     "self-test; every write is confirmed first (needs control unlocked)")
        self.unlock_button.clicked.connect(self.ask_unlock)
        self.lock_button.clicked.connect(self.lock)
        self.write_button.clicked.connect(self.ask_write)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.unlock_button)
        layout.addWidget(self.lock_button)
        layout.addWidget(self.write_button)
        layout.addStretch(1)
        self.dialog: UnlockDialog | None = None
        self.picker: WritePicker | None = None
        self._last: ControlState | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()
        if ctx.control is not None:  # the confirm dialogs' register maps, read off the GUI thread
            threading.Thread(target=warm_profiles, args=(ctx.site,), name="heatrack-profiles", daemon=True).start()

    def state(self) -> ControlState | None:
        return self.ctx.control.state() if self.ctx.control is not None and not self.ctx.read_only else None

    def refresh(self) -> None:
        why = unavailable(self.ctx)
        st = self.state()
        self.label.setText(state_text(st, self.ctx.wall(), why))
        unlocked = st is not None and st.unlocked
        font = self.label.font()
        font.setBold(unlocked)  # unlocked is the state to notice; locked is the calm one
        self.label.setFont(font)
        self.unlock_button.setEnabled(why is None)
        self.unlock_button.setText("Extend…" if unlocked else "Unlock control…")
        self.lock_button.setEnabled(unlocked)
        self.write_button.setEnabled(unlocked)
        if st != self._last:
            was = self._last
            self._last = st
            if was is not None:
                self.changed.emit(st)

    def ask_unlock(self) -> UnlockDialog | None:
        """Open the unlock dialog (returned: tests fill it in)."""
        if unavailable(self.ctx) is not None:
            return None
        self.dialog = UnlockDialog(self.ctx, self)
        self.dialog.unlocked.connect(lambda _: self.refresh())
        self.dialog.open()
        return self.dialog

    def ask_write(self, device_id: str | None = None) -> WritePicker | None:
        """Open the write picker (returned: tests fill it in); its "Review…" opens the confirm dialog."""
        if unavailable(self.ctx) is not None:
            return None
        self.picker = WritePicker(self.ctx, self.window(), device_id)
        self.picker.open()
        return self.picker

    def lock(self) -> None:
        control = self.ctx.control
        if control is None:
            return
        st = control.state()
        control.lock(st.actor or last_name() or "?")
        control_events(control).acted.emit("control locked")
        self.refresh()


__all__ = ["ControlPanel", "UnlockDialog", "state_text"]
