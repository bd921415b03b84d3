"""The energy balance of a site: where the electricity goes and where its heat ends up.

Electricity in → IT load + losses and other loads; IT load → heat captured into the loop + heat
to the room air; captured → dumped + into the tank; tank → stored + each useful sink. Live it is
power (W, from the live model's latest values); over a period it is energy (kWh, from the
store). Which series feed each term is decided from the site (power path, heat path, device
kinds) and the channel conventions (``ups/output/power``, ``pdu/total/power``,
``srv/chassis/power``, ``loop/loop/thermal_power``, ``loop/dump/thermal_power``, tank sensor
temperatures), never from demo ids. Measured: electricity in, IT, captured, dumped, stored
(periods only) and any consumer with its own meter. Derived: losses = in − IT, room air = IT −
captured, tank in = captured − dumped, useful = tank in − stored. A derived value that comes out
negative is not clipped silently: it becomes an explicit "unaccounted" source, so what goes in
always equals what comes out. Qt-free; see docs/window-energy.md.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from console.site import channel_slug as slug  # re-exported: how a site's sinks name their channels

if TYPE_CHECKING:
    from console.integral import Integral
    from console.site import Site

WATER_KJ_PER_KG_K = 4.186  # specific heat of water
WATER_KG_PER_L = 1.0  # 0.99 at 40 °C: within the 1 % the tank's mean temperature is known to
# Two meters that disagree by less than this share of the larger reading agree (class 1 meters
# are each good to about 1 %): the difference is not drawn as "unaccounted".
TOLERANCE = 0.02
MIN_COVERAGE = 0.9
# capture below this share of the site's design liquid fraction is abnormal (a stopped pump, a
# closed valve): said in words, not only seen as a thin band
LOW_CAPTURE_SHARE = 1 / 3  # a period term with data for less of the period than this is marked partial

POWER, ENERGY = "W", "kWh"


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """What is known of one series: its value (W or kWh; None: nothing), whether it is stale
    (live: not fresh; period: covers too little of the period), and why, in a few words."""

    value: float | None
    stale: bool = False
    note: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Term:
    """One measured quantity of the balance: the first option whose series all have data wins;
    an option is a group of series summed (one per server, per UPS ...)."""

    name: str
    options: tuple[tuple[str, ...], ...]
    usual: int = 1  # the first options are the usual sources; a later one is named in the notes

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for opt in self.options for k in opt))


@dataclasses.dataclass(frozen=True, slots=True)
class TermValue:
    """A term's value as read: the series used, and whether it is stale or partial (and why)."""

    value: float | None
    keys: tuple[str, ...] = ()
    stale: bool = False
    note: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """Which series make each term of the balance, for one site and one mode (live or period)."""

    period: bool
    electricity_in: Term
    servers: tuple[Term, ...]  # IT load, one term per heat-path server
    captured: Term
    dumped: Term
    consumers: tuple[Term, ...]
    consumer_names: tuple[str, ...]
    consumer_design_w: tuple[float | None, ...]
    tank_keys: tuple[str, ...]  # temperatures whose mean is the tank's (periods: storage)
    tank_volume_l: float
    tank_name: str
    dump_name: str
    other_loads: bool  # the metered feed also supplies devices outside the heat path
    design_capture: float = 0.75  # the heat path's liquid_fraction

    def keys(self) -> list[str]:
        terms = (self.electricity_in, *self.servers, self.captured, self.dumped, *self.consumers)
        return list(dict.fromkeys(k for t in terms for k in t.keys))


@dataclasses.dataclass(frozen=True, slots=True)
class Node:
    id: str
    label: str
    column: int
    note: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Flow:
    """A band of the Sankey. ``value`` None or ≤ 0 is "no data" (drawn as a stub, never hidden).
    ``tone``: electric, heat, loss, useful, waste or unaccounted."""

    source: str
    target: str
    value: float | None
    label: str
    tone: str
    stale: bool = False
    note: str = ""
    basis: str = ""  # how the figure was made: the series measured, or the difference taken


