"""The first-run screen: open a site file, start the demo, create a site, or pick a recent site.

Shown by ``heatrack open`` without a site and by ``heatrack`` alone on a display. It only
returns what to open (``StartChoice``); opening the window stays in the command
(``console.commands.open.run_window``). Recent sites live in QSettings (organisation
"heatrack"), most recent first; a file that is gone is shown greyed with "not found" and can be
removed from the list.
"""
from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.site import MAX_SITE_BYTES, SiteError, load_site
from console.site_writer import NewDevice, SiteAnswers, SiteWriteError, create_site
from protocols.base import Credentials

RECENT_KEY = "recent_sites"
MAX_RECENT = 10
FUELS = ["gas", "oil", "lpg", "electric", "heat_pump", "district"]


@dataclasses.dataclass(frozen=True)
class StartChoice:
    """What the person chose: ``action`` "open" (with ``path``) or "demo"."""

    action: str
    path: str | None = None


def app_settings() -> QSettings:
    return QSettings("heatrack", "heatrack")


def recent_sites(settings: QSettings) -> list[str]:
    """Recent site files, most recent first. The same key and form as the window's File ▸ Recent
    sites (``console.ui.main_window``): a list of paths; QSettings gives a one-item list back as
    a plain string, and a JSON list (an earlier form) is read too."""
    raw = settings.value(RECENT_KEY, [])
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.startswith("[") else [raw]
        except ValueError:
            raw = [raw]
    items = raw if isinstance(raw, list) else []
    return list(dict.fromkeys(str(p) for p in items if isinstance(p, str) and p))[:MAX_RECENT]


def _store(settings: QSettings, items: list[str]) -> None:
    settings.setValue(RECENT_KEY, items)
    settings.sync()


def remember_site(settings: QSettings, path: str | Path) -> None:
    """Put ``path`` first in the recent list (the window shell calls this once a site opened)."""
    p = str(Path(path).resolve())
    _store(settings, [p, *(x for x in recent_sites(settings) if x != p)][:MAX_RECENT])


def forget_site(settings: QSettings, path: str) -> None:
    _store(settings, [x for x in recent_sites(settings) if x != path])


