"""A live process schematic: boxes, symbols and pipes on a QGraphicsScene built once.

Plain data in: a ``SchematicLayout`` (nodes and pipes with their geometry, built once) and,
on every refresh, ``NodeUpdate`` / ``PipeUpdate`` per id. Afterwards only item properties
change (text, brushes, pens, visibility, the flow dashes' offset); no item is created or
removed per update, and an unchanged update touches nothing. Out: ``element_clicked(target)``.

States are coded twice, never by colour alone: ``abnormal`` = red outline, a warning triangle
and the reason in bold; ``stale`` = greyed text with the value's age; ``unreachable`` = hatched
and greyed with the word; ``none`` = a quiet "no sensor". Pipes take their colour from a
temperature scale (drawn in the legend); a dashed overlay moves along a pipe at a speed
proportional to its flow (L/min) on a ~30 fps timer that runs only while the view is visible
and something flows, and stops (dashes hidden) at zero or unknown flow. Keyboard: the arrows
move a focus ring from part to part, Enter or Space opens it (the same signal as a click).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFocusEvent,
    QFont,
    QFontMetricsF,
    QHideEvent,
    QKeyEvent,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPolygonF,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractGraphicsShapeItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

Point = tuple[float, float]
Rect = tuple[float, float, float, float]

ALARM = QColor("#d32f2f")
# pipe temperature scale, cold to hot (low end of the range .. high end)
TEMP_STOPS = ((0.0, "#2c6fbb"), (0.3, "#2aa1a8"), (0.55, "#c9a227"), (0.8, "#e07020"), (1.0, "#c2185b"))
FRAME_MS = 33  # ~30 fps flow animation
PX_PER_LPM = 12.0  # flow dashes move 12 scene px/s per L/min ...
MAX_PX_S = 240.0  # ... up to this (a big site's loop would otherwise be a blur)
PIPE_W, DASH_W = 7.0, 3.0
DASHES = [2.0, 3.0]  # in dash-pen widths: 6 px on, 9 px off
LINE_H = 14.0
MAX_LINES = 4


@dataclasses.dataclass(frozen=True, slots=True)
class NodeSpec:
    id: str
    shape: str  # box | badge | pump | valve | tank | layer
    glyph: str  # server, gpu, exchanger, dry_cooler, space_heating, hot_water, pool, process, other, ""
    rect: Rect
    text_at: Point
    text_width: float
    title: str
    tooltip: str
    target: str | None = None  # what a click emits (a device id); None: not clickable


@dataclasses.dataclass(frozen=True, slots=True)
class PipeSpec:
    id: str
    points: tuple[Point, ...]  # in the direction of flow
    tooltip: str
    animated: bool = True  # has a flow measurement to animate


@dataclasses.dataclass(frozen=True, slots=True)
class SchematicLayout:
    width: float
    height: float
    nodes: tuple[NodeSpec, ...]
    pipes: tuple[PipeSpec, ...]
    legend: Rect
    temp_range: tuple[float, float] = (20.0, 70.0)
    legend_note: str = ""  # e.g. "loop limit 70 °C" at the hot end


@dataclasses.dataclass(frozen=True, slots=True)
class NodeUpdate:
    lines: tuple[str, ...] = ()
    state: str = "ok"  # ok, stale, unreachable, abnormal, none
    status: str = ""  # the reason(s, one a line) or age, shown under the values
    fill_temp: float | None = None  # colour the body by this temperature (tank layers)


@dataclasses.dataclass(frozen=True, slots=True)
class PipeUpdate:
    temp: float | None = None
    state: str = "none"  # ok, stale, unreachable, none
    flow: float = 0.0  # L/min


def temp_colour(t: float, lo: float, hi: float) -> QColor:
    """The scale's colour for ``t`` (clamped to lo..hi)."""
    x = 0.0 if hi <= lo else min(1.0, max(0.0, (t - lo) / (hi - lo)))
    for (x0, c0), (x1, c1) in zip(TEMP_STOPS, TEMP_STOPS[1:], strict=False):
        if x <= x1:
            f = 0.0 if x1 == x0 else (x - x0) / (x1 - x0)
            a, b = QColor(c0), QColor(c1)
            return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * f, a.greenF() + (b.greenF() - a.greenF()) * f,
                                   a.blueF() + (b.blueF() - a.blueF()) * f)
    return QColor(TEMP_STOPS[-1][1])


