"""Outdoor temperature: an annual and a daily cycle plus seeded, slowly varying weather.

The weather term is an Ornstein-Uhlenbeck process (exact discretisation, so any step size is
stable): fronts that last a day or two, not white noise that would look like a broken sensor.
"""
from __future__ import annotations

import dataclasses
import math
import random

_TWO_PI = 2.0 * math.pi
_YEAR_D = 365.2425


@dataclasses.dataclass(frozen=True, slots=True)
class WeatherSpec:
    mean_c: float = 9.5  # annual mean (central Europe)
    annual_amp_c: float = 9.0  # coldest around coldest_doy, warmest half a year later
    coldest_doy: float = 20.0
    daily_amp_c: float = 4.0  # warmest mid-afternoon, coldest before dawn
    warmest_hour: float = 15.0
    noise_sd_c: float = 3.0
    noise_tau_h: float = 36.0
    utc_offset_h: float = 1.0  # local time of the demo site (CET)


class Weather:
    """Outdoor temperature at simulated epoch seconds. ``step`` advances the weather noise."""

    __slots__ = ("spec", "rng", "noise", "outdoor_c")

    def __init__(self, spec: WeatherSpec, rng: random.Random, epoch: float) -> None:
        self.spec = spec
        self.rng = rng
        self.noise = rng.gauss(0.0, spec.noise_sd_c)
        self.outdoor_c = self.climate(epoch) + self.noise

    def climate(self, epoch: float) -> float:
        """The noise-free seasonal and daily cycle."""
        s = self.spec
        doy = (epoch / 86400.0) % _YEAR_D  # day of year, good to a day for this century
        hour = (epoch / 3600.0 + s.utc_offset_h) % 24.0
        annual = -s.annual_amp_c * math.cos(_TWO_PI * (doy - s.coldest_doy) / _YEAR_D)
        daily = s.daily_amp_c * math.cos(_TWO_PI * (hour - s.warmest_hour) / 24.0)
        return s.mean_c + annual + daily

    def step(self, dt: float, epoch: float) -> float:
        s = self.spec
        a = math.exp(-dt / (s.noise_tau_h * 3600.0))
        self.noise = a * self.noise + s.noise_sd_c * math.sqrt(1.0 - a * a) * self.rng.gauss(0.0, 1.0)
        self.outdoor_c = self.climate(epoch) + self.noise
        return self.outdoor_c
