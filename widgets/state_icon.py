"""A small vector mark per device or series state, so a state reads by shape as well as by
colour and word (about 1 man in 12 does not tell red from green): ok a small filled disc,
pending a hollow ring, stale a dashed ring, faulty a triangle, unreachable a diamond with a
cross, auth_failed a square, blocked an octagon.

Icons are painted for each size Qt asks for (a QIconEngine), so they stay crisp on a high-DPI
screen; nothing is a scaled bitmap."""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPen, QPixmap, QPolygonF

SHAPES = {
    "ok": "disc", "pending": "ring", "stale": "dashed", "no_value": "dashed", "faulty": "triangle",
    "unreachable": "diamond", "auth_failed": "square", "blocked": "octagon",
}


def paint_state(p: QPainter, rect: QRectF, state: str, colour: QColor) -> None:
    """Draw the mark of ``state`` inside ``rect``."""
    shape = SHAPES.get(state, "ring")
    s = min(rect.width(), rect.height())
    c = rect.center()
    r = s * 0.38
    pen = QPen(colour, max(1.0, s / 12))
    pen.setCosmetic(False)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if shape == "disc":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawEllipse(c, r * 0.7, r * 0.7)
    elif shape in ("ring", "dashed"):
        if shape == "dashed":
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(c, r * 0.8, r * 0.8)
    else:
        n, start = {"triangle": (3, -90.0), "diamond": (4, -90.0), "square": (4, -45.0),
                    "octagon": (8, -22.5)}[shape]
        poly = QPolygonF([QPointF(c.x() + r * 1.15 * math.cos(math.radians(start + i * 360 / n)),
                                  c.y() + r * 1.15 * math.sin(math.radians(start + i * 360 / n))
                                  + (r * 0.15 if shape == "triangle" else 0))
                          for i in range(n)])
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawPolygon(poly)
        # a light mark inside: "!" for faulty, a cross for unreachable, a bar for the others
        inner = QPen(QColor("#ffffff"), max(1.0, s / 9))
        p.setPen(inner)
        d = r * 0.45
        if shape == "triangle":
            p.drawLine(QPointF(c.x(), c.y() - d * 0.6), QPointF(c.x(), c.y() + d * 0.5))
            p.drawPoint(QPointF(c.x(), c.y() + d * 1.1))
        elif shape == "diamond":  # a small cross well inside, so the diamond stays one shape
            e = d * 0.55
            p.drawLine(QPointF(c.x() - e, c.y() - e), QPointF(c.x() + e, c.y() + e))
            p.drawLine(QPointF(c.x() - e, c.y() + e), QPointF(c.x() + e, c.y() - e))
        else:
            p.drawLine(QPointF(c.x() - d, c.y()), QPointF(c.x() + d, c.y()))


class _StateIconEngine(QIconEngine):
    def __init__(self, state: str, colour: QColor) -> None:
        super().__init__()
        self._state, self._colour = state, QColor(colour)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        colour = QColor(self._colour)
        if mode == QIcon.Mode.Disabled:
            colour.setAlpha(110)
        paint_state(painter, QRectF(rect), self._state, colour)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pm = QPixmap(size)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        self.paint(p, QRect(0, 0, size.width(), size.height()), mode, state)
        p.end()
        return pm

    def clone(self) -> QIconEngine:
        return _StateIconEngine(self._state, self._colour)


def state_icon(state: str, colour: QColor | str) -> QIcon:
    """The icon of ``state`` in ``colour`` (painted at whatever size is asked)."""
    return QIcon(_StateIconEngine(state, QColor(colour)))


__all__ = ["SHAPES", "paint_state", "state_icon"]