@dataclasses.dataclass(frozen=True, slots=True)
class Balance:
    unit: str  # W (live) or kWh (period)
    nodes: tuple[Node, ...]
    flows: tuple[Flow, ...]
    electricity_in: float | None
    it: float | None
    losses: float | None
    captured: float | None
    room_air: float | None
    dumped: float | None
    stored: float | None  # periods only; negative: drawn from the tank
    useful: float | None
    unaccounted: float  # the sum of the unaccounted sources (0 when the numbers add up)
    tolerated: float  # meter disagreements within TOLERANCE, clipped without a band
    capture_fraction: float | None  # captured / IT
    useful_fraction: float | None  # useful / IT
    low_capture: str  # "" or why the capture is abnormally low (one line)
    notes: tuple[str, ...]  # stale, partial or missing inputs, estimates: one short line each

    def node_total(self, node_id: str) -> float | None:
        """What passes through a node: the larger of its known inflow and outflow (None: no data)."""
        ins = [f.value for f in self.flows if f.target == node_id and f.value is not None]
        outs = [f.value for f in self.flows if f.source == node_id and f.value is not None]
        if not ins and not outs:
            return None
        return max(sum(ins), sum(outs))

    def sources_total(self) -> float:
        """What flows in from the sources (electricity, unaccounted, drawn from storage)."""
        targets = {f.target for f in self.flows}
        return sum(f.value or 0.0 for f in self.flows if f.source not in targets)

    def sinks_total(self) -> float:
        """What flows out into the final sinks."""
        sources = {f.source for f in self.flows}
        return sum(f.value or 0.0 for f in self.flows if f.target not in sources)


# ------------------------------------------------------------------ which series
def plan(site: Site, known: Collection[str], *, period: bool) -> Plan:
    """The series for each term. ``known`` are the series keys the live model (seeded from the
    store at start) knows, to find a server's PSU or GPU channels; the fixed conventions are
    tried whether known or not. ``period`` adds energy counters as the last resort."""
    devices = {d.id: d for d in site.devices}
    hp, pp = site.heat_path, site.power_path
    meters = list(dict.fromkeys(d for d in (hp.heat_meter, hp.loop) if d))

    ups = list(dict.fromkeys(f.ups for f in pp.feeds)) or [d.id for d in site.devices if d.kind == "ups"]
    pdus = list(dict.fromkeys(f.pdu for f in pp.feeds)) or [d.id for d in site.devices if d.kind == "pdu"]
    in_opts: list[tuple[str, ...]] = []
    if ups:
        in_opts += [tuple(f"{u}/input/power" for u in ups), tuple(f"{u}/output/power" for u in ups)]
    if pdus:
        in_opts.append(tuple(f"{p}/total/power" for p in pdus))
        if period:
            in_opts.append(tuple(f"{p}/total/energy" for p in pdus))

    servers = []
    for sid in hp.servers:
        opts: list[tuple[str, ...]] = [(f"{sid}/chassis/power",)]
        psus = sorted(k for k in known if re.fullmatch(rf"{re.escape(sid)}/psu\d*/power", k))
        if psus:
            opts.append(tuple(psus))
        outlets = tuple(f"{o.pdu}/outlet{o.outlet}/power" for o in pp.outlets if o.device == sid)
        if outlets:
            opts.append(outlets)
        dev = devices.get(sid)
        if dev is not None and dev.kind == "gpu_host":  # GPUs not behind a BMC: their own power
            gpus = sorted(k for k in known if re.fullmatch(rf"{re.escape(sid)}/gpu\d+/power", k))
            if gpus:
                opts.append(tuple(gpus))
        if period:
            opts.append((f"{sid}/chassis/energy",))
        servers.append(Term(f"IT {sid}", tuple(opts)))

    cap_opts: list[tuple[str, ...]] = [(f"{m}/loop/thermal_power",) for m in meters]
    cap_opts.append(tuple(f"{s}/coolant/thermal_power" for s in hp.servers))
    if period:
        cap_opts += [(f"{m}/loop/thermal_energy",) for m in meters]
    dump_channels = list(dict.fromkeys(["dump", "bypass", slug(hp.bypass.name)]))
    dump_opts = tuple((f"{m}/{c}/thermal_power",) for m in meters for c in dump_channels)
    consumers = tuple(Term(c.name, tuple((f"{m}/{slug(c.name)}/thermal_power",) for m in meters), len(meters))
                      for c in hp.consumers)

    on_feed = {o.device for o in pp.outlets}
    other = bool(on_feed - set(hp.servers)) or (not pp.outlets and bool(ups or pdus))
    return Plan(period, Term("electricity in", tuple(in_opts), 2 if ups else 1), tuple(servers),
                Term("heat captured", tuple(cap_opts), len(meters)),
                Term("heat dumped", dump_opts, len(dump_opts)), consumers, tuple(c.name for c in hp.consumers),
                tuple(c.design_w for c in hp.consumers),
                tuple(hp.tank_sensor_key(s) for s in hp.tank.sensors), hp.tank.volume_l, hp.tank.name,
                hp.bypass.name, other, hp.liquid_fraction)


