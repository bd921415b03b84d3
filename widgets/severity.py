"""Severity marks: a shape and a word for each severity, colour only for alarm and critical.

One place, so the events table, the tray icon and a badge code severity the same way; the
shape differs per severity so it reads without colour (ISA-101: colour is spent on abnormal)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPen, QPixmap, QPolygonF

RANK = {"info": 0, "warning": 1, "alarm": 2, "critical": 3}
WORDS = {"info": "info", "warning": "warning", "alarm": "ALARM", "critical": "CRITICAL"}
COLOURS = {"alarm": "#e65100", "critical": "#c62828"}  # everything else is drawn in the text colour


def word(severity: str) -> str:
    return WORDS.get(severity, severity)


def colour(severity: str) -> QColor | None:
    """The alarm colour of a severity, or None: draw it in the palette's text colour."""
    c = COLOURS.get(severity)
    return QColor(c) if c else None


def icon(severity: str, size: int = 16, text_colour: QColor | None = None) -> QIcon:
    """info: a hollow circle; warning: a hollow triangle; alarm: a filled triangle;
    critical: a filled octagon. Each with an exclamation mark but info."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    ink = colour(severity) or text_colour or QColor("#424242")
    s = float(size)
    m = 1.5
    if severity == "critical":
        k = s * 0.29
        pts = [QPointF(k, m), QPointF(s - k, m), QPointF(s - m, k), QPointF(s - m, s - k),
               QPointF(s - k, s - m), QPointF(k, s - m), QPointF(m, s - k), QPointF(m, k)]
        shape = QPolygonF(pts)
    elif severity in ("alarm", "warning"):
        shape = QPolygonF([QPointF(s / 2, m), QPointF(s - m, s - m), QPointF(m, s - m)])
    else:
        shape = QPolygonF()
    filled = severity in ("alarm", "critical")
    p.setPen(QPen(ink, 1.5))
    p.setBrush(QBrush(ink) if filled else Qt.BrushStyle.NoBrush)
    if shape.isEmpty():
        p.drawEllipse(QPointF(s / 2, s / 2), s / 2 - m, s / 2 - m)
    else:
        p.drawPolygon(shape)
    if severity != "info":
        mark = QColor("white") if filled else ink
        p.setPen(QPen(mark, max(1.5, s / 9)))
        top = s * (0.40 if severity in ("alarm", "warning") else 0.28)
        p.drawLine(QPointF(s / 2, top), QPointF(s / 2, s * 0.66))
        p.drawPoint(QPointF(s / 2, s * 0.80))
    else:
        p.setPen(QPen(ink, 1.5))
        p.drawLine(QPointF(s / 2, s * 0.45), QPointF(s / 2, s * 0.72))
        p.drawPoint(QPointF(s / 2, s * 0.30))
    p.end()
    return QIcon(pm)


__all__ = ["COLOURS", "RANK", "WORDS", "colour", "icon", "word"]
