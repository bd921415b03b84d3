"""Who is acting: the name asked before an acknowledgement or an unlock, remembered between runs.

The name is remembered in QSettings (``heatrack/heatrack``, key ``last_name``) so a person does
not type it at every acknowledgement; it is still asked each time, because the audit log and
the events table record who did it, not who did it last."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

KEY = "last_name"
MAX_NAME = 80  # as console.control.MAX_NAME


def _default_settings() -> QSettings:
    return QSettings("heatrack", "heatrack")  # the one settings file of the window (theme, recent sites)


settings_factory: Callable[[], QSettings] = _default_settings  # tests point it at a file in tmp_path


def last_name() -> str:
    value = settings_factory().value(KEY, "")
    return value if isinstance(value, str) else ""


def remember_name(name: str) -> None:
    s = settings_factory()
    s.setValue(KEY, name.strip())
    s.sync()


class AskName(QDialog):
    """Asks one name (required) and emits ``named(name)`` on OK. Open with ``open()``."""

    named = Signal(str)

    def __init__(self, title: str, question: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(question))
        form = QFormLayout()
        self.name = QLineEdit(last_name())
        self.name.setMaxLength(MAX_NAME)
        self.name.setPlaceholderText("your name (recorded with it)")
        form.addRow("Name:", self.name)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def accept(self) -> None:
        name = self.name.text().strip()
        if not name or not name.isprintable():
            self.error.setText("A name is needed: it is recorded with the acknowledgement.")
            self.error.show()
            return
        remember_name(name)
        super().accept()
        self.named.emit(name)


__all__ = ["AskName", "last_name", "remember_name", "settings_factory"]
