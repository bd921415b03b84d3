"""A Sankey diagram painted from plain data: nodes in columns, links with values.

Band widths are proportional to value, one scale for the whole diagram (the fullest column
fills the height). A link with no value (None or ≤ 0) is never hidden: it is drawn as a thin
dashed outline from source to target with its label ("no data", or "0 W" for a measured zero).
A stale link is greyed and hatched and its label says so; an "unaccounted" link is hatched in
the warning colour (the numbers did not add up). Colours stay muted (ISA-101: colour is spent
on what is abnormal): electricity a cool grey-blue, heat a warm grey, losses and waste plain
grey. The geometry (``compute_geometry``, also what tests check) is cached until the data or
the size change.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QToolTip, QWidget

NODE_W = 12.0
STUB = 6.0  # the slot a "no data" link takes at each end (px)
GAP = 22.0  # between the nodes of a column (px)
MARGIN = 14.0
LABEL_W = 150.0  # room right of the last column for its labels
TONES = {  # (light, dark) base colours of the normal tones
    "electric": ("#6f88a3", "#7f98b3"),
    "heat": ("#b08a62", "#a3825f"),
    "useful": ("#9c7a4f", "#b39062"),
    "loss": ("#9a9a96", "#77777a"),
    "waste": ("#9a9a96", "#77777a"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class SankeyNode:
    id: str
    label: str  # first line bold (the name); further lines (the value) plain
    column: int
    tooltip: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class SankeyLink:
    source: str
    target: str
    value: float | None  # None or ≤ 0: no data (a dashed stub)
    label: str  # value with unit, and any fraction
    tone: str = "heat"  # electric, heat, useful, loss, waste or unaccounted
    stale: bool = False
    tooltip: str = ""

    @property
    def has_value(self) -> bool:
        return self.value is not None and self.value > 0


@dataclasses.dataclass(frozen=True, slots=True)
class Band:
    link: SankeyLink
    x0: float
    y0: float  # top of the band where it leaves its source
    x1: float
    y1: float  # top of the band where it reaches its target
    thickness: float  # ∝ value; STUB for a link without one


@dataclasses.dataclass(frozen=True, slots=True)
class Geometry:
    scale: float  # px per unit of value
    nodes: dict[str, QRectF]
    bands: list[Band]


def compute_geometry(nodes: Sequence[SankeyNode], links: Sequence[SankeyLink], width: float,
                     height: float) -> Geometry:
    """Where every node and band goes in a ``width`` × ``height`` area."""
    by_id = {n.id: n for n in nodes}
    links = [ln for ln in links if ln.source in by_id and ln.target in by_id]
    cols = sorted({n.column for n in nodes})
    members = {c: [n for n in nodes if n.column == c] for c in cols}

    def size(nid: str) -> float:
        ins = sum(ln.value or 0.0 for ln in links if ln.target == nid and ln.has_value)
        outs = sum(ln.value or 0.0 for ln in links if ln.source == nid and ln.has_value)
        return max(ins, outs)

    def stubs(nid: str) -> int:
        return max(sum(1 for ln in links if ln.target == nid and not ln.has_value),
                   sum(1 for ln in links if ln.source == nid and not ln.has_value))

    sizes = {n.id: size(n.id) for n in nodes}
    avail = max(1.0, height - 2 * MARGIN)
    scale = float("inf")
    for c in cols:
        fixed = GAP * (len(members[c]) - 1) + sum(max(stubs(n.id) * STUB, 0.0 if sizes[n.id] else STUB)
                                                   for n in members[c])
        total = sum(sizes[n.id] for n in members[c])
        if total > 0:
            scale = min(scale, max(0.0, avail - fixed) / total)
    if scale == float("inf"):
        scale = 0.0
    span = max(1.0, width - 2 * MARGIN - LABEL_W - NODE_W)
    step = span / max(1, len(cols) - 1)
    xs = {c: MARGIN + i * step for i, c in enumerate(cols)}
    rects: dict[str, QRectF] = {}
    for c in cols:
        hs = [sizes[n.id] * scale + max(stubs(n.id) * STUB, 0.0 if sizes[n.id] else STUB) for n in members[c]]
        # a column with room to spare spreads its nodes (up to 3 gaps apart) so that the labels
        # of thin nodes do not run into each other
        gap = min(3 * GAP, max(GAP, (avail - sum(hs)) / (len(hs) + 1)))
        y = MARGIN + max(0.0, (avail - sum(hs) - gap * (len(hs) - 1)) / 2)
        for n, h in zip(members[c], hs, strict=True):
            rects[n.id] = QRectF(xs[c], y, NODE_W, h)
            y += h + gap

    order = {n.id: (n.column, rects[n.id].top()) for n in nodes}
    out_y = {nid: r.top() for nid, r in rects.items()}
    in_y = dict(out_y)
    thick = {id(ln): (ln.value or 0.0) * scale if ln.has_value else STUB for ln in links}
    starts: dict[int, float] = {}
    for ln in sorted(links, key=lambda ln: (order[ln.source], order[ln.target])):
        starts[id(ln)] = out_y[ln.source]
        out_y[ln.source] += thick[id(ln)]
    bands = []
    for ln in sorted(links, key=lambda ln: (order[ln.target], order[ln.source])):
        s, t = rects[ln.source], rects[ln.target]
        bands.append(Band(ln, s.right(), starts[id(ln)], t.left(), in_y[ln.target], thick[id(ln)]))
        in_y[ln.target] += thick[id(ln)]
    return Geometry(scale, rects, bands)


def band_path(b: Band) -> QPainterPath:
    """The band as a filled shape: two cubic curves from source to target."""
    x1, y1 = b.x1, b.y1
    mid = (b.x0 + x1) / 2
    p = QPainterPath(QPointF(b.x0, b.y0))
    p.cubicTo(QPointF(mid, b.y0), QPointF(mid, y1), QPointF(x1, y1))
    p.lineTo(QPointF(x1, y1 + b.thickness))
    p.cubicTo(QPointF(mid, y1 + b.thickness), QPointF(mid, b.y0 + b.thickness), QPointF(b.x0, b.y0 + b.thickness))
    p.closeSubpath()
    return p


def _bezier(b: Band, t: float) -> QPointF:
    """The point at ``t`` along the band's top edge (the curve ``band_path`` draws)."""
    mid = (b.x0 + b.x1) / 2
    u = 1 - t
    x = u ** 3 * b.x0 + 3 * u * u * t * mid + 3 * u * t * t * mid + t ** 3 * b.x1
    y = u ** 3 * b.y0 + 3 * u * u * t * b.y0 + 3 * u * t * t * b.y1 + t ** 3 * b.y1
    return QPointF(x, y)