def read(term: Term, values: Mapping[str, Sample], word: str = "stale") -> TermValue:
    """The first option whose series all have fresh values; else the first complete one (stale,
    marked); else the best partial one (marked). A fallback option is named in the note."""
    complete = [opt for opt in term.options
                if opt and all((s := values.get(k)) is not None and s.value is not None for k in opt)]
    fresh = [opt for opt in complete if not any(values[k].stale for k in opt)]
    if fresh or complete:
        opt = (fresh or complete)[0]
        stale = [f"{k}: {values[k].note}" if values[k].note else k for k in opt if values[k].stale]
        note = f"{term.name} {word} ({', '.join(stale)})" if stale else ""
        if not note and opt not in term.options[:term.usual]:
            note = f"{term.name} from {', '.join(opt)}"
        return TermValue(sum(values[k].value or 0.0 for k in opt), opt, bool(stale), note)
    best: tuple[int, tuple[str, ...]] | None = None
    for opt in term.options:
        n = sum(1 for k in opt if (s := values.get(k)) is not None and s.value is not None)
        if n and (best is None or n > best[0]):
            best = (n, opt)
    if best is None:
        return TermValue(None, (), False, f"{term.name}: no reading")
    opt = best[1]
    used = tuple(k for k in opt if (s := values.get(k)) is not None and s.value is not None)
    missing = [k for k in opt if k not in used]
    return TermValue(sum(values[k].value or 0.0 for k in used), used, True,
                   f"{term.name} partial: no {', '.join(missing)}")


def tank_energy_kwh(volume_l: float, mean_c_start: float, mean_c_end: float) -> float:
    """Heat stored in a tank whose mean temperature moved from start to end (kWh; negative: released)."""
    return volume_l * WATER_KG_PER_L * WATER_KJ_PER_KG_K * (mean_c_end - mean_c_start) / 3600.0


# ------------------------------------------------------------------ the balance
def fmt(value: float | None, unit: str) -> str:
    """A value for a band or a total: 553 W, 2.41 kW, 0.42 kWh, 31.2 kWh, 1,204 kWh."""
    if value is None:
        return "no data"
    if unit == POWER:
        return f"{value / 1000:.2f} kW" if abs(value) >= 10_000 else f"{value:,.0f} W"
    a = abs(value)
    return f"{value:,.0f} kWh" if a >= 100 else f"{value:.1f} kWh" if a >= 10 else f"{value:.2f} kWh"


def _measured(keys: Sequence[str]) -> str:
    return "measured: " + " + ".join(keys) if keys else "no series"


