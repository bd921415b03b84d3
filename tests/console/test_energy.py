"""The energy balance (console/energy.py): closure on hand-computed inputs, missing and stale
series, negative remainders as explicit "unaccounted" bands, the live balance from the demo."""
from __future__ import annotations

import pytest

from console import energy
from console.energy import Sample
from console.integral import Integral
from console.live import LiveSite
from console.site import Consumer, Site
from tests.fakes.views import DemoFeeder, demo_site_model


def _site(design: tuple[float | None, ...] = (None, None)) -> Site:
    site = demo_site_model()
    cons = [Consumer(name="radiators", kind="space_heating", design_w=design[0]),
            Consumer(name="hot water", kind="hot_water", design_w=design[1])]
    return site.model_copy(update={"heat_path": site.heat_path.model_copy(update={"consumers": cons})})


def _vals(**kv: float) -> dict[str, Sample]:
    return {k.replace("__", "/"): Sample(v) for k, v in kv.items()}


LIVE = dict(ups1__output__power=1000.0, srv1__chassis__power=300.0, srv2__chassis__power=300.0,
            srv3__chassis__power=350.0, heat1__loop__thermal_power=600.0, heat1__dump__thermal_power=100.0)


def _flow(b: energy.Balance, src: str, dst: str) -> energy.Flow:
    return next(f for f in b.flows if (f.source, f.target) == (src, dst))


def test_live_balance_closes_on_hand_computed_inputs() -> None:
    site = _site()
    b = energy.balance(energy.plan(site, [], period=False), _vals(**LIVE))
    assert b.unit == "W"
    assert (b.electricity_in, b.it, b.losses, b.captured, b.room_air, b.dumped) == (1000, 950, 50, 600, 350, 100)
    assert b.useful == 500 and b.unaccounted == 0 and b.stored is None
    assert b.capture_fraction == pytest.approx(600 / 950) and b.useful_fraction == pytest.approx(500 / 950)
    assert b.sources_total() == pytest.approx(1000) and b.sinks_total() == pytest.approx(1000)
    # no consumer meters: an equal split, said on the bands
    sinks = [f for f in b.flows if f.target.startswith("sink-")]
    assert [f.value for f in sinks] == [250, 250] and all("estimated split (equal shares)" in f.note for f in sinks)
    assert "captured 63 % of IT" in _flow(b, "it", "captured").label
    assert b.low_capture == ""
    # a stopped pump: almost nothing captured against a design of 75 %: said in words
    low = energy.balance(energy.plan(site, [], period=False), _vals(**{**LIVE, "heat1__loop__thermal_power": 40.0,
                                                                      "heat1__dump__thermal_power": 0.0}))
    assert low.low_capture.startswith("heat capture 4 % of IT, design 75 %")
    assert _flow(b, "in", "it").label == "950 W"
    # each band says how it was made (its tooltip): the series measured or the difference taken
    assert _flow(b, "in", "it").basis == "measured: srv1/chassis/power + srv2/chassis/power + srv3/chassis/power"
    assert _flow(b, "it", "room").basis == "IT load − heat captured"
    assert "split across the sinks without a meter (equal shares)" in sinks[0].basis


def test_period_balance_with_storage_and_a_split_by_design_power() -> None:
    site = _site(design=(3000.0, 1000.0))
    p = energy.plan(site, [], period=True)
    vals = _vals(ups1__output__power=24.0, srv1__chassis__power=7.0, srv2__chassis__power=7.0,
                 srv3__chassis__power=8.0, heat1__loop__thermal_power=15.0, heat1__dump__thermal_power=1.0)
    b = energy.balance(p, vals, stored=Sample(4.0))
    assert b.unit == "kWh" and (b.losses, b.room_air, b.stored, b.useful) == (2, 7, 4, 10)
    assert [f.value for f in b.flows if f.target.startswith("sink-")] == [7.5, 2.5]
    assert _flow(b, "tank", "stored").value == 4
    assert b.sources_total() == pytest.approx(24) and b.sinks_total() == pytest.approx(24)
    # the tank gave heat back: a source of its own, and the sinks got more than the loop brought
    drawn = energy.balance(p, vals, stored=Sample(-3.0))
    assert _flow(drawn, "from-store", "tank").value == 3 and drawn.useful == 17
    assert drawn.sources_total() == pytest.approx(27) and drawn.sinks_total() == pytest.approx(27)
    # a tank kWh from volume and mean temperatures: 500 L warmed by 2 K
    assert energy.tank_energy_kwh(500, 40.0, 42.0) == pytest.approx(500 * 4.186 * 2 / 3600)


