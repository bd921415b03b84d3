"""The embedded demo site's physics: a seeded, deterministic simulation the demo servers render.

Public API: ``DemoSite`` (step / views / readings / DemoControl writes / faults),
``DemoConfig`` and ``FAULTS``.
"""
from console.demo.faults import FAULTS
from console.demo.model import DemoConfig, DemoSite

__all__ = ["FAULTS", "DemoConfig", "DemoSite"]
