"""What a physically possible value of each quantity looks like.

This belongs to the vocabulary (``protocols.base.QUANTITY_UNITS``): a unit says how a quantity
is written, a range says which numbers can be true at all. A value outside its range is not a
measurement but a fault code (0x7F7F registers, 0xFFFF "no sensor", -127 °C), an unscaled raw
count or garbage; the engine drops it before anything stores or shows it, and Control never
writes a value the console would refuse to believe on read-back. The bounds are deliberately
wide — they catch the impossible, not the alarming; site limits and alarms are for that.

One table, documented row for row in docs/quantities.md (a test keeps the two in step).
"""
from __future__ import annotations

import dataclasses
import decimal
import math
import numbers

from protocols.base import QUANTITY_UNITS

TEXT_QUANTITIES = frozenset({"state", "alarm"})
MAX_TEXT = 256  # characters of an enumerated state or an alarm name


@dataclasses.dataclass(frozen=True, slots=True)
class Range:
    """Inclusive bounds of a quantity in ``unit``, with the reason for them."""

    quantity: str
    unit: str
    low: float
    high: float
    why: str


RANGES: tuple[Range, ...] = (
    Range("temperature", "°C", -90.0, 200.0,
          "colder than the coldest air measured on Earth (−89.2 °C) or hotter than any server part "
          "or water loop survives; catches −127, −273.15, 3263.9/3276.7 (0x7F7F/0x7FFF ×0.1)"),
    Range("setpoint", "°C", -90.0, 200.0, "a temperature setpoint: as temperature"),
    Range("power", "W", -10.0, 1e6,
          "a meter's zero offset reads a few W below zero on an idle outlet; a whole micro data "
          "centre stays below 1 MW"),
    Range("apparent_power", "VA", 0.0, 1e6, "V × I is never negative; as power"),
    Range("power_factor", "", -1.0, 1.0, "a ratio of powers, by definition"),
    Range("power_limit", "W", 0.0, 1e6, "0 means \"no cap\" on some BMCs; as power"),
    Range("energy", "kWh", 0.0, 1e9,
          "a cumulative counter: 1 MW for a century is 8.8e8 kWh; negative is a counter fault"),
    Range("thermal_power", "W", -1e6, 1e6,
          "negative is real (return warmer than supply); as power"),
    Range("thermal_energy", "kWh", 0.0, 1e9, "as energy"),
    Range("flow", "L/min", -10_000.0, 10_000.0,
          "reverse flow is real and worth seeing; 10,000 L/min fills a DN200 main at 5 m/s, far "
          "beyond any server loop; catches 3.4e38 (float32 0x7F7F7F7F)"),
    Range("fan_speed", "RPM", 0.0, 50_000.0,
          "the fastest 40 mm server fans turn ~30,000 RPM; 65,535 (0xFFFF) means \"no sensor\""),
    Range("fan_speed", "%", 0.0, 100.0, "a share of full speed"),
    Range("utilization", "%", 0.0, 100.0, "a share of time busy"),
    Range("memory_used", "B", 0.0, 1e15, "1 PB: far beyond any single GPU or server"),
    Range("memory_total", "B", 0.0, 1e15, "as memory_used"),
    Range("voltage", "V", -1500.0, 1500.0,
          "the low-voltage limit (1,500 V DC, 1,000 V AC); negative rails (−12 V, −48 V) are real"),
    Range("current", "A", -10_000.0, 10_000.0,
          "a 1 MW site at 400 V three-phase draws ~1,450 A; negative is a battery charging"),
    Range("frequency", "Hz", 0.0, 1000.0, "mains is 50/60 Hz, aircraft-style 400 Hz; 0 while an output is off"),
    Range("charge", "%", 0.0, 100.0, "a share of full charge"),
    Range("runtime", "s", 0.0, 2_419_200.0,
          "4 weeks: no UPS battery carries a load longer; 65,535 min (0xFFFF) means \"unknown\""),
    Range("load", "%", 0.0, 200.0, "a UPS carries up to ~150 % for seconds before it trips"),
    Range("valve_position", "%", 0.0, 100.0, "a share of the valve's travel; catches 326 % (0x7F7F ×0.01)"),
    Range("pressure", "kPa", -101.325, 10_000.0,
          "no gauge reads below vacuum; 100 bar is ten times any cooling loop"),
    Range("count", "", 0.0, 1e6, "a number of things (active alarms)"),
)

_BY_KEY: dict[tuple[str, str], Range] = {(r.quantity, r.unit): r for r in RANGES}


def range_of(quantity: str, unit: str | None = None) -> Range | None:
    """The range for ``quantity`` in ``unit``; the canonical unit's when ``unit`` is not one
    the table knows (clients emit canonical units, so a stray label changes nothing)."""
    r = _BY_KEY.get((quantity, unit or ""))
    if r is None and quantity in QUANTITY_UNITS:
        r = _BY_KEY.get((quantity, QUANTITY_UNITS[quantity]))
    return r


def _real(value: object) -> float | None:
    """``value`` as a float when it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond any float
        return math.inf
    except (TypeError, ValueError, ArithmeticError):  # Decimal('sNaN')
        return None


def problem(quantity: str, unit: str | None, value: object) -> str | None:
    """Why ``value`` cannot be a true reading of ``quantity``, or None when it can.
    ``None`` (no reading) is always fine: it claims nothing. Never raises."""
    if value is None:
        return None
    if quantity in TEXT_QUANTITIES:
        if isinstance(value, str):
            return None if len(value) <= MAX_TEXT else f"text of {len(value)} characters (at most {MAX_TEXT})"
        number = _real(value)
        if number is None:
            return f"a {type(value).__name__} where text is expected"
        return None if math.isfinite(number) else "not a finite number"
    number = _real(value)
    if number is None:
        return f"a {type(value).__name__} where a number is expected"
    if not math.isfinite(number):
        return "not a finite number"
    r = range_of(quantity, unit)
    if r is not None and not r.low <= number <= r.high:
        u = f" {r.unit}" if r.unit else ""
        return f"outside the plausible {r.low:g}…{r.high:g}{u} for {quantity}"
    return None