@pytest.mark.parametrize(("change", "target", "amount"), [
    ({"ups1__output__power": 900.0}, "it", 50.0),  # IT above the metered feed
    ({"heat1__loop__thermal_power": 1000.0}, "captured", 50.0),  # captured above IT
    ({"heat1__dump__thermal_power": 700.0}, "dumped", 100.0),  # dumped above captured
])
def test_numbers_that_do_not_add_up_become_an_unaccounted_band(change: dict[str, float], target: str,
                                                                 amount: float) -> None:
    b = energy.balance(energy.plan(_site(), [], period=False), _vals(**{**LIVE, **change}))
    un = [f for f in b.flows if f.tone == "unaccounted"]
    assert [(f.target, f.value) for f in un] == [(target, amount)] and b.unaccounted == amount
    assert all(f.value is None or f.value >= 0 for f in b.flows)
    assert b.sources_total() == pytest.approx(b.sinks_total())
    # every node passes on what it gets: in = out at each one
    for n in b.nodes:
        ins = sum(f.value or 0 for f in b.flows if f.target == n.id)
        outs = sum(f.value or 0 for f in b.flows if f.source == n.id)
        assert ins == pytest.approx(outs) or not ins or not outs, n.id
    assert b.node_total("it") == 950
    assert any(n.startswith("unaccounted 50 W") or n.startswith("unaccounted 100 W") for n in b.notes)


def test_storage_above_what_reached_the_tank_is_unaccounted() -> None:
    p = energy.plan(_site(), [], period=True)
    vals = _vals(ups1__output__power=24.0, srv1__chassis__power=7.0, srv2__chassis__power=7.0,
                 srv3__chassis__power=8.0, heat1__loop__thermal_power=15.0, heat1__dump__thermal_power=1.0)
    b = energy.balance(p, vals, stored=Sample(16.0))
    assert b.useful == 0 and b.unaccounted == 2 and _flow(b, "unacc-tank", "tank").value == 2
    assert b.sources_total() == pytest.approx(b.sinks_total()) == pytest.approx(26)


def test_missing_series_fall_back_or_show_as_no_data() -> None:
    site = _site()
    known = ["srv2/psu1/power", "srv2/psu2/power"]
    p = energy.plan(site, known, period=False)
    # srv2 has no chassis power but two PSUs; srv3 has nothing at all; no loop meter but coolant
    vals = _vals(ups1__output__power=1000.0, srv1__chassis__power=300.0, srv2__psu1__power=150.0,
                 srv2__psu2__power=160.0, srv1__coolant__thermal_power=100.0, srv2__coolant__thermal_power=110.0)
    b = energy.balance(p, vals)
    assert b.it == 610  # 300 + PSUs 150 + 160; srv3 missing (named)
    assert "IT srv3: no reading" in b.notes
    assert b.captured == 210  # only two of three coolant meters: partial, marked
    assert _flow(b, "it", "captured").stale and any("no srv3/coolant/thermal_power" in n for n in b.notes)
    assert _flow(b, "captured", "dumped").value is None and "dry cooler: not metered, taken as 0" in b.notes
    assert _flow(b, "in", "it").stale  # a server missing: the IT band is not a confident number
    # nothing at all: every band is a "no data" stub, nothing raises
    empty = energy.balance(p, {})
    assert all(f.value is None for f in empty.flows)
    assert empty.capture_fraction is None and empty.it is None
    assert all(f.label.startswith("no data") for f in empty.flows)


def test_stale_live_values_mark_their_bands_with_the_age() -> None:
    p = energy.plan(_site(), [], period=False)
    series = [(k.replace("__", "/"), v, True, 2.0) for k, v in LIVE.items()]
    series[4] = ("heat1/loop/thermal_power", 600.0, False, 3720.0)  # the heat meter stopped an hour ago
    series.append(("ups1/ups/state", "online", True, 1.0))  # text is not a value
    vals = energy.live_samples(series)
    assert "ups1/ups/state" not in vals
    b = energy.balance(p, vals)
    assert _flow(b, "it", "captured").stale and not _flow(b, "in", "losses").stale
    assert any("heat1/loop/thermal_power: 1 h old" in n for n in b.notes)


def test_period_samples_mark_short_coverage() -> None:
    got = energy.period_samples({"a/b/power": Integral("a/b/power", 5.0, 8640.0, 100, "1m"),
                                 "c/d/power": Integral("c/d/power", 1.0, 86000.0, 100, "1m"),
                                 "e/f/power": Integral("e/f/power", 0.0, 0.0, 0, "")}, 86400.0)
    assert got["a/b/power"] == Sample(5.0, True, "data for 10 % of the period")
    assert got["c/d/power"] == Sample(1.0)
    assert "e/f/power" not in got