def _mix(a: QColor, b: QColor, f: float) -> QColor:
    return QColor.fromRgbF(a.redF() * (1 - f) + b.redF() * f, a.greenF() * (1 - f) + b.greenF() * f,
                           a.blueF() * (1 - f) + b.blueF() * f)


def _cosmetic(colour: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)
    return pen


def _glyph(spec: NodeSpec) -> QPainterPath:
    """A small symbol for the node's kind, in scene units."""
    x, y, w, h = spec.rect
    p = QPainterPath()
    g = spec.glyph
    if spec.shape == "pump":  # circle with the flow triangle pointing left (the return flows right to left)
        cx, cy, r = x + w / 2, y + h / 2, min(w, h) / 2
        p.addEllipse(QPointF(cx, cy), r, r)
        p.addPolygon(QPolygonF([QPointF(cx - r * 0.7, cy), QPointF(cx + r * 0.5, cy - r * 0.6),
                                QPointF(cx + r * 0.5, cy + r * 0.6), QPointF(cx - r * 0.7, cy)]))
    elif spec.shape == "valve":  # bow-tie along the pipe
        if h > w:
            p.addPolygon(QPolygonF([QPointF(x, y), QPointF(x + w, y), QPointF(x, y + h), QPointF(x + w, y + h),
                                    QPointF(x, y)]))
        else:
            p.addPolygon(QPolygonF([QPointF(x, y), QPointF(x + w, y + h), QPointF(x + w, y), QPointF(x, y + h),
                                    QPointF(x, y)]))
    elif g in ("server", "gpu"):  # a rack unit: three slots (a GPU host: a chip)
        gx, gy = x + 6, y + 8
        if g == "server":
            for i in range(3):
                p.addRect(QRectF(gx, gy + i * 9, 18, 7))
        else:
            p.addRect(QRectF(gx + 2, gy + 2, 14, 14))
            for i in range(3):
                p.moveTo(gx + 5 + i * 4, gy)
                p.lineTo(gx + 5 + i * 4, gy + 2)
                p.moveTo(gx + 5 + i * 4, gy + 16)
                p.lineTo(gx + 5 + i * 4, gy + 18)
    elif g == "exchanger":  # plates: a zig-zag down the body
        cx, top, bottom = x + w / 2, y + h * 0.45, y + h - 12
        step = max(8.0, (bottom - top) / 8)
        p.moveTo(cx, top)
        k = 0
        yy = top
        while yy + step <= bottom:
            yy += step
            p.lineTo(cx + (18 if k % 2 == 0 else -18), yy)
            k += 1
    elif g in ("dry_cooler", "dump", "bypass"):  # a fan
        cx, cy, r = x + w - 22, y + 22, 14.0
        p.addEllipse(QPointF(cx, cy), r, r)
        for a in (0, 120, 240):
            rad = math.radians(a)
            p.moveTo(cx, cy)
            p.quadTo(cx + r * math.cos(rad + 0.6), cy + r * math.sin(rad + 0.6),
                     cx + r * 0.9 * math.cos(rad), cy + r * 0.9 * math.sin(rad))
    elif g == "space_heating":  # radiator fins
        gx, gy = x + 8, y + h / 2 - 14
        for i in range(5):
            p.addRoundedRect(QRectF(gx + i * 6, gy, 4, 28), 2, 2)
    elif g == "hot_water":  # a cylinder with a tap
        gx, gy = x + 10, y + h / 2 - 16
        p.addRoundedRect(QRectF(gx, gy, 18, 30), 6, 6)
        p.moveTo(gx + 18, gy + 8)
        p.lineTo(gx + 26, gy + 8)
        p.lineTo(gx + 26, gy + 14)
    elif g == "pool":  # waves
        gx, gy = x + 6, y + h / 2 - 10
        for row in range(3):
            p.moveTo(gx, gy + row * 9)
            for i in range(4):
                p.quadTo(gx + i * 8 + 4, gy + row * 9 - 5, gx + i * 8 + 8, gy + row * 9)
    elif g in ("process", "other"):  # a gear-ish hexagon
        cx, cy, r = x + 22, y + h / 2, 13.0
        corners = [math.radians(60 * i) for i in range(7)]
        p.addPolygon(QPolygonF([QPointF(cx + r * math.cos(a), cy + r * math.sin(a)) for a in corners]))
        p.addEllipse(QPointF(cx, cy), 4, 4)
    return p