class SankeyWidget(QWidget):
    """Plain data in (``set_data``), ``nodeClicked(id)`` out."""

    nodeClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._nodes: list[SankeyNode] = []
        self._links: list[SankeyLink] = []
        self._message = "no data yet"
        self._stale_word = "stale"
        self._geom: Geometry | None = None
        self._geom_size: QSize | None = None
        self.warning_colour = QColor("#b25e00")  # unaccounted: the theme's warning colour
        self.stale_colour = QColor("#7a7a7a")
        self.dark = False
        self.setMinimumSize(640, 320)
        self.setMouseTracking(True)

    def set_data(self, nodes: Sequence[SankeyNode], links: Sequence[SankeyLink], stale_word: str = "stale") -> None:
        """Draw these; the same data again (a refresh between polls) repaints nothing.
        ``stale_word`` is what a stale link's label says ("partial" for a period short of data)."""
        if (not self._message and list(nodes) == self._nodes and list(links) == self._links
                and stale_word == self._stale_word):
            return
        self._nodes, self._links, self._message = list(nodes), list(links), ""
        self._stale_word = stale_word
        self._geom = None
        self.update()

    def set_message(self, text: str) -> None:
        """Nothing to draw: say why, in the middle."""
        self._nodes, self._links, self._message = [], [], text
        self._geom = None
        self.update()

    def set_colours(self, *, warning: str, stale: str, dark: bool) -> None:
        self.warning_colour, self.stale_colour, self.dark = QColor(warning), QColor(stale), dark
        self.update()

    def legend_html(self) -> str:
        """A one-line key to the colours and marks, for a label beside the diagram."""
        def sw(tone: str) -> str:
            return f'<span style="color:{TONES[tone][1 if self.dark else 0]}">■</span>'
        warn = self.warning_colour.name()
        return (f"{sw('electric')} electricity &nbsp; {sw('heat')} heat &nbsp; {sw('loss')} losses, dumped &nbsp; "
                f"▨ stale or partial &nbsp; <span style=\"color:{warn}\">▦</span> unaccounted &nbsp; "
                "┄ no data or zero")

    def geometry_now(self) -> Geometry:
        if self._geom is None or self._geom_size != self.size():
            self._geom = compute_geometry(self._nodes, self._links, self.width(), self.height())
            self._geom_size = self.size()
        return self._geom

    # ------------------------------------------------------------------ painting
    def _fill(self, link: SankeyLink) -> QColor:
        if link.tone == "unaccounted":
            c = QColor(self.warning_colour)
        elif link.stale:
            c = QColor(self.stale_colour)
        else:
            c = QColor(TONES.get(link.tone, TONES["loss"])[1 if self.dark else 0])
        c.setAlpha(150 if link.stale else 170)
        return c

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        muted = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
        if self._message or not self._nodes:
            p.setPen(muted)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message or "no data")
            return
        g = self.geometry_now()
        for b in g.bands:
            self._paint_band(p, b, text, muted)
        node_pen = QPen(text)
        node_pen.setWidthF(1.0)
        for n in self._nodes:
            r = g.nodes[n.id]
            p.setPen(node_pen)
            p.setBrush(pal.color(QPalette.ColorRole.Mid))
            p.drawRect(r)
        node_labels = [(n, self._node_label_rect(n, g.nodes[n.id])) for n in self._nodes]
        taken = [r for _, r in node_labels]
        for b in g.bands:
            label = b.link.label + (f" ({self._stale_word})" if b.link.stale else "")
            rect = self._band_label_rect(b, label, taken)
            taken.append(rect)
            self._paint_band_label(p, b, rect, label, text, muted)
        for n, rect in node_labels:  # last: a node's name is never covered
            self._paint_node_label(p, n, rect, text)

    def _paint_band(self, p: QPainter, b: Band, text: QColor, muted: QColor) -> None:
        ln = b.link
        if not ln.has_value:
            pen = QPen(muted, 1.0, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(band_path(b))
            return
        path = band_path(b)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._fill(ln))
        p.drawPath(path)
        if ln.stale or ln.tone == "unaccounted":  # redundant coding: a hatch as well as the colour
            hatch = QColor(text)
            hatch.setAlpha(90)
            style = Qt.BrushStyle.BDiagPattern if ln.stale else Qt.BrushStyle.DiagCrossPattern
            p.setBrush(QBrush(hatch, style))
            p.drawPath(path)

    def _node_label_rect(self, n: SankeyNode, r: QRectF) -> QRectF:
        lines = n.label.split("\n")
        bold = QFont(self.font())
        bold.setBold(True)
        fm_b, fm = QFontMetricsF(bold), QFontMetricsF(self.font())
        h = fm_b.height() + fm.height() * (len(lines) - 1)
        y = max(2.0, r.top() + min(r.height(), 40) / 2 - h / 2 - 1)
        if r.height() < h:  # a thin node: label above it, so bands do not cover it
            y = max(2.0, r.top() - h - 2)
        width = max([fm_b.horizontalAdvance(lines[0])] + [fm.horizontalAdvance(s) for s in lines[1:]]) + 6
        return QRectF(r.right() + 2, y, width, h + 2)

    def _paint_node_label(self, p: QPainter, n: SankeyNode, rect: QRectF, text: QColor) -> None:
        lines = n.label.split("\n")
        bold = QFont(self.font())
        bold.setBold(True)
        fm_b, fm = QFontMetricsF(bold), QFontMetricsF(self.font())
        back = self.palette().color(QPalette.ColorRole.Window)
        back.setAlpha(200)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(back)
        p.drawRoundedRect(rect, 3, 3)
        x, y = rect.left() + 3, rect.top()
        p.setPen(text)
        p.setFont(bold)
        p.drawText(QPointF(x, y + fm_b.ascent() + 1), lines[0])
        p.setFont(self.font())
        for i, line in enumerate(lines[1:]):
            p.drawText(QPointF(x, y + fm_b.height() + fm.height() * i + fm.ascent() + 1), line)

    def _band_label_rect(self, b: Band, label: str, taken: list[QRectF]) -> QRectF:
        """Where a band's label goes: its middle, or further along the band, or just above or
        below it, when that would cover a node's label or another band's (a label that fits
        nowhere stays in the middle)."""
        fm = QFontMetricsF(self.font())
        w, h = fm.horizontalAdvance(label) + 6, fm.height()
        first = None
        spots = [(t, "on") for t in (0.5, 0.35, 0.65, 0.22, 0.78)]
        spots += [(t, side) for t in (0.5, 0.7, 0.3) for side in ("above", "below")]
        for t, side in spots:
            c = _bezier(b, t)
            y = {"on": c.y() + b.thickness / 2 - h / 2, "above": c.y() - h - 1, "below": c.y() + b.thickness + 1}[side]
            rect = QRectF(c.x() - w / 2, y, w, h)
            if first is None:
                first = rect
            if not any(rect.intersects(o) for o in taken):
                return rect
        assert first is not None
        return first

    def _paint_band_label(self, p: QPainter, b: Band, rect: QRectF, label: str, text: QColor,
                          muted: QColor) -> None:
        back = self.palette().color(QPalette.ColorRole.Window)
        back.setAlpha(215)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(back)
        p.drawRoundedRect(rect, 3, 3)
        p.setPen(muted if (b.link.stale or not b.link.has_value) else text)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)

    # ------------------------------------------------------------------ interaction
    def _hit(self, pos: QPointF) -> tuple[str, str] | None:
        g = self.geometry_now()
        for n in self._nodes:
            if g.nodes[n.id].adjusted(-3, -3, 3, 3).contains(pos):
                return ("node", n.id)
        for i, b in enumerate(g.bands):
            if band_path(b).contains(pos):
                return ("band", str(i))
        return None

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            hit = self._hit(QPointF(e.pos()))
            tip = ""
            if hit and hit[0] == "node":
                n = next(n for n in self._nodes if n.id == hit[1])
                tip = n.tooltip or n.label.replace("\n", " ")
            elif hit:
                b = self.geometry_now().bands[int(hit[1])]
                tip = b.link.tooltip or b.link.label
            if tip:
                QToolTip.showText(e.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().event(e)

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        hit = self._hit(e.position())
        if hit and hit[0] == "node" and e.button() == Qt.MouseButton.LeftButton:
            self.nodeClicked.emit(hit[1])
        super().mouseReleaseEvent(e)


__all__ = ["Band", "Geometry", "SankeyLink", "SankeyNode", "SankeyWidget", "band_path", "compute_geometry"]