def test_live_balance_from_the_demo_equals_the_sums_of_its_series() -> None:
    site = demo_site_model()
    live = LiveSite(site)
    feeder = DemoFeeder(live)
    for _ in range(5):
        feeder.step(300)
    states = live.series()
    p = energy.plan(site, [s.key for s in states], period=False)
    b = energy.balance(p, energy.live_samples([(s.key, s.value, s.live, s.age) for s in states]))

    def v(key: str) -> float:
        s = live.get(key)
        assert s is not None and isinstance(s.value, float | int)
        return float(s.value)

    assert b.electricity_in == v("ups1/output/power")
    assert b.it == pytest.approx(sum(v(f"{s}/chassis/power") for s in site.heat_path.servers))
    assert b.captured == v("heat1/loop/thermal_power") and b.dumped == v("heat1/dump/thermal_power")
    # the UPS reads whole watts: its small disagreement with the BMCs is tolerated, not a band
    assert b.sources_total() + b.tolerated == pytest.approx(b.sinks_total())
    assert b.tolerated <= 0.02 * (b.it or 0) and b.unaccounted == 0
    assert 0 < (b.capture_fraction or 0) < 1 and not any(f.stale for f in b.flows)


def test_slug_and_formatting() -> None:
    assert energy.slug("Hot water") == "hot_water" and energy.slug(" Dry-cooler 2 ") == "dry_cooler_2"
    assert [energy.fmt(x, "W") for x in (553.2, 12_345.0, None)] == ["553 W", "12.35 kW", "no data"]
    assert [energy.fmt(x, "kWh") for x in (0.421, 31.24, 1204.0)] == ["0.42 kWh", "31.2 kWh", "1,204 kWh"]


def test_small_meter_disagreements_are_tolerated_not_drawn() -> None:
    p = energy.plan(_site(), [], period=False)
    b = energy.balance(p, _vals(**{**LIVE, "ups1__output__power": 940.0}))  # IT 950: 1 % above the feed
    assert b.unaccounted == 0 and b.tolerated == 10 and not any(f.tone == "unaccounted" for f in b.flows)
    assert b.losses == 0 and _flow(b, "in", "it").value == 940
    assert b.sources_total() + b.tolerated == pytest.approx(b.sinks_total())


def test_a_fresh_fallback_beats_a_stale_first_choice() -> None:
    site = _site()
    p = energy.plan(site, [], period=False)
    vals = _vals(**LIVE, pdu1__outlet3__power=352.0)
    vals["srv3/chassis/power"] = Sample(350.0, True, "10 min old")  # its BMC stopped answering
    b = energy.balance(p, vals)
    assert b.it == 952 and "IT srv3 from pdu1/outlet3/power" in b.notes
    assert not _flow(b, "in", "it").stale
    del vals["pdu1/outlet3/power"]  # no fallback: the stale value, marked
    b = energy.balance(p, vals)
    assert b.it == 950 and _flow(b, "in", "it").stale
    assert "IT srv3 stale (srv3/chassis/power: 10 min old)" in b.notes


def test_named_periods_in_the_site_time_zone() -> None:
    import datetime as dt

    from console import energy_periods as ep

    tz = ep.zone("Europe/Berlin")
    now = dt.datetime(2025, 1, 15, 6, 30, tzinfo=tz).timestamp()
    assert ep.bounds("Today", now, tz) == (dt.datetime(2025, 1, 15, tzinfo=tz).timestamp(), now)
    assert ep.bounds("Last 24 h", now, tz) == (now - 86400, now)
    assert ep.bounds("Season so far", now, tz)[0] == dt.datetime(2024, 9, 1, tzinfo=tz).timestamp()
    assert ep.bounds("Season so far", now + 240 * 86400, tz)[0] == dt.datetime(2025, 9, 1, tzinfo=tz).timestamp()
    with pytest.raises(ValueError, match="no fixed bounds"):
        ep.bounds("Live", now, tz)
    assert ep.zone("Nowhere/Atlantis") == dt.UTC
    assert ep.describe(now - 86400, now, tz) == "14 Jan 06:30 – 15 Jan 06:30"


def test_tank_storage_from_the_mean_of_its_layers() -> None:
    p = energy.plan(_site(), [], period=True)  # the demo tank: 500 L, three layer sensors
    keys = p.tank_keys
    assert keys == ("heat1/tank_top/temperature", "heat1/tank_mid/temperature", "heat1/tank_bottom/temperature")
    start, end = 0.0, 86400.0
    fl = {k: (60.0, t0, end - 60, t0 + 2) for k, t0 in zip(keys, (40.0, 35.0, 30.0), strict=True)}
    got = energy.tank_stored(p, fl, start, end)
    assert got.value == pytest.approx(500 * 4.186 * 2 / 3600) and not got.stale  # 1.16 kWh
    assert energy.tank_means(p, fl) == (35.0, 37.0)
    late = {**fl, keys[0]: (43200.0, 40.0, end - 60, 42.0)}  # the top sensor only from midday
    assert energy.tank_stored(p, late, start, end).stale
    missing = energy.tank_stored(p, {k: fl[k] for k in keys[:2]}, start, end)
    assert missing.value is None and "no heat1/tank_bottom/temperature" in missing.note