def _warning(x: float, y: float, s: float = 13.0) -> QPainterPath:
    """A warning sign: a triangle with the "!" cut out of it (reads in any colour, and without)."""
    p = QPainterPath()
    p.setFillRule(Qt.FillRule.OddEvenFill)
    p.addPolygon(QPolygonF([QPointF(x + s / 2, y), QPointF(x + s, y + s), QPointF(x, y + s), QPointF(x + s / 2, y)]))
    p.addRect(QRectF(x + s / 2 - 0.8, y + s * 0.32, 1.6, s * 0.36))
    p.addRect(QRectF(x + s / 2 - 0.8, y + s * 0.76, 1.6, 1.6))
    return p


class _Node:
    """The items of one node, created once."""

    def __init__(self, view: SchematicWidget, spec: NodeSpec) -> None:
        self.spec = spec
        scene = view.scene_
        x, y, w, h = spec.rect
        path = QPainterPath()
        if spec.shape in ("box", "badge", "layer", "tank"):
            radius = {"box": 6.0, "badge": 4.0, "layer": 0.0, "tank": 14.0}[spec.shape]
            path.addRoundedRect(QRectF(x, y, w, h), radius, radius)
        self.body = QGraphicsPathItem(path)
        self.body.setZValue(2 if spec.shape != "tank" else 1)
        self.glyph = QGraphicsPathItem(_glyph(spec))
        self.glyph.setZValue(4)
        self.hatch = QGraphicsPathItem(path if spec.shape in ("box", "badge", "layer", "tank")
                                       else self.glyph.path())
        self.hatch.setZValue(5)
        self.hatch.setVisible(False)
        self.title = QGraphicsSimpleTextItem(spec.title)
        self.title.setFont(view.title_font)
        self.title.setPos(*spec.text_at)
        self.lines = [QGraphicsSimpleTextItem("") for _ in range(MAX_LINES)]
        for i, t in enumerate(self.lines):
            t.setFont(view.text_font)
            t.setPos(spec.text_at[0], spec.text_at[1] + (LINE_H + 3 if spec.title else 0) + i * LINE_H)
        self.status = QGraphicsSimpleTextItem("")
        self.status.setFont(view.text_font)
        self.warn = QGraphicsPathItem(_warning(0, 0))
        self.warn.setVisible(False)
        self.outline = QGraphicsPathItem(path if spec.shape != "pump" and spec.shape != "valve" else self.glyph.path())
        self.outline.setZValue(6)
        self.outline.setVisible(False)
        ring = QPainterPath()  # keyboard focus: a dashed ring around the part
        ring.addRoundedRect(QRectF(x - 5, y - 5, w + 10, h + 10), 8, 8)
        self.focus = QGraphicsPathItem(ring)
        self.focus.setVisible(False)
        self.items: list[QGraphicsItem] = [self.body, self.glyph, self.hatch, self.title, *self.lines, self.status,
                                           self.warn, self.outline, self.focus]
        for it in self.items:
            if it is not self.body and it is not self.hatch and it is not self.glyph:
                it.setZValue(max(it.zValue(), 7 if it is not self.outline else 6))
            it.setData(0, spec.id)
            it.setToolTip(spec.tooltip)
            if spec.target is not None:
                it.setCursor(Qt.CursorShape.PointingHandCursor)
            scene.addItem(it)
        self.last: NodeUpdate | None = None


class _Pipe:
    def __init__(self, view: SchematicWidget, spec: PipeSpec) -> None:
        self.spec = spec
        path = QPainterPath()
        if spec.points:
            path.moveTo(*spec.points[0])
            for pt in spec.points[1:]:
                path.lineTo(*pt)
        self.body = QGraphicsPathItem(path)
        self.body.setZValue(0)
        self.body.setToolTip(spec.tooltip)
        view.scene_.addItem(self.body)
        # one dash item per straight segment: a moving dash repaints a thin strip, not the
        # bounding box of an L-shaped pipe; each segment's offset continues the one before
        self.dashes: list[tuple[QGraphicsPathItem, float]] = []
        if spec.animated:
            start = 0.0
            for (x0, y0), (x1, y1) in zip(spec.points, spec.points[1:], strict=False):
                seg = QPainterPath()
                seg.moveTo(x0, y0)
                seg.lineTo(x1, y1)
                item = QGraphicsPathItem(seg)
                item.setZValue(0.5)
                item.setToolTip(spec.tooltip)
                item.setVisible(False)
                view.scene_.addItem(item)
                self.dashes.append((item, start))
                start += math.hypot(x1 - x0, y1 - y0)
        self.last: PipeUpdate | None = None
        self.phase = 0.0  # scene px travelled by the dashes
        self.speed = 0.0  # scene px/s