def _site_name(path: str) -> str:
    """The [site] name of a file, read quickly for the list (validation happens on opening)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.loads(f.read(MAX_SITE_BYTES).decode("utf-8", "replace"))
        name = data.get("site", {}).get("name", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return " ".join(name.split())[:80] if isinstance(name, str) else ""


def _pick_site_file(parent: QWidget | None) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Open a site file", str(Path.home()),
                                          "heatrack site files (*.toml);;All files (*)")
    return path


class _RecentList(QListWidget):
    """The recent sites; Delete (or Backspace) asks to remove the selected entry."""

    remove_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_requested.emit()
            return
        super().keyPressEvent(event)


class StartScreen(QDialog):
    """``choice`` is set when the dialog is accepted."""

    def __init__(self, parent: QWidget | None = None, *, settings: QSettings | None = None,
                 pick_file: Callable[[QWidget | None], str] = _pick_site_file,
                 create: Callable[[QWidget | None], str | None] | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or app_settings()
        self._pick_file = pick_file
        self._create = create or (lambda parent: CreateSiteDialog.ask(parent))
        self.choice: StartChoice | None = None
        self.setWindowTitle("heatrack")
        self.setMinimumSize(640, 420)

        title = QLabel("heatrack")
        f = title.font()
        f.setPointSizeF(f.pointSizeF() * 2)
        f.setBold(True)
        title.setFont(f)
        intro = QLabel("Watch and commission a site whose servers heat a home. Open a site file, try the "
                       "demo (simulated equipment, no hardware needed), or describe a new site.")
        intro.setWordWrap(True)
        self.open_button = QPushButton("&Open a site file…")
        self.open_button.setToolTip("A site's TOML file (see resources/sites/example.toml)")
        self.demo_button = QPushButton("Start the &demo")
        self.demo_button.setToolTip("A simulated site on this computer: servers, UPS, PDU and heat controller")
        self.create_button = QPushButton("&Create a site…")
        self.create_button.setToolTip("Answer a few questions; heatrack writes the site file")
        row = QHBoxLayout()
        for b in (self.open_button, self.demo_button, self.create_button):
            b.setMinimumHeight(40)
            row.addWidget(b)
        self.recent = _RecentList()
        self.recent.setToolTip("Double-click or Enter to open; Delete removes an entry from this list "
                               "(the file stays)")
        self.recent_label = QLabel("Recent sites")
        self.open_recent = QPushButton("Open")
        self.remove_recent = QPushButton("&Remove from list")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        rrow = QHBoxLayout()
        rrow.addStretch(1)
        rrow.addWidget(self.remove_recent)
        rrow.addWidget(self.open_recent)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(intro)
        lay.addLayout(row)
        lay.addWidget(self.recent_label)
        lay.addWidget(self.recent, 1)
        lay.addLayout(rrow)
        lay.addWidget(self.error)

        self.open_button.clicked.connect(self._open_file)
        self.demo_button.clicked.connect(lambda: self._choose(StartChoice("demo")))
        self.create_button.clicked.connect(self._create_site)
        self.recent.itemActivated.connect(lambda item: self._open_recent())
        self.recent.currentItemChanged.connect(lambda *a: self._update_buttons())
        self.open_recent.clicked.connect(self._open_recent)
        self.remove_recent.clicked.connect(self._remove_selected)
        self.recent.remove_requested.connect(self._remove_selected)
        self.reload()

    # ------------------------------------------------------------ recent list
    def reload(self) -> None:
        self.recent.clear()
        for path in recent_sites(self.settings):
            exists = Path(path).is_file()
            name = _site_name(path) if exists else ""
            item = QListWidgetItem((f"{name}  ·  {path}" if name else path) if exists else f"{path} — not found")
            item.setData(Qt.ItemDataRole.UserRole, path)
            if not exists:
                item.setForeground(self.palette().color(self.palette().ColorGroup.Disabled,
                                                        self.palette().ColorRole.WindowText))
                item.setToolTip("This file is not there any more; remove it from the list")
            else:
                item.setToolTip(path)
            self.recent.addItem(item)
        has = self.recent.count() > 0
        self.recent_label.setText("Recent sites" if has else "Recent sites: none yet")
        if has:
            self.recent.setCurrentRow(0)
        self._update_buttons()

    def _selected(self) -> str | None:
        item = self.recent.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def _update_buttons(self) -> None:
        path = self._selected()
        self.remove_recent.setEnabled(path is not None)
        self.open_recent.setEnabled(path is not None and Path(path).is_file())

    def _remove_selected(self) -> None:
        path = self._selected()
        if path is not None:
            forget_site(self.settings, path)
            self.reload()

    # ------------------------------------------------------------ choices
    def _open_path(self, path: str) -> None:
        """Check the file first, so a broken one is one line here, not a window that fails."""
        try:
            load_site(path)
        except SiteError as e:
            first = str(e).splitlines()[0]
            more = len(e.problems) - 1
            self.error.setText(first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""))
            return
        remember_site(self.settings, path)
        self._choose(StartChoice("open", str(Path(path).resolve())))

    def _open_file(self) -> None:
        path = self._pick_file(self)
        if path:
            self._open_path(path)

    def _open_recent(self) -> None:
        path = self._selected()
        if path is None:
            return
        if not Path(path).is_file():
            self.error.setText(f"{path}: not found; remove it from the list or open another file")
            return
        self._open_path(path)

    def _create_site(self) -> None:
        path = self._create(self)
        if path:
            self._open_path(path)

    def _choose(self, choice: StartChoice) -> None:
        self.choice = choice
        self.accept()


def choose_start(parent: QWidget | None = None, settings: QSettings | None = None) -> StartChoice | None:
    """Show the start screen; what to open, or None when the person closed it."""
    screen = StartScreen(parent, settings=settings)
    return screen.choice if screen.exec() == QDialog.DialogCode.Accepted else None


class CreateSiteDialog(QDialog):
    """A few answers → a new site file (console.site_writer.create_site). The first server and
    the heat controller make the heat path; more devices are added later with "Add a device"."""

    def __init__(self, parent: QWidget | None = None, *,
                 pick_path: Callable[[QWidget | None], str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create a site")
        self.setMinimumWidth(520)
        self._pick_path = pick_path or self._ask_path
        self.path: str | None = None
        self.name = QLineEdit()
        self.name.setPlaceholderText("Maple Street")
        self.location = QLineEdit()
        self.timezone = QLineEdit("Europe/London")
        self.currency = QLineEdit("GBP")
        self.currency.setMaxLength(3)
        self.currency.setToolTip("Three letters: GBP, EUR, USD, …")
        self.elec_price = self._price(0.25)
        self.fuel = QComboBox()
        self.fuel.addItems(FUELS)
        self.fuel.setToolTip("The heating the servers' heat replaces")
        self.fuel_price = self._price(0.07)
        self.efficiency = QDoubleSpinBox()
        self.efficiency.setRange(0.1, 6)
        self.efficiency.setDecimals(2)
        self.efficiency.setValue(0.85)
        self.efficiency.setToolTip("Boiler efficiency (0.85) or a heat pump's seasonal performance (2.8)")
        self.server_address = QLineEdit()
        self.server_address.setPlaceholderText("192.168.1.11:443  (the server's BMC)")
        self.server_user = QLineEdit()
        self.server_password = QLineEdit()
        self.server_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.server_password.setToolTip("Stored in the OS keyring, never in the site file")
        self.controller_address = QLineEdit()
        self.controller_address.setPlaceholderText("192.168.1.20:502  (Modbus TCP)")
        self.tank = QDoubleSpinBox()
        self.tank.setRange(1, 100_000)
        self.tank.setValue(300)
        self.tank.setSuffix(" L")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        form = QFormLayout()
        for label, w in (("Site name", self.name), ("Location", self.location), ("Time zone", self.timezone),
                         ("Currency", self.currency), ("Electricity price per kWh", self.elec_price),
                         ("Heating it replaces", self.fuel), ("Its price per kWh", self.fuel_price),
                         ("Its efficiency", self.efficiency), ("First server (BMC address)", self.server_address),
                         ("BMC user", self.server_user), ("BMC password", self.server_password),
                         ("Heat controller address", self.controller_address), ("Tank volume", self.tank)):
            form.addRow(label, w)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)

    @staticmethod
    def _price(value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(0, 1_000_000)
        box.setDecimals(3)
        box.setValue(value)
        return box

    @staticmethod
    def _ask_path(parent: QWidget | None) -> str:
        path, _ = QFileDialog.getSaveFileName(parent, "Save the site file", str(Path.home() / "site.toml"),
                                              "heatrack site files (*.toml)")
        return path

    def answers(self) -> SiteAnswers:
        creds = None
        if self.server_user.text().strip() or self.server_password.text():
            creds = Credentials(username=self.server_user.text().strip() or None,
                                password=self.server_password.text() or None)
        devices = (NewDevice("srv1", "server", "redfish", self.server_address.text().strip(), name="Server 1",
                             tls=True, credentials=creds),
                   NewDevice("heat1", "heat_controller", "modbus", self.controller_address.text().strip(),
                             name="Heat controller", profile="heatrack-default", options={"unit": 1},
                             poll_interval=5, timeout=2))
        return SiteAnswers(name=self.name.text().strip(), location=self.location.text().strip(),
                           timezone=self.timezone.text().strip() or "UTC", currency=self.currency.text().strip(),
                           electricity_price_per_kwh=self.elec_price.value(), displaced_fuel=self.fuel.currentText(),
                           fuel_price_per_kwh=self.fuel_price.value(), displaced_efficiency=self.efficiency.value(),
                           devices=devices, tank_volume_l=self.tank.value())

    def save(self) -> None:
        if not self.name.text().strip():
            self.error.setText("Give the site a name.")
            return
        path = self._pick_path(self)
        if not path:
            return
        try:
            self.path = str(create_site(path, self.answers()))
        except SiteWriteError as e:
            self.error.setText(" ".join(str(e).split()))
            return
        self.accept()

    @classmethod
    def ask(cls, parent: QWidget | None = None) -> str | None:
        d = cls(parent)
        return d.path if d.exec() == QDialog.DialogCode.Accepted else None


__all__ = ["CreateSiteDialog", "StartChoice", "StartScreen", "app_settings", "choose_start", "forget_site",
           "recent_sites", "remember_site"]
