"""The physical range of every quantity: each bound holds exactly, the values that were logged
as facts in issue 7 are refused, and the docs table is the code table."""
from __future__ import annotations

import math
import re
from decimal import Decimal

import numpy as np
import pytest

from protocols.base import QUANTITY_UNITS
from protocols.plausibility import MAX_TEXT, RANGES, TEXT_QUANTITIES, problem, range_of
from tests.support import REPO


def test_every_quantity_of_the_vocabulary_has_a_range_or_is_text() -> None:
    ranged = {r.quantity for r in RANGES}
    assert set(QUANTITY_UNITS) == ranged | TEXT_QUANTITIES
    assert not ranged & TEXT_QUANTITIES
    for q in ranged:
        assert range_of(q) is not None and range_of(q).unit == QUANTITY_UNITS[q]  # canonical first


def test_rows_are_well_formed_and_unique() -> None:
    keys = [(r.quantity, r.unit) for r in RANGES]
    assert len(keys) == len(set(keys))
    for r in RANGES:
        assert math.isfinite(r.low) and math.isfinite(r.high) and r.low < r.high, r
        assert r.why.strip(), r


@pytest.mark.parametrize("r", RANGES, ids=lambda r: f"{r.quantity}[{r.unit}]")
def test_each_bound_is_inclusive_and_exact(r) -> None:
    step = max(1e-6, abs(r.high - r.low) * 1e-9)
    for inside in (r.low, r.high, (r.low + r.high) / 2):
        assert problem(r.quantity, r.unit, inside) is None, inside
    for outside in (r.low - step, r.high + step, r.high * 1e6 if r.high > 0 else 1e6):
        assert "outside the plausible" in problem(r.quantity, r.unit, outside), outside
    for junk in (math.nan, math.inf, -math.inf):
        assert problem(r.quantity, r.unit, junk) == "not a finite number"


@pytest.mark.parametrize("quantity, unit, value", [
    ("temperature", "°C", 1e308), ("temperature", "°C", -2.7e8), ("power", "W", -500.0),
    ("power", "W", 9.9e300),  # Redfish, issue 7
    ("temperature", "°C", 3263.9), ("valve_position", "%", 326.39), ("flow", "L/min", 3.3895e38),  # 0x7F7F
    ("temperature", "°C", -127.0), ("temperature", "°C", -273.15), ("fan_speed", "RPM", 65535.0),
    ("runtime", "s", 65535 * 60.0), ("fan_speed", "%", 150.0), ("power_factor", "", 1.5),
])
def test_the_values_issue_7_logged_as_facts_are_refused(quantity: str, unit: str, value: float) -> None:
    assert problem(quantity, unit, value) is not None


@pytest.mark.parametrize("quantity, unit, value", [
    ("temperature", "°C", 45.5), ("temperature", "°C", -40.0), ("power", "W", -0.4),
    ("thermal_power", "W", -1200.0), ("flow", "L/min", -3.0), ("voltage", "V", -12.1),
    ("current", "A", -20.0), ("frequency", "Hz", 0.0), ("load", "%", 120.0), ("fan_speed", "RPM", 14000),
    ("memory_total", "B", 80 * 2**30), ("energy", "kWh", 123456.0), ("count", "", 3.0),
])
def test_real_readings_pass(quantity: str, unit: str, value: float) -> None:
    assert problem(quantity, unit, value) is None


def test_a_unit_the_table_does_not_know_falls_back_to_the_canonical_one() -> None:
    assert problem("temperature", "degC", 3263.9) is not None
    assert problem("fan_speed", "%", 14000) is not None and problem("fan_speed", "RPM", 14000) is None


def test_value_types() -> None:
    assert problem("temperature", "°C", None) is None  # "no reading" claims nothing
    assert problem("temperature", "°C", np.float32(40)) is None
    assert problem("temperature", "°C", Decimal("40")) is None
    assert problem("temperature", "°C", np.float64("nan")) == "not a finite number"
    assert problem("temperature", "°C", 10**400) == "not a finite number"
    assert "where a number is expected" in problem("temperature", "°C", "40")
    assert "where a number is expected" in problem("temperature", "°C", True)
    assert "where a number is expected" in problem("temperature", "°C", Decimal("sNaN"))
    assert problem("state", "", "on_battery") is None and problem("alarm", "", "overtemp") is None
    assert problem("state", "", 3.0) is None and problem("state", "", math.nan) == "not a finite number"
    assert "characters" in problem("alarm", "", "x" * (MAX_TEXT + 1))
    assert "where text is expected" in problem("state", "", [1])


def test_an_unknown_quantity_is_only_checked_for_finiteness() -> None:
    assert problem("mystery", "", 1e300) is None
    assert problem("mystery", "", math.inf) == "not a finite number"


def _docs_rows() -> list[tuple[str, str, float, float]]:
    text = (REPO / "docs/quantities.md").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        m = re.match(r"\|\s*`(\w+)`\s*\|\s*([^|]*?)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|", line)
        if m:
            q, unit, lo, hi = m.groups()
            num = lambda s: float(s.replace("−", "-").replace(",", "").replace(" ", ""))  # noqa: E731
            rows.append((q, unit, num(lo), num(hi)))
    return rows


def test_the_docs_table_is_the_code_table() -> None:
    assert _docs_rows() == [(r.quantity, r.unit, r.low, r.high) for r in RANGES]