def _pct(x: float | None) -> str:
    return f"{x * 100:.0f} %" if x is not None else "?"


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def balance(plan: Plan, values: Mapping[str, Sample], *, stored: Sample | None = None) -> Balance:
    """The balance from the series' values (W live, kWh over a period) and, for a period, the
    heat stored in the tank. Every derived term that would be negative is clipped to 0 and the
    difference becomes an "unaccounted" source beside it, so sources equal sinks (meter
    disagreements within TOLERANCE are clipped without a band: sources + tolerated = sinks)."""
    unit = ENERGY if plan.period else POWER
    notes: list[str] = []
    word = "partial" if plan.period else "stale"
    r_in = read(plan.electricity_in, values, word)
    r_servers = [read(t, values, word) for t in plan.servers]
    r_cap, r_dump = read(plan.captured, values, word), read(plan.dumped, values, word)
    r_cons = [read(t, values, word) for t in plan.consumers]
    for r in (r_in, *r_servers, r_cap):
        if r.note:
            notes.append(r.note)

    have_it = [r.value for r in r_servers if r.value is not None]
    it = sum(have_it) if have_it else None
    it_stale = any(r.stale or r.value is None for r in r_servers)
    e_in, cap = r_in.value, r_cap.value
    dumped = r_dump.value
    if dumped is None:
        notes.append(f"{plan.dump_name}: not metered, taken as 0")
    st = stored.value if stored is not None else None
    if stored is not None and stored.note:
        notes.append(stored.note)

    nodes = [Node("in", "Electricity in", 0), Node("it", "IT load", 1),
             Node("losses", "Losses & other loads" if plan.other_loads else "Conversion losses", 1,
                  "UPS/PDU/PSU conversion" + (" and loads outside the heat path" if plan.other_loads else "")),
             Node("captured", "Heat captured (loop)", 2),
             Node("room", "Room air (servers' air side)", 2,
                  "fans, PSUs and what the cold plates miss heat the room: useful in winter"),
             Node("dumped", f"Dumped ({plan.dump_name})", 3), Node("tank", plan.tank_name.capitalize(), 3)]
    flows: list[Flow] = []
    unaccounted = tolerated = 0.0

    def unacc(target: str, column: int, amount: float, why: str, scale: float) -> None:
        nonlocal unaccounted, tolerated
        if amount <= TOLERANCE * abs(scale):  # within what the meters can tell apart
            tolerated += amount
            return
        nid = f"unacc-{target}"
        nodes.append(Node(nid, "Unaccounted", column, why))
        flows.append(Flow(nid, target, amount, f"unaccounted {fmt(amount, unit)}", "unaccounted", note=why))
        unaccounted += amount
        notes.append(f"unaccounted {fmt(amount, unit)}: {why}")

    # electricity in -> IT load + losses
    in_note = "" if e_in is not None else "facility feed not metered"
    losses = _sub(e_in, it)
    if losses is not None and losses < 0:  # the feed gives IT what it has; the rest is unaccounted
        unacc("it", 0, -losses, "IT load above the metered feed", it or 0.0)
        losses = 0.0
    to_it = e_in if it is not None and e_in is not None and e_in < it else it
    it_keys = tuple(k for r in r_servers for k in r.keys)
    flows.insert(0, Flow("in", "it", to_it, fmt(to_it, unit), "electric", it_stale or r_in.stale, in_note,
                         _measured(it_keys)))
    flows.append(Flow("in", "losses", losses, fmt(losses, unit), "loss", r_in.stale or it_stale,
                      basis=f"electricity in ({_measured(r_in.keys)}) − IT load"))

    # IT -> captured + room air
    cf = cap / it if cap is not None and it else None
    room = _sub(it, cap)
    if room is not None and room < 0:
        unacc("captured", 1, -room, "heat captured above the IT load", cap or 0.0)
        room = 0.0
    from_it = it if it is not None and cap is not None and cap > it else cap
    flows.append(Flow("it", "captured", from_it, f"{fmt(from_it, unit)} · captured {_pct(cf)} of IT", "heat",
                      r_cap.stale, basis=_measured(r_cap.keys)))
    flows.append(Flow("it", "room", room, fmt(room, unit), "heat", it_stale or r_cap.stale,
                      "useful in winter", "IT load − heat captured"))

    # captured -> dumped + tank
    tank_in = _sub(cap, dumped if dumped is not None else 0.0)
    if tank_in is not None and tank_in < 0:
        unacc("dumped", 2, -tank_in, "heat dumped above the heat captured", dumped or 0.0)
        tank_in = 0.0
    to_dump = cap if dumped is not None and cap is not None and dumped > cap else dumped
    flows.append(Flow("captured", "dumped", to_dump, fmt(to_dump, unit), "waste", r_dump.stale,
                      "" if dumped is not None else "not metered", _measured(r_dump.keys)))
    flows.append(Flow("captured", "tank", tank_in, fmt(tank_in, unit), "heat", r_cap.stale or r_dump.stale,
                      basis="heat captured − heat dumped"))

    # tank -> stored + each sink
    useful = tank_in
    tank_basis = (f"{plan.tank_volume_l:g} L × {WATER_KJ_PER_KG_K} kJ/kg·K × change of the mean of "
                  f"{', '.join(plan.tank_keys) or 'no sensors'}")
    if plan.period:
        if st is not None and st < 0:
            nodes.append(Node("from-store", "Drawn from the tank", 2, "the tank ended cooler than it began"))
            flows.append(Flow("from-store", "tank", -st, fmt(-st, unit), "heat", stored is not None and stored.stale,
                              basis=tank_basis))
        useful = None if tank_in is None or st is None else tank_in - st
        if st is None:
            notes.append("tank storage unknown: no tank temperatures for the period")
            useful = tank_in
    col_sinks = 4
    if useful is not None and useful < 0:
        unacc("tank", 2, -useful, "tank warmed more than the heat delivered to it", st or 0.0)
        useful = 0.0
    if plan.period and (st is None or st >= 0):  # drawn from the tank: its own source, above
        nodes.append(Node("stored", f"Stored in {plan.tank_name}", col_sinks))
        flows.append(Flow("tank", "stored", st, fmt(st, unit), "heat", stored is not None and stored.stale,
                          "" if st is not None else "tank temperatures missing", tank_basis))

    measured = {n: r.value for n, r in zip(plan.consumer_names, r_cons, strict=True) if r.value is not None}
    rest = None if useful is None else max(0.0, useful - sum(measured.values()))
    unmeasured = [i for i, n in enumerate(plan.consumer_names) if n not in measured]
    designs = [plan.consumer_design_w[i] for i in unmeasured]
    by_design = bool(unmeasured) and all(d is not None for d in designs)
    weights = [float(d) if by_design and d is not None else 1.0 for d in designs]
    split = "by design power" if by_design else "equal shares"
    if len(unmeasured) > 1 or (unmeasured and measured):
        notes.append(f"heat to sinks without their own meter: estimated split ({split})")
    uf = useful / it if useful is not None and it else None
    for i, name in enumerate(plan.consumer_names):
        nid = f"sink-{i}"
        nodes.append(Node(nid, name.capitalize(), col_sinks))
        if name in measured:
            v: float | None = measured[name]
            flows.append(Flow("tank", nid, v, fmt(v, unit), "useful", r_cons[i].stale,
                              basis=_measured(r_cons[i].keys)))
            continue
        j = unmeasured.index(i)
        v = None if rest is None else rest * weights[j] / sum(weights)
        est = len(unmeasured) > 1 or bool(measured)
        live_note = "" if plan.period else "incl. tank charging"
        note = "; ".join(x for x in (f"estimated split ({split})" if est else "", live_note) if x)
        basis = "heat into the tank" + (" − stored" if plan.period else "")
        if est:
            basis += f" − metered sinks, split across the sinks without a meter ({split})"
        flows.append(Flow("tank", nid, v, f"{fmt(v, unit)}" + (" est." if est else ""), "useful",
                          r_cap.stale or r_dump.stale, note, basis))
    low = ""
    if cf is not None and it and plan.design_capture > 0 and cf < LOW_CAPTURE_SHARE * plan.design_capture:
        low = (f"heat capture {cf * 100:.0f} % of IT, design {plan.design_capture * 100:.0f} %: "
               "check the loop pump, flow and valves")
    if not plan.period:
        notes.append("tank storage is shown for periods only (live, sinks include tank charging)")

    return Balance(unit, tuple(nodes), tuple(flows), e_in, it, losses, cap, room, dumped,
                   st if plan.period else None, useful, unaccounted, tolerated, cf, uf, low, tuple(notes))


