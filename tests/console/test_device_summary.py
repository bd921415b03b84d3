"""A device's line in the tree, from the live model alone: its state as of now (a silent device
is stale, not ok), the age of its newest data (the store's after a restart) and why it is not
answering without repeating its own name."""
from __future__ import annotations

from console.device_summary import summarise
from console.engine.coordinator import Batch, DeviceState, DeviceStatus
from console.live import LiveSite
from protocols.base import Reading
from tests.fakes.sites import three_device_site

NOW = 1_800_000_000.0


def by_id(live: LiveSite, now: float = NOW) -> dict:
    return {s.device_id: s for s in summarise(live, now)}


def test_a_restarted_site_shows_the_age_of_what_the_store_knew() -> None:
    live = LiveSite(three_device_site())
    live.seed([Reading(NOW - 300, "ups1", "battery", "charge", 99.0, "%")])
    s = by_id(live)["ups1"]
    assert s.state == "pending" and s.last_success is None and s.last_data == NOW - 300
    assert s.health == "waiting for the first poll · 1 values known from before, shown stale"
    assert by_id(live)["srv1"].last_data is None  # nothing known at all: "never"


def test_failure_reason_without_the_device_name_and_ok_going_stale() -> None:
    site = three_device_site()
    live = LiveSite(site)
    live.on_batch(Batch("srv1", (), DeviceStatus("srv1", "127.0.0.1:1", DeviceState.UNREACHABLE,
                                                 message="srv1 (127.0.0.1:1): no complete answer within 0.04 s",
                                                 consecutive_failures=4)))
    assert by_id(live)["srv1"].health == "no complete answer within 0.04 s · 4 failures in a row"
    live.on_batch(Batch("ups1", (Reading(NOW, "ups1", "battery", "charge", 99.0, "%"),),
                        DeviceStatus("ups1", "127.0.0.1:2", DeviceState.OK, last_success=NOW)))
    assert by_id(live)["ups1"].state == "ok"
    period = site.device("ups1").poll_interval
    assert by_id(live, NOW + 2.9 * period)["ups1"].state == "ok"  # under 3 periods: not yet
    late = by_id(live, NOW + 3 * period + 0.01)["ups1"]
    assert late.state == "stale" and late.health.startswith("no answer for")