class SchematicWidget(QGraphicsView):
    """The schematic of ``layout``; feed it with ``update_state``."""

    element_clicked = Signal(str)

    def __init__(self, layout: SchematicLayout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = layout
        self.scene_ = QGraphicsScene(0, 0, layout.width, layout.height, self)
        self.setScene(self.scene_)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setMinimumSize(480, 300)
        self.title_font = QFont(self.font())
        self.title_font.setPixelSize(12)
        self.title_font.setBold(True)
        self.text_font = QFont(self.font())
        self.text_font.setPixelSize(11)
        self.bold_font = QFont(self.text_font)
        self.bold_font.setBold(True)
        self._metrics = QFontMetricsF(self.text_font)
        self._bold_metrics = QFontMetricsF(self.bold_font)
        self._title_metrics = QFontMetricsF(self.title_font)
        self._lo, self._hi = layout.temp_range
        self._pipes = {p.id: _Pipe(self, p) for p in layout.pipes}
        self._nodes = {n.id: _Node(self, n) for n in layout.nodes}
        self._legend: list[QAbstractGraphicsShapeItem] = []
        self._legend_text: list[QGraphicsSimpleTextItem] = []
        self._build_legend()
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._pressed: str | None = None
        self._order = [n.id for n in layout.nodes if n.target is not None]  # keyboard order: the layout's
        self._focused: str | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._apply_palette()

    # ------------------------------------------------------------ legend
    def _build_legend(self) -> None:
        x, y, w, _h = self.layout_.legend
        bar_w = min(360.0, w * 0.35)
        title = QGraphicsSimpleTextItem("pipe temperature")
        title.setFont(self.text_font)
        title.setPos(x, y)
        grad = QLinearGradient(x, 0, x + bar_w, 0)
        for pos, c in TEMP_STOPS:
            grad.setColorAt(pos, QColor(c))
        bar = QGraphicsRectItem(x, y + 16, bar_w, 10)
        bar.setBrush(QBrush(grad))
        bar.setToolTip("pipes are coloured by their measured temperature; grey: not measured now")
        self.scene_.addItem(title)
        self.scene_.addItem(bar)
        self._legend.append(bar)
        self._legend_text.append(title)
        lo, hi = self._lo, self._hi
        for t in (lo, (lo + hi) / 2, hi):
            tick = f"{t:g} °C" + (f" ({self.layout_.legend_note})" if t == hi and self.layout_.legend_note else "")
            item = QGraphicsSimpleTextItem(tick)
            item.setFont(self.text_font)
            fx = x + bar_w * (t - lo) / (hi - lo)
            item.setPos(fx - (0 if t == lo else self._metrics.horizontalAdvance(tick) if t == hi else
                              self._metrics.horizontalAdvance(tick) / 2), y + 28)
            self.scene_.addItem(item)
            self._legend_text.append(item)
        # the state key: what a grey, hatched, outlined or dashed thing means
        kx = x + bar_w + 60
        keys = [("stale", "grey: not fresh, with its age"), ("unreachable", "hatched: not answering"),
                ("abnormal", "red outline, ⚠ and reason"), ("flow", "dashes move with flow")]
        step = (w - (kx - x)) / len(keys)
        self._key_items: dict[str, tuple[QAbstractGraphicsShapeItem, QGraphicsSimpleTextItem]] = {}
        for i, (state, text) in enumerate(keys):
            sx = kx + i * step
            if state == "flow":
                p = QPainterPath()
                p.moveTo(sx, y + 8)
                p.lineTo(sx + 26, y + 8)
                sample: QAbstractGraphicsShapeItem = QGraphicsPathItem(p)
                dashes = QGraphicsPathItem(p)
                dashes.setZValue(1)
                pen = QPen(QColor(255, 255, 255, 200), DASH_W, Qt.PenStyle.CustomDashLine)
                pen.setDashPattern(DASHES)
                dashes.setPen(pen)
                self.scene_.addItem(dashes)
            else:
                sample = QGraphicsRectItem(sx, y + 1, 26, 16)
            label = QGraphicsSimpleTextItem(text)
            label.setFont(self.text_font)
            label.setPos(sx + 32, y + 2)
            self.scene_.addItem(sample)
            self.scene_.addItem(label)
            self._key_items[state] = (sample, label)
            if state == "abnormal":
                tri = QGraphicsPathItem(_warning(sx + 6, y + 1.5))
                self.scene_.addItem(tri)
                self._key_items["abnormal_tri"] = (tri, label)

    # ------------------------------------------------------------ colours
    def _colours(self) -> dict[str, QColor]:
        pal = self.palette()
        bg, text, base = pal.color(QPalette.ColorRole.Window), pal.color(QPalette.ColorRole.WindowText), \
            pal.color(QPalette.ColorRole.Base)
        return {"bg": bg, "text": text, "base": _mix(base, bg, 0.3), "grey": _mix(text, bg, 0.55),
                "line": _mix(text, bg, 0.45), "pipe": _mix(text, bg, 0.72),
                "alarm_fill": _mix(_mix(base, bg, 0.3), ALARM, 0.14)}

    def _apply_palette(self) -> None:
        self.c = self._colours()
        self.setBackgroundBrush(self.c["bg"])
        for item in self._legend_text:
            item.setBrush(self.c["text"])
        self._legend[0].setPen(_cosmetic(self.c["line"]))
        for state, (sample, label) in self._key_items.items():
            label.setBrush(self.c["text"])
            if state == "stale":
                sample.setPen(_cosmetic(self.c["grey"]))
                sample.setBrush(self.c["base"])
            elif state == "unreachable":
                sample.setPen(_cosmetic(self.c["grey"]))
                sample.setBrush(QBrush(self.c["grey"], Qt.BrushStyle.BDiagPattern))
            elif state == "abnormal":
                sample.setPen(_cosmetic(ALARM, 2.5))
                sample.setBrush(self.c["alarm_fill"])
            elif state == "abnormal_tri":
                sample.setPen(_cosmetic(ALARM))
                sample.setBrush(ALARM)
            elif state == "flow":
                pen = QPen(temp_colour(30, 0, 100), PIPE_W)
                sample.setPen(pen)
        highlight = _cosmetic(self.palette().color(QPalette.ColorRole.Highlight), 2.0, Qt.PenStyle.DashLine)
        for node in self._nodes.values():
            node.focus.setPen(highlight)
            last, node.last = node.last, None
            self._paint_node(node, last or NodeUpdate(state="none"))
        for pipe in self._pipes.values():
            last_p, pipe.last = pipe.last, None
            self._paint_pipe(pipe, last_p or PipeUpdate())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()

    # ------------------------------------------------------------ updates
    def update_state(self, nodes: Mapping[str, NodeUpdate], pipes: Mapping[str, PipeUpdate]) -> None:
        """Apply what changed; ids not in the layout are ignored."""
        for nid, upd in nodes.items():
            node = self._nodes.get(nid)
            if node is not None and upd != node.last:
                self._paint_node(node, upd)
        for pid, pu in pipes.items():
            pipe = self._pipes.get(pid)
            if pipe is not None and pu != pipe.last:
                self._paint_pipe(pipe, pu)
        self._sync_timer()

    def _elide(self, text: str, width: float, bold: bool = False, metrics: QFontMetricsF | None = None) -> str:
        m = metrics or (self._bold_metrics if bold else self._metrics)
        return m.elidedText(text, Qt.TextElideMode.ElideRight, width) if m.horizontalAdvance(text) > width else text

    def _paint_node(self, node: _Node, u: NodeUpdate) -> None:
        c = self.c
        spec = node.spec
        state = u.state
        abnormal, unreachable = state == "abnormal", state == "unreachable"
        dim = state in ("stale", "unreachable", "none")
        text_c = c["grey"] if dim else c["text"]
        fill = c["base"]
        if spec.shape == "badge":
            fill = c["bg"]
        if spec.shape == "tank":
            fill = c["bg"]
        if u.fill_temp is not None and not dim:
            fill = _mix(c["base"], temp_colour(u.fill_temp, self._lo, self._hi), 0.55)
        if abnormal:
            fill = c["alarm_fill"] if u.fill_temp is None else fill
        node.body.setBrush(fill)
        node.body.setPen(_cosmetic(c["line"], 1.0, Qt.PenStyle.DashLine if state == "none" else Qt.PenStyle.SolidLine))
        if spec.shape in ("pump", "valve"):
            node.glyph.setBrush(c["alarm_fill"] if abnormal else c["base"])
            node.glyph.setPen(_cosmetic(c["grey"] if dim else c["text"], 1.5))
        else:
            node.glyph.setBrush(Qt.BrushStyle.NoBrush)
            node.glyph.setPen(_cosmetic(c["grey"] if dim else c["line"], 1.2))
        node.hatch.setVisible(unreachable)
        if unreachable:
            hatch = QColor(c["grey"])
            hatch.setAlpha(110)  # the greyed values stay readable through it
            node.hatch.setBrush(QBrush(hatch, Qt.BrushStyle.BDiagPattern))
            node.hatch.setPen(Qt.PenStyle.NoPen)
        node.outline.setVisible(abnormal)
        if abnormal:
            node.outline.setPen(_cosmetic(ALARM, 3.0))
            node.outline.setBrush(Qt.BrushStyle.NoBrush)
        node.title.setBrush(text_c)
        if node.title.text() != (title := self._elide(spec.title, spec.text_width, metrics=self._title_metrics)):
            node.title.setText(title)
        w = spec.text_width
        shown = 0
        for i, item in enumerate(node.lines):
            text = u.lines[i] if i < len(u.lines) else ""
            item.setText(self._elide(text, w))
            item.setBrush(text_c)
            shown += 1 if text else 0
        x0, y0 = spec.text_at
        sy = y0 + (LINE_H + 3 if spec.title else 0) + shown * LINE_H
        status = u.status
        node.warn.setVisible(abnormal)
        if abnormal:
            node.warn.setPos(x0, sy)
            node.warn.setBrush(ALARM)
            node.warn.setPen(_cosmetic(ALARM))
            node.status.setFont(self.bold_font)
            node.status.setPos(x0 + 16, sy)
            node.status.setText("\n".join(self._elide(line, w - 16, bold=True) for line in status.split("\n")))
            node.status.setBrush(ALARM)
        else:
            node.status.setFont(self.text_font)
            node.status.setPos(x0, sy)
            node.status.setText(self._elide(status, w))
            node.status.setBrush(c["grey"])
        node.last = u

    def _paint_pipe(self, pipe: _Pipe, u: PipeUpdate) -> None:
        c = self.c
        if u.state == "ok" and u.temp is not None:
            colour = temp_colour(u.temp, self._lo, self._hi)
            style = Qt.PenStyle.SolidLine
        else:
            colour = c["pipe"]
            style = Qt.PenStyle.DotLine if u.state == "unreachable" else Qt.PenStyle.SolidLine
        pen = QPen(colour, PIPE_W if u.state != "none" else PIPE_W - 2, style)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap if style != Qt.PenStyle.SolidLine else Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        pipe.body.setPen(pen)
        pipe.speed = min(MAX_PX_S, max(0.0, u.flow) * PX_PER_LPM) if pipe.dashes else 0.0
        for item, _ in pipe.dashes:
            item.setVisible(pipe.speed > 0)
        self._dash_pen(pipe)
        pipe.last = u

    def _dash_pen(self, pipe: _Pipe) -> None:
        for item, start in pipe.dashes:
            pen = QPen(QColor(255, 255, 255, 200), DASH_W, Qt.PenStyle.CustomDashLine)
            pen.setDashPattern(DASHES)
            pen.setCapStyle(Qt.PenCapStyle.FlatCap)
            pen.setDashOffset((start - pipe.phase) / DASH_W)  # a falling offset moves the dashes along the path
            item.setPen(pen)

    # ------------------------------------------------------------ animation
    @property
    def animating(self) -> bool:
        return self._timer.isActive()

    def phase(self, pipe_id: str) -> float:
        """Scene px the dashes of ``pipe_id`` have moved (tests, benchmarks)."""
        return self._pipes[pipe_id].phase

    def _sync_timer(self) -> None:
        want = self.isVisible() and any(p.speed > 0 for p in self._pipes.values())
        if want and not self._timer.isActive():
            self._clock.start()
            self._timer.start()
        elif not want and self._timer.isActive():
            self._timer.stop()

    def advance(self, seconds: float) -> None:
        """Move every flowing pipe's dashes by ``seconds`` of flow (the timer's step)."""
        for p in self._pipes.values():
            if p.speed > 0:
                p.phase = (p.phase + p.speed * seconds) % 6000.0
                self._dash_pen(p)

    def _tick(self) -> None:
        dt = min(0.2, self._clock.restart() / 1000.0)  # a stalled loop does not make the dashes jump
        self.advance(dt)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._fit()
        self._sync_timer()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt's name
        super().hideEvent(event)
        self._timer.stop()

    # ------------------------------------------------------------ view
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        self.fitInView(self.scene_.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    # ------------------------------------------------------------ keyboard
    @property
    def focused(self) -> str | None:
        """The element the keyboard is on (arrows move it, Enter or Space opens it)."""
        return self._focused

    def focus_element(self, node_id: str | None) -> None:
        for nid in (self._focused, node_id):
            if nid is not None and nid in self._nodes:
                self._nodes[nid].focus.setVisible(nid == node_id and self.hasFocus())
        self._focused = node_id if node_id in self._nodes else None

    def focus_target(self, target: str) -> bool:
        """Put the keyboard on the first element that opens ``target``; False if none does."""
        nid = next((n for n in self._order if self._nodes[n].spec.target == target), None)
        if nid is not None:
            self.focus_element(nid)
        return nid is not None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        step = {Qt.Key.Key_Right: 1, Qt.Key.Key_Down: 1, Qt.Key.Key_Left: -1, Qt.Key.Key_Up: -1}.get(Qt.Key(key))
        if step is not None and self._order:
            at = self._order.index(self._focused) if self._focused in self._order else (-1 if step > 0 else 0)
            self.focus_element(self._order[(at + step) % len(self._order)])
            event.accept()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self._focused is not None:
            target = self._nodes[self._focused].spec.target
            if target is not None:
                self.element_clicked.emit(target)
            event.accept()
        else:
            super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusInEvent(event)
        self.focus_element(self._focused)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        self.focus_element(self._focused)

    # ------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        target = self.target_at(self.mapToScene(event.position().toPoint()))
        if target is not None and event.button() == Qt.MouseButton.LeftButton:
            self._pressed = target
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        """A click is a press and a release on the same element (a drag off it cancels)."""
        pressed, self._pressed = self._pressed, None
        if pressed is not None and event.button() == Qt.MouseButton.LeftButton:
            if self.target_at(self.mapToScene(event.position().toPoint())) == pressed:
                self.element_clicked.emit(pressed)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def target_at(self, scene_pos: QPointF) -> str | None:
        """The click target of the topmost node under ``scene_pos``."""
        for item in self.scene_.items(scene_pos):
            nid = item.data(0)
            node = self._nodes.get(nid) if isinstance(nid, str) else None
            if node is not None and node.spec.target is not None:
                return node.spec.target
        return None

    def node_centre(self, node_id: str) -> QPointF:
        x, y, w, h = self._nodes[node_id].spec.rect
        return QPointF(x + w / 2, y + h / 2)

    def node_texts(self, node_id: str) -> list[str]:
        """What a node reads now (title, lines, status), for tests and screenshots' checks."""
        n = self._nodes[node_id]
        return [t.text() for t in (n.title, *n.lines, n.status) if t.text()]

    def node_flags(self, node_id: str) -> dict[str, bool]:
        n = self._nodes[node_id]
        return {"outline": n.outline.isVisible(), "warning": n.warn.isVisible(), "hatched": n.hatch.isVisible()}

    def pipe_colour(self, pipe_id: str) -> QColor:
        return self._pipes[pipe_id].body.pen().color()

    def item_count(self) -> int:
        return len(self.scene_.items())


__all__ = ["NodeSpec", "NodeUpdate", "PipeSpec", "PipeUpdate", "SchematicLayout", "SchematicWidget", "temp_colour"]
