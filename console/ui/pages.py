"""The window's pages, in tab order. Each entry names a view class (``console.ui.context.View``)
built from the window's ``ViewContext``; the window imports them when it opens, so a page is
added here and nowhere else. The name is what ``ViewContext.navigate`` switches to."""
from __future__ import annotations

import importlib

from console.ui.context import ViewFactory

# (name, "module:Class"); kept in the order a person reads the site: overview first,
# then the process areas, then the unit pages and the records
PAGES: list[tuple[str, str]] = [
    # pages are registered here as they land
    ("home", "console.ui.home_view:HomeView"),
    ("schematic", "console.ui.schematic_view:SchematicView"),
    ("energy", "console.ui.energy_view:EnergyView"),
    ("power", "console.ui.power_view:PowerView"),
    ("devices", "console.ui.devices_view:DevicesView"),
    ("events", "console.ui.events_view:EventsView"),
    ("audit", "console.ui.audit_view:AuditView"),
]


def load(spec: str) -> ViewFactory:
    module, _, cls = spec.partition(":")
    factory: ViewFactory = getattr(importlib.import_module(module), cls)
    return factory


__all__ = ["PAGES", "load"]
