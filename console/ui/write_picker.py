"""Choose a write: device, what to change, the new value; then the confirm dialog takes over.

The control panel's "Write…" opens it (the device page or the schematic can call
``request_write`` directly with an action of their own). The options come from
``console.write_menu``; the value starts at the device's value now, when it reports one."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.ui.context import ViewContext
from console.ui.write_dialog import WriteDialog, request_write
from console.write_menu import WriteOption, options_for, writable_devices
from protocols.base import Action


class WritePicker(QDialog):
    """Open with ``open()``; ``review()`` (the "Review…" button) opens the confirm dialog."""

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None, device_id: str | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.confirm: WriteDialog | None = None
        self.setWindowTitle("Write to the equipment")
        layout = QVBoxLayout(self)
        intro = QLabel("Choose what to change; the next step shows the value now, the bounds, and asks to confirm.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.device = QComboBox()
        for dev_id in writable_devices(ctx.site, ctx.live):
            d = ctx.site.device(dev_id)
            self.device.addItem(f"{d.id} — {d.name}" if d.name else d.id, d.id)
        self.option = QComboBox()
        self.number = QDoubleSpinBox()
        self.number.setDecimals(1)
        self.number.setKeyboardTracking(False)
        self.number.valueChanged.connect(lambda _: self._update_review())
        self.choice = QComboBox()
        self.nothing = QLabel("no value: the action is started as it is")
        self.value = QStackedWidget()
        for w in (self.number, self.choice, self.nothing):
            self.value.addWidget(w)
        form.addRow("Device:", self.device)
        form.addRow("Change:", self.option)
        form.addRow("New value:", self.value)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.review_button = buttons.addButton("Review…", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.review)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._options: list[WriteOption] = []
        self.device.currentIndexChanged.connect(self._device_changed)
        self.option.currentIndexChanged.connect(self._option_changed)
        if device_id is not None and self.device.findData(device_id) >= 0:
            self.device.setCurrentIndex(self.device.findData(device_id))
        self._device_changed()

    def _device_changed(self) -> None:
        dev = self.device.currentData()
        self._options = options_for(self.ctx.site, self.ctx.live, dev) if dev else []
        self.option.blockSignals(True)
        self.option.clear()
        for o in self._options:
            self.option.addItem(o.label)
        self.option.blockSignals(False)
        self._option_changed()

    def current_option(self) -> WriteOption | None:
        i = self.option.currentIndex()
        return self._options[i] if 0 <= i < len(self._options) else None

    def _update_review(self) -> None:
        o = self.current_option()
        blank = o is not None and o.value == "number" and self.number.value() < o.low
        self.review_button.setEnabled(o is not None and not blank)

    def _option_changed(self) -> None:
        o = self.current_option()
        self._update_review()
        if o is None:
            return
        if o.value == "number":
            known = isinstance(o.default, (int, float))
            # no value now (a BMC without a cap): no number is offered; the person types one
            self.number.setRange(o.low if known else o.low - 1, o.high)
            self.number.setSpecialValueText("" if known else "type a value")
            self.number.setSuffix(f" {o.unit}" if o.unit else "")
            self.number.setValue(float(o.default) if known else o.low - 1)
            self.number.setToolTip(f"{o.low:g} … {o.high:g} {o.unit}".strip())
            self.value.setCurrentWidget(self.number)
        elif o.value == "choice":
            self.choice.clear()
            self.choice.addItems(list(o.choices))
            if o.default in o.choices:
                self.choice.setCurrentText(str(o.default))
            self.value.setCurrentWidget(self.choice)
        else:
            self.value.setCurrentWidget(self.nothing)
        self._update_review()

    def chosen_action(self) -> Action | None:
        o = self.current_option()
        if o is None:
            return None
        value: Any = self.number.value() if o.value == "number" else \
            self.choice.currentText() if o.value == "choice" else None
        return o.make(value)

    def review(self) -> WriteDialog | None:
        """Hand the chosen action to the confirm dialog; returns it."""
        action = self.chosen_action()
        dev = self.device.currentData()
        if action is None or dev is None or not self.review_button.isEnabled():
            return None
        self.confirm = request_write(self.ctx, self.parentWidget(), dev, action)
        self.accept()
        return self.confirm


__all__ = ["WritePicker"]
