"""Utilisation of one machine: a diurnal interactive base plus seeded Poisson batch jobs.

Batch jobs arrive as a Poisson process; a job that arrives while another runs waits for it.
Each job has its own GPU/CPU intensity and memory footprint, so the power graphs show
plateaus with edges, as on real training/rendering boxes, over a daily swell of interactive use.
"""
from __future__ import annotations

import dataclasses
import math
import random


@dataclasses.dataclass(frozen=True, slots=True)
class WorkloadSpec:
    base_util: float = 0.02  # night-time interactive load
    diurnal_util: float = 0.25  # extra interactive load at the daily peak
    jobs_per_h: float = 0.15
    job_mean_h: float = 3.0
    job_max_h: float = 12.0
    jitter: float = 0.15  # relative noise on interactive load


class Workload:
    __slots__ = (
        "spec", "rng", "job_end", "next_job", "job_gpu", "job_cpu", "job_mem",
        "gpu_util", "cpu_util", "mem_frac",
    )

    def __init__(self, spec: WorkloadSpec, rng: random.Random) -> None:
        self.spec = spec
        self.rng = rng
        self.job_end = -1.0
        self.next_job = rng.expovariate(spec.jobs_per_h) * 3600.0
        self.job_gpu = self.job_cpu = self.job_mem = 0.0
        self.gpu_util = self.cpu_util = self.mem_frac = 0.0

    def step(self, t: float, diurnal: float, jitter: float) -> None:
        """``t`` simulated seconds; ``diurnal`` 0..1 daily activity; ``jitter`` ~N(0,1)."""
        s = self.spec
        if t >= self.job_end and self.job_gpu > 0.0:
            self.job_gpu = self.job_cpu = self.job_mem = 0.0
        if t >= self.next_job:
            rng = self.rng
            start = max(t, self.job_end)
            if start <= t:
                dur = min(rng.expovariate(1.0 / s.job_mean_h), s.job_max_h) * 3600.0
                self.job_end = t + max(dur, 600.0)
                self.job_gpu = rng.uniform(0.6, 1.0)
                self.job_cpu = rng.uniform(0.2, 0.8)
                self.job_mem = rng.uniform(0.3, 0.95)
                self.next_job = t + rng.expovariate(s.jobs_per_h) * 3600.0
            else:
                self.next_job = start
        base = s.base_util + s.diurnal_util * diurnal
        if self.job_gpu > 0.0:
            g = self.job_gpu * (1.0 + 0.2 * s.jitter * jitter)
            self.gpu_util = min(1.0, max(g, base))
            self.cpu_util = min(1.0, max(self.job_cpu, base))
            self.mem_frac = max(self.job_mem, 0.1 + 0.2 * base)
        else:
            g = base * (1.0 + s.jitter * jitter)
            self.gpu_util = min(1.0, max(0.0, g))
            self.cpu_util = min(1.0, max(0.02, 0.6 * g + 0.02))
            self.mem_frac = 0.02 + 0.2 * self.gpu_util


def diurnal(local_hour: float) -> float:
    """Daily activity 0..1: lowest at 04:00, highest at 16:00."""
    return 0.5 - 0.5 * math.cos(2.0 * math.pi * (local_hour - 4.0) / 24.0)
