"""The embedded demo site's physics: a seeded, deterministic simulation the demo servers render.

Public API: ``DemoSite`` (step / views / DemoControl writes / faults), ``DemoConfig`` and
``FAULTS``. What the devices report, read through heatrack's clients without a network, is
``console.demo.readout.SiteReadout``.
"""
from console.demo.faults import FAULTS
from console.demo.model import DemoConfig, DemoSite

__all__ = ["FAULTS", "DemoConfig", "DemoSite"]
