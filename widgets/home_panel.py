"""The home screen: one headline that says whether all is well, a line when something needs the
person, and a few big tiles (compute, heat, tank, room, today, this season).

Plain data in (texts, levels), nothing out but what a person reads. Calm by design: a neutral
background, colour only for what is abnormal, and every abnormal state also marked by shape and
words (a triangle or an octagon beside the headline, a marker in the tile's title), so it reads
without colour vision and in glare. A value that is not current is greyed and hatched.
"""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFocusEvent,
    QFont,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

OK, ATTENTION, FAULT = "ok", "attention", "fault"
FAULT_COLOUR = QColor("#c62828")
ATTENTION_COLOUR = QColor("#b26a00")  # dark amber: readable as text on light and dark
ATTENTION_FILL = QColor("#f2b233")
MARKS = {OK: "", ATTENTION: "▲ ", FAULT: "■ "}
LEVEL_WORDS = {OK: "all is well", ATTENTION: "something to check", FAULT: "needs attention now"}


class StatusIcon(QWidget):
    """A circle with a tick (all well), a triangle with ! (check), an octagon with ✕ (act now)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = OK
        self.setFixedSize(56, 56)

    def set_level(self, level: str) -> None:
        if level != self.level:
            self.level = level
            self.setAccessibleName(LEVEL_WORDS.get(level, level))
            self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(56, 56)

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        c = r.center()
        pen = QPen(self.palette().color(QPalette.ColorRole.WindowText), 3)
        if self.level == FAULT:
            shape = QPolygonF([QPointF(c.x() + r.width() / 2 * dx, c.y() + r.height() / 2 * dy) for dx, dy in
                               ((-0.41, -1), (0.41, -1), (1, -0.41), (1, 0.41), (0.41, 1), (-0.41, 1),
                                (-1, 0.41), (-1, -0.41))])
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(FAULT_COLOUR)
            p.drawPolygon(shape)
            p.setPen(QPen(QColor("white"), 5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            d = r.width() * 0.2
            p.drawLine(QPointF(c.x() - d, c.y() - d), QPointF(c.x() + d, c.y() + d))
            p.drawLine(QPointF(c.x() - d, c.y() + d), QPointF(c.x() + d, c.y() - d))
        elif self.level == ATTENTION:
            shape = QPolygonF([QPointF(c.x(), r.top()), QPointF(r.right(), r.bottom() - 2),
                               QPointF(r.left(), r.bottom() - 2)])
            p.setPen(QPen(QColor("#5a3b00"), 1.5))
            p.setBrush(ATTENTION_FILL)
            p.drawPolygon(shape)
            p.setPen(QPen(QColor("black"), 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            p.drawLine(QPointF(c.x(), r.top() + r.height() * 0.35), QPointF(c.x(), r.top() + r.height() * 0.66))
            p.drawPoint(QPointF(c.x(), r.top() + r.height() * 0.8))
        else:
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(r.adjusted(2, 2, -2, -2))
            tick = QPainterPath(QPointF(c.x() - r.width() * 0.22, c.y()))
            tick.lineTo(QPointF(c.x() - r.width() * 0.05, c.y() + r.height() * 0.17))
            tick.lineTo(QPointF(c.x() + r.width() * 0.24, c.y() - r.height() * 0.17))
            p.drawPath(tick)
        p.end()


class Tile(QFrame):
    """One big number with its unit, a title above and a line of words below. ``clicked`` when
    clicked or activated with Enter/Space (a tile takes keyboard focus)."""

    clicked = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setObjectName(f"tile-{name}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.setMinimumHeight(170)
        self.setMaximumHeight(240)
        self.level, self.stale = OK, False
        self._css = ("", "")
        self._keyboard_focus = False  # the focus ring only when reached with Tab, not on showing
        self.title = QLabel()
        self.value = QLabel("—")
        self.unit = QLabel()
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        df = self.detail.font()
        df.setPointSizeF(df.pointSizeF() * 1.1)
        self.detail.setFont(df)
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.title.setFont(f)
        big = QFont(self.value.font())
        big.setPointSizeF(big.pointSizeF() * 3.8)
        big.setWeight(QFont.Weight.DemiBold)
        self.value.setFont(big)
        uf = QFont(self.unit.font())
        uf.setPointSizeF(uf.pointSizeF() * 1.4)
        self.unit.setFont(uf)
        row = QHBoxLayout()
        row.addWidget(self.value)
        row.addWidget(self.unit, 0, Qt.AlignmentFlag.AlignBaseline)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(self.title)
        lay.addLayout(row)
        lay.addWidget(self.detail)
        lay.addStretch(1)

    def set_data(self, title: str, value: str, unit: str, detail: str, level: str = OK, stale: bool = False,
                 tooltip: str = "") -> None:
        self.title.setText(MARKS.get(level, "") + title + ("  (not current)" if stale else ""))
        self.value.setText(value)
        self.unit.setText(unit)
        self.detail.setText(detail)
        self.setToolTip(tooltip)
        self.setAccessibleName(f"{title}: {value} {unit}, {detail}")
        if (level, stale) != (self.level, self.stale):
            self.level, self.stale = level, stale
            self.update()
        colour = {FAULT: FAULT_COLOUR, ATTENTION: ATTENTION_COLOUR}.get(level)
        muted = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
        value_css = f"color: {muted.name()};" if stale else (f"color: {colour.name()};" if colour else "")
        title_css = f"color: {colour.name()}; font-weight: 600;" if colour else ""
        if (value_css, title_css) != self._css:  # restyling costs ~1 ms a label: only on change
            self._css = (value_css, title_css)
            self.value.setStyleSheet(value_css)
            self.unit.setStyleSheet(value_css)
            self.title.setStyleSheet(title_css)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit(self.name)
        super().mouseReleaseEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        self._keyboard_focus = event.reason() in (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason)
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        self._keyboard_focus = False
        self.update()
        super().focusOutEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit(self.name)
            return
        super().keyPressEvent(event)

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5)
        pal = self.palette()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        p.drawRoundedRect(r, 8, 8)
        if self.stale:
            hatch = QColor(pal.color(QPalette.ColorRole.WindowText))
            hatch.setAlpha(40)
            p.setBrush(QBrush(hatch, Qt.BrushStyle.BDiagPattern))
            p.drawRoundedRect(r, 8, 8)
        colour = {FAULT: FAULT_COLOUR, ATTENTION: ATTENTION_FILL}.get(self.level)
        border = QPen(colour, 4) if colour is not None else QPen(pal.color(QPalette.ColorRole.Mid), 1)
        if self.hasFocus() and self._keyboard_focus and colour is None:
            border = QPen(pal.color(QPalette.ColorRole.Highlight), 2)
        p.setPen(border)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(r.adjusted(1, 1, -1, -1), 8, 8)
        p.end()


class _ClickLabel(QLabel):
    clicked = Signal()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class HomePanel(QWidget):
    """Headline, "needs you" line and tiles; ``set_status`` and ``set_tile`` take plain data.
    ``tile_clicked(name)`` when a tile is clicked, ``needs_you_clicked()`` for the line."""

    tile_clicked = Signal(str)
    needs_you_clicked = Signal()

    COLUMNS = 3

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = StatusIcon()
        self.headline = QLabel("Waiting for the site to report…")
        self.headline.setWordWrap(True)
        hf = QFont(self.headline.font())
        hf.setPointSizeF(hf.pointSizeF() * 1.7)
        hf.setWeight(QFont.Weight.DemiBold)
        self.headline.setFont(hf)
        self.subline = QLabel()
        self.needs_you = _ClickLabel()
        self.needs_you.setWordWrap(True)
        self.needs_you.setObjectName("needs-you")
        self.needs_you.setCursor(Qt.CursorShape.PointingHandCursor)
        self.needs_you.clicked.connect(self.needs_you_clicked)
        nf = QFont(self.needs_you.font())
        nf.setPointSizeF(nf.pointSizeF() * 1.35)
        nf.setWeight(QFont.Weight.DemiBold)
        self.needs_you.setFont(nf)
        self.needs_you.hide()
        head = QHBoxLayout()
        head.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        words.addWidget(self.headline)
        words.addWidget(self.subline)
        head.addLayout(words, 1)
        self.grid = QGridLayout()
        self.grid.setSpacing(14)
        self.tiles: dict[str, Tile] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 20, 24, 20)
        lay.setSpacing(14)
        lay.addLayout(head)
        lay.addWidget(self.needs_you)
        lay.addLayout(self.grid)
        self.footer = QLabel()
        self.footer.setWordWrap(True)
        lay.addWidget(self.footer)
        lay.addStretch(1)

    def set_status(self, level: str, headline: str, needs_you: str = "", more: Sequence[str] = (),
                   subline: str = "") -> None:
        """``more``: the other concerns (shown as "+N more", listed in the tooltip)."""
        self.icon.set_level(level)
        self.icon.setToolTip(LEVEL_WORDS.get(level, level).capitalize())
        self.headline.setText(headline)
        self.subline.setText(subline)
        self.subline.setVisible(bool(subline))
        if not needs_you:
            self.needs_you.hide()
            self.needs_you.setText("")
            return
        text = needs_you + (f"   (+{len(more)} more)" if more else "")
        fill, fg = (FAULT_COLOUR, QColor("white")) if level == FAULT else (ATTENTION_FILL, QColor("black"))
        css = f"background: {fill.name()}; color: {fg.name()}; border-radius: 6px; padding: 10px 14px;"
        if css != self.needs_you.styleSheet():
            self.needs_you.setStyleSheet(css)
        self.needs_you.setText(MARKS.get(level, "") + text)
        self.needs_you.setToolTip("\n".join([needs_you, *more]))
        self.needs_you.show()

    def set_footer(self, text: str) -> None:
        """A line of plain words under the tiles (how the numbers were reckoned)."""
        self.footer.setText(text)

    def set_tile(self, name: str, title: str, value: str, unit: str, detail: str, level: str = OK,
                 stale: bool = False, tooltip: str = "") -> None:
        tile = self.tiles.get(name)
        if tile is None:
            tile = self.tiles[name] = Tile(name)
            tile.clicked.connect(self.tile_clicked)
            i = len(self.tiles) - 1
            self.grid.addWidget(tile, i // self.COLUMNS, i % self.COLUMNS)
        tile.set_data(title, value, unit, detail, level, stale, tooltip)


__all__ = ["ATTENTION", "FAULT", "OK", "HomePanel", "StatusIcon", "Tile"]
