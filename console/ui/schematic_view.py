"""The "Heat path" page: the site's thermal schematic, live.

Built once from the site (``console.plant`` elements and pipes, ``console.plant_layout``
geometry) into a ``widgets.schematic.SchematicWidget``; each refresh reads the live model once
(``series()`` and the device states), works out what every element shows
(``console.plant.plant_state``) and hands the widget plain updates. A click on an element
opens its device (``ctx.navigate("devices", device_id)``).
"""
from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from console.plant import Plant, PlantState, build_plant, plant_state
from console.plant_layout import PlantLayout, layout
from console.ui.context import ViewContext
from widgets.schematic import NodeSpec, NodeUpdate, PipeSpec, PipeUpdate, SchematicLayout, SchematicWidget

SHAPES = {"server": "box", "gpu_host": "box", "exchanger": "box", "dry_cooler": "box", "consumer": "box",
          "reading": "badge", "pump": "pump", "valve": "valve", "bypass_valve": "valve", "tank": "tank",
          "tank_layer": "layer"}


def schematic_layout(plant: Plant, geo: PlantLayout) -> SchematicLayout:
    """The widget's plain description of ``plant`` drawn at ``geo``."""
    nodes = []
    for el in plant.elements:
        if el.id not in geo.rects:
            continue
        glyph = {"server": "server", "gpu_host": "gpu", "exchanger": "exchanger", "dry_cooler": el.variant,
                 "consumer": el.variant}.get(el.kind, "")
        feeds = ", ".join(el.keys()) or "no series (not measured on this site)"
        where = f" · click: device {el.device_id}" if el.device_id else ""
        tip = f"{el.title}: {el.description}\nseries: {feeds}{where}"
        nodes.append(NodeSpec(el.id, SHAPES[el.kind], glyph, geo.rects[el.id], geo.text_at[el.id],
                              geo.text_width[el.id], "" if el.kind == "tank_layer" else el.title, tip,
                              el.device_id))
    pipes = []
    for p in plant.pipes:
        if p.id not in geo.pipes:
            continue
        tip = p.description + (f"\ntemperature: {p.temp[0]}" if p.temp else "\ntemperature: not measured")
        tip += f"\nflow: {p.flow[0]}" if p.flow else ""
        pipes.append(PipeSpec(p.id, geo.pipes[p.id], tip, animated=bool(p.flow)))
    return SchematicLayout(geo.width, geo.height, tuple(nodes), tuple(pipes), geo.legend, geo.temp_range,
                           legend_note=f"loop limit {plant.max_loop_c:g} °C"
                           if geo.temp_range[1] == plant.max_loop_c else "")


def updates(state: PlantState) -> tuple[dict[str, NodeUpdate], dict[str, PipeUpdate]]:
    nodes = {eid: NodeUpdate(s.lines, s.state, s.reason, s.temp) for eid, s in state.elements.items()}
    pipes = {pid: PipeUpdate(p.temp, p.state, p.flow) for pid, p in state.pipes.items()}
    return nodes, pipes


class SchematicView(QWidget):
    title = "Heat path"

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.plant = build_plant(ctx.site)
        self.schematic = SchematicWidget(schematic_layout(self.plant, layout(self.plant)), self)
        self.schematic.element_clicked.connect(self._open)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.schematic)
        self.refresh()

    def refresh(self) -> None:
        live = self.ctx.live
        devices = {d.device.id: d.state for d in live.devices()}
        nodes, pipes = updates(plant_state(self.plant, live.series(), devices))
        self.schematic.update_state(nodes, pipes)

    def select(self, target: str) -> None:
        """``ctx.navigate("schematic", device_id)``: put the keyboard on that device's first part."""
        if self.schematic.focus_target(target):
            self.schematic.setFocus()

    def _open(self, device_id: str) -> None:
        self.ctx.navigate("devices", device_id)


__all__ = ["SchematicView", "schematic_layout", "updates"]
