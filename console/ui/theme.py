"""Light and dark themes: a QPalette from resources/style/palettes.toml, one small style sheet
(resources/style/heatrack.qss, colours by palette role) and pyqtgraph's plot colours.

Both palettes are neutral greys (ISA-101 style): colour is kept for abnormal states, which
views read from ``state_colour`` or from the palette. "system" follows the desktop's colour
scheme when Qt knows it, else light. The choice is remembered in QSettings.
"""
from __future__ import annotations

import functools
import logging
import tomllib
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger("heatrack.ui.theme")

THEMES = ("light", "dark", "system")
SETTINGS_KEY = "window/theme"


@functools.cache
def _palettes() -> dict[str, dict[str, str]]:
    from protocols.resources import resources_dir

    try:
        with open(resources_dir() / "style" / "palettes.toml", "rb") as f:
            data: dict[str, Any] = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:  # an install without resources/style
        log.warning("theme: cannot read the palettes (%s); using Qt's defaults", e)
        return {}
    return {name: {k: str(v) for k, v in roles.items()} for name, roles in data.items()}


@functools.cache
def _style_sheet() -> str:
    from protocols.resources import resources_dir

    try:
        return (resources_dir() / "style" / "heatrack.qss").read_text(encoding="utf-8")
    except OSError as e:
        log.debug("theme: no style sheet (%s)", e)
        return ""


def resolve(name: str) -> str:
    """light or dark for a theme name (system: what the desktop says, else light)."""
    if name not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {name!r}")
    if name != "system":
        return name
    hints = QGuiApplication.styleHints() if QGuiApplication.instance() is not None else None
    scheme = hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def palette_for(name: str) -> QPalette:
    roles = _palettes().get(resolve(name), {})
    pal = QPalette()
    for role_name, colour in roles.items():
        role = getattr(QPalette.ColorRole, role_name, None)
        if isinstance(role, QPalette.ColorRole):
            pal.setColor(role, QColor(colour))
    disabled = roles.get("disabled_text")
    if disabled:
        for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
            pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    return pal


def colour(name: str, key: str, default: str = "#808080") -> str:
    """A named colour of a theme (plot_background, state.alarm, ...)."""
    return _palettes().get(resolve(name), {}).get(key, default)


def state_colour(state: str, dark: bool = False) -> str:
    """The colour of an abnormal state in the light or dark palette ("" for normal ones)."""
    key = {"unreachable": "state.alarm", "auth_failed": "state.alarm", "alarm": "state.alarm",
           "critical": "state.alarm", "faulty": "state.warning", "warning": "state.warning",
           "blocked": "state.blocked", "stale": "state.stale"}.get(state)
    return colour("dark" if dark else "light", key) if key else ""


def apply_theme(app: QApplication, name: str) -> str:
    """Apply ``name`` to the whole application; returns light or dark. Plots created later take
    the theme's colours; ``restyle_plots`` repaints those already there."""
    resolved = resolve(name)
    app.setStyle("Fusion")  # the one style that honours a palette the same on every platform
    app.setPalette(palette_for(resolved))
    app.setStyleSheet(_style_sheet())
    pg.setConfigOptions(background=colour(resolved, "plot_background", "w"),
                        foreground=colour(resolved, "plot_foreground", "k"), antialias=True)
    app.setProperty("heatrack_theme", resolved)
    return resolved


def current(app: QApplication | None = None) -> str:
    """The theme in force (light until one is applied)."""
    app = app or QApplication.instance()  # type: ignore[assignment]
    value = app.property("heatrack_theme") if app is not None else None
    return value if value in ("light", "dark") else "light"


def restyle_plots(root: QWidget, name: str) -> None:
    """Give every pyqtgraph plot under ``root`` the theme's background and axis colours."""
    bg, fg = colour(name, "plot_background", "w"), colour(name, "plot_foreground", "k")
    for plot in root.findChildren(pg.PlotWidget):
        plot.setBackground(bg)
        item = plot.getPlotItem()
        for axis in ("left", "bottom", "right", "top"):
            ax = item.getAxis(axis)
            ax.setPen(fg)
            ax.setTextPen(fg)
    for view in root.findChildren(pg.GraphicsLayoutWidget):
        view.setBackground(bg)


def saved_theme(settings: QSettings | None = None) -> str:
    settings = settings or QSettings("heatrack", "heatrack")
    value = settings.value(SETTINGS_KEY, "system")
    return value if value in THEMES else "system"


def save_theme(name: str, settings: QSettings | None = None) -> None:
    settings = settings or QSettings("heatrack", "heatrack")
    settings.setValue(SETTINGS_KEY, name)


__all__ = ["THEMES", "apply_theme", "colour", "current", "palette_for", "resolve", "restyle_plots",
           "save_theme", "saved_theme", "state_colour"]