def live_samples(series: Sequence[tuple[str, float | str | None, bool, float]]) -> dict[str, Sample]:
    """Samples from the live model's (key, value, live, age) of each series: a series that is
    not live keeps its last value, marked stale with its age."""
    out = {}
    for key, value, live, age in series:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = Sample(float(value), not live, "" if live else f"{_age(age)} old")
    return out


def tank_means(plan: Plan, first_last: Mapping[str, tuple[float, float, float, float]]) -> tuple[float, float] | None:
    """The tank's mean temperature at the start and at the end of the period (the mean of its
    layer sensors: layers of equal volume), or None when a sensor is missing."""
    if not plan.tank_keys or any(k not in first_last for k in plan.tank_keys):
        return None
    rows = [first_last[k] for k in plan.tank_keys]
    return sum(r[1] for r in rows) / len(rows), sum(r[3] for r in rows) / len(rows)


def tank_stored(plan: Plan, first_last: Mapping[str, tuple[float, float, float, float]], start: float,
                end: float) -> Sample:
    """Heat stored in the tank over the period from each tank sensor's (first time, first
    temperature, last time, last temperature). Every sensor must be there; temperatures known
    only late in the period (or ending early) mark the figure partial."""
    if not plan.tank_keys:
        return Sample(None, False, "tank storage unknown: the site names no tank sensors")
    missing = [k for k in plan.tank_keys if k not in first_last]
    if missing:
        return Sample(None, False, f"tank storage unknown: no {', '.join(missing)} in the period")
    rows = [first_last[k] for k in plan.tank_keys]
    t0, t1 = tank_means(plan, first_last) or (0.0, 0.0)
    span = max(1.0, end - start)
    late = max(r[0] for r in rows) - start > 0.1 * span or end - min(r[2] for r in rows) > 0.1 * span
    kwh = tank_energy_kwh(plan.tank_volume_l, t0, t1)
    note = (f"tank {t0:.1f} → {t1:.1f} °C" + (" (temperatures do not cover the whole period)" if late else ""))
    return Sample(kwh, late, note if late else "")


def period_samples(integrals: Mapping[str, Integral], span_s: float) -> dict[str, Sample]:
    """Samples from the store's integrals over a period of ``span_s`` seconds: a series with
    data for less than MIN_COVERAGE of the period is marked partial with its coverage."""
    out = {}
    for key, i in integrals.items():
        if i.has_data:
            cover = i.covered_s / span_s if span_s > 0 else 0.0
            short = cover < MIN_COVERAGE
            out[key] = Sample(i.kwh, short, f"data for {cover * 100:.0f} % of the period" if short else "")
    return out


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


__all__ = ["Balance", "Flow", "Node", "Plan", "Sample", "Term", "TermValue", "balance", "fmt", "live_samples",
           "period_samples", "plan",
           "tank_means", "tank_stored", "read", "slug", "tank_energy_kwh"]
