"""Regression guard for the PySide6 pin (pyproject.toml): PySide6 6.12.0 on Python <= 3.11
drops a reference to None on every QObject.property() of an unset property and aborts
(`none_dealloc`). pyqtgraph calls it on every setData(), so a live plot dies within minutes."""
from __future__ import annotations

import sys

import pytest


def test_unset_property_does_not_leak_none_references() -> None:
    from PySide6.QtCore import QObject

    o = QObject()
    before = sys.getrefcount(None)
    for _ in range(100_000):
        assert o.property("notSet") is None
    assert sys.getrefcount(None) >= before


def test_plot_survives_many_set_data_calls(qtbot) -> None:
    import numpy as np
    import pyqtgraph as pg

    w = pg.PlotWidget()
    qtbot.addWidget(w)
    curve = w.plot()
    x = np.arange(100, dtype=float)
    for i in range(20_000):
        curve.setData(x, x * (i % 7))
    assert curve.getData()[1][-1] == 99.0 * (19_999 % 7)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the bug needs a mortal None (Python <= 3.11)")
def test_installed_pyside_respects_the_pin() -> None:
    import PySide6

    major, minor = (int(p) for p in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__} aborts on Python 3.11: see pyproject.toml"
