"""Coordinator state machine with scripted fake sources and a fake clock (no sleeps)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from console.engine.coordinator import (
    MAX_BACKOFF_S,
    STALE_PERIODS,
    Batch,
    Coordinator,
    DeviceState,
)
from protocols.base import (
    AuthFailed,
    BadData,
    CertificateChanged,
    DeviceSpec,
    Reading,
    Unreachable,
)
from tests.fakes.engine import ADDR, FakeSource, ManualClock, Outcome, make, reading, unreachable, watched

OK = [reading("d1", "inlet", 21.5), reading("d1", "exhaust", 35.0)]


def run_until(c: Coordinator, polls: int) -> list[Batch]:
    """Run the coordinator's own loop until it has polled ``polls`` times."""
    batches: list[Batch] = []

    def on(b: Batch) -> None:
        batches.append(b)
        if len(batches) >= polls:
            c.stop()

    c.add_listener(on)
    asyncio.run(asyncio.wait_for(c.run(), 5))
    return batches


# ---------------------------------------------------------------- transitions
def test_transitions_are_logged_and_recorded_once(caplog: pytest.LogCaptureFixture) -> None:
    script: list[Outcome] = [OK, unreachable(), unreachable(), unreachable("no route"), OK, OK]
    c, _, _, events = make(script)
    caplog.set_level(logging.DEBUG, logger="heatrack.engine")

    async def go() -> list[DeviceState]:
        return [(await c.poll_once()).status.state for _ in script]

    states = asyncio.run(go())
    assert states == [DeviceState.OK] + [DeviceState.UNREACHABLE] * 3 + [DeviceState.OK] * 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
    assert "connection refused" in warnings[0].getMessage() and ADDR in warnings[0].getMessage()
    assert len(infos) == 1 and "recovered" in infos[0].getMessage()
    assert [(e[1], e[3]) for e in events.events] == [("alarm", "device_unreachable"), ("info", "device_ok")]
    st = c.status()
    assert st.polls == len(script) and st.failures == 3 and st.consecutive_failures == 0
    assert st.readings == 3 * len(OK) and st.last_error and "no route" in st.last_error


def test_listeners_get_every_batch_with_status() -> None:
    c, _, _, _ = make([OK, unreachable()])
    got: list[Batch] = []
    remove = c.add_listener(got.append)

    async def go() -> None:
        await c.poll_once()
        await c.poll_once()
        remove()
        await c.poll_once()

    asyncio.run(go())
    assert [len(b.readings) for b in got] == [len(OK), 0]
    assert [b.status.state for b in got] == [DeviceState.OK, DeviceState.UNREACHABLE]
    assert got[0].status.poll_duration is not None and got[0].status.last_success is not None


def test_listener_failure_does_not_stop_polling(caplog: pytest.LogCaptureFixture) -> None:
    c, _, _, _ = make([OK])
    c.add_listener(lambda b: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="heatrack.engine"):
        batches = run_until(c, 3)
    assert len(batches) == 3 and "listener" in caplog.text


# ---------------------------------------------------------------- backoff
def test_backoff_grows_then_resets_on_success() -> None:
    script: list[Outcome] = [OK] + [unreachable()] * 5 + [OK, OK]
    c, clock, _, _ = make(script, interval=10.0)
    run_until(c, len(script))
    # delays between polls: after each poll the coordinator slept once (first poll is immediate)
    delays = clock.sleeps
    assert len(delays) == len(script) - 1
    assert delays[0] == c.interval  # ok -> normal cadence
    backed = delays[1:6]  # after 1..5 failures
    assert backed[0] == c.interval
    assert all(b == 2 * a for a, b in zip(backed, backed[1:], strict=False))  # doubling (no jitter at rng=.5)
    assert delays[6] == c.interval  # success resets


def test_backoff_is_capped_and_jittered() -> None:
    c_lo, *_ = make([OK], interval=10.0, rng=0.0, max_backoff=60.0)
    c_hi, *_ = make([OK], interval=10.0, rng=1.0, max_backoff=60.0)
    assert c_lo.backoff(3) == pytest.approx(40 * 0.9) and c_hi.backoff(3) == pytest.approx(40 * 1.1)
    assert c_lo.backoff(30) <= 60.0 and c_hi.backoff(30) == 60.0
    c_default, *_ = make([OK], interval=10.0, rng=1.0)
    assert c_default.backoff(100) == MAX_BACKOFF_S


def test_device_unreachable_for_days_keeps_being_polled_and_recovers() -> None:
    # at the 300 s cap, 1,100 failures in a row is about 3.8 days of a powered-off server:
    # the backoff must stay capped (no float overflow of interval x 2^n) and polling go on
    script: list[Outcome] = [unreachable()] * 1100 + [OK]
    c, clock, _, _ = make(script, interval=10.0)
    batches = run_until(c, len(script))
    assert len(batches) == len(script)
    assert batches[-1].status.state is DeviceState.OK
    assert max(clock.sleeps) <= MAX_BACKOFF_S
    assert c.backoff(5000) <= MAX_BACKOFF_S


def test_unreachable_status_reports_next_poll_after_backoff() -> None:
    c, clock, _, _ = make([unreachable()] * 3, interval=5.0)

    async def go() -> None:
        for _ in range(3):
            await c.poll_once()

    asyncio.run(go())
    st = c.status()
    assert st.state is DeviceState.UNREACHABLE and st.consecutive_failures == 3
    assert st.next_poll == pytest.approx(clock.wall() + c.backoff(3))


def test_poll_that_hangs_is_unreachable_within_timeout() -> None:
    class Hanging(FakeSource):
        async def poll(self) -> list[Reading]:
            await asyncio.Event().wait()
            return []

    src = Hanging(DeviceSpec("d1", "server", "redfish", ADDR), [])
    c = Coordinator("d1", ADDR, lambda: src, interval=1.0, timeout=0.02)
    b = asyncio.run(c.poll_once())
    assert b.status.state is DeviceState.UNREACHABLE and "0.02" in b.status.message


# ---------------------------------------------------------------- auth
def test_auth_failure_stops_polling_until_refresh(caplog: pytest.LogCaptureFixture) -> None:
    c, clock, sources, events = make([OK, AuthFailed("d1", ADDR, "HTTP 401"), OK])

    async def go() -> None:
        task = asyncio.create_task(c.run())
        while c.state is not DeviceState.AUTH_FAILED:
            await asyncio.sleep(0)
        polls = sources[0].polls
        for _ in range(100):  # the loop is idle: nothing is scheduled
            await asyncio.sleep(0)
        assert sources[0].polls == polls == 2 and not clock.sleeps[1:]
        assert sources[0].closed  # dropped so fixed credentials are used next time
        st = c.status()
        assert st.next_poll is None and "HTTP 401" in st.message and "stopped" not in st.message
        c.request_refresh()  # the user fixed the credentials
        while c.state is not DeviceState.OK:
            await asyncio.sleep(0)
        assert len(sources) == 2  # reopened
        c.stop()
        await task

    with caplog.at_level(logging.WARNING, logger="heatrack.engine"):
        asyncio.run(asyncio.wait_for(go(), 5))
    assert "polling stopped" in caplog.text
    assert [e[3] for e in events.events] == ["device_auth_failed", "device_ok"]


def test_certificate_change_blocks_with_its_message() -> None:
    c, _, sources, events = make([CertificateChanged("d1", ADDR, "certificate fingerprint AA:BB changed")])
    b = asyncio.run(c.poll_once())
    assert b.status.state is DeviceState.BLOCKED and "AA:BB" in b.status.message
    assert b.status.next_poll is None and sources[0].closed
    assert events.events[0][1] == "critical" and "AA:BB" in events.events[0][4]


def test_opener_failure_counts_as_poll_failure() -> None:
    def opener() -> FakeSource:
        raise AuthFailed("d1", ADDR, "credentials env:NOPE: environment variable NOPE is not set")

    c = Coordinator("d1", ADDR, opener, interval=1.0, timeout=1.0)
    b = asyncio.run(c.poll_once())
    assert b.status.state is DeviceState.AUTH_FAILED and "NOPE" in b.status.message


# ---------------------------------------------------------------- faulty / unexpected
def test_bad_data_is_faulty_and_keeps_normal_cadence() -> None:
    c, clock, _, events = make([BadData("d1", ADDR, "invalid JSON"), BadData("d1", ADDR, "x"), OK])
    batches = run_until(c, 3)
    assert [b.status.state for b in batches] == [DeviceState.FAULTY, DeviceState.FAULTY, DeviceState.OK]
    assert clock.sleeps == [c.interval, c.interval]  # no backoff for garbage
    assert [e[1] for e in events.events] == ["warning", "info"]


def test_unexpected_exception_is_faulty_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    c, _, _, _ = make([KeyError("Temperatures"), OK])
    with caplog.at_level(logging.ERROR, logger="heatrack.engine"):
        batches = run_until(c, 2)
    assert batches[0].status.state is DeviceState.FAULTY and "KeyError" in batches[0].status.message
    assert batches[1].status.state is DeviceState.OK


# ---------------------------------------------------------------- staleness
# Series staleness is decided in one place, the live model, fed by the coordinator's batches;
# the coordinator only says whether the device answered lately.
def test_series_stale_after_three_missed_periods() -> None:
    only_inlet = [reading("d1", "inlet", 22.0)]
    gone = [reading("d1", "inlet", 22.0), reading("d1", "exhaust", None)]  # None: cannot measure now
    c, clock, _, _ = make([OK, only_inlet, gone] + [only_inlet] * 5)
    live = watched(c, clock)
    exhaust = OK[1].series_key

    async def go() -> list[dict[str, str]]:
        out = []
        for _ in range(8):
            await c.poll_once()
            out.append({s.key: s.state for s in live.series("d1")})
            clock.t += c.interval
        return out

    seen = asyncio.run(go())
    # exhaust: a value at poll 0, "no value" at poll 2, then never mentioned again: stale once
    # more than STALE_PERIODS periods have passed since the device last said anything about it
    assert [x[exhaust] for x in seen] == ["ok", "ok", "no_value", "no_value", "no_value", "no_value",
                                          "stale", "stale"]
    assert all(x[OK[0].series_key] == "ok" for x in seen)
    assert c.status().state is DeviceState.OK  # the device answers: only the series is stale


def test_unreachable_device_goes_stale_everywhere_and_ok_without_polls_is_stale() -> None:
    c, clock, _, _ = make([OK, unreachable()])
    live = watched(c, clock)
    asyncio.run(c.poll_once())
    clock.t += (STALE_PERIODS + 0.5) * c.interval
    st = c.status()  # nothing polled meanwhile (a stalled loop): shown stale, not ok
    assert st.state is DeviceState.STALE and not st.available
    assert {s.key: s.state for s in live.series("d1")} == {r.series_key: "stale" for r in OK}
    b = asyncio.run(c.poll_once())  # now it fails: unreachable, its series say so
    assert b.status.state is DeviceState.UNREACHABLE
    assert {s.key: s.state for s in live.series("d1")} == {r.series_key: "unreachable" for r in OK}


# ---------------------------------------------------------------- refresh / actions
def test_refresh_is_debounced() -> None:
    c, _, sources, _ = make([OK], interval=60.0, refresh_cooldown=2.0)
    clock = ManualClock()
    c._clock, c._wall, c._sleep = clock, clock.wall, clock.sleep

    async def settle() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    async def go() -> None:
        task = asyncio.create_task(c.run())
        await settle()
        assert sources[0].polls == 1 and clock.sleeps == [60.0]
        clock.advance(0.5)
        c.request_refresh()
        c.request_refresh()  # coalesces
        await settle()
        assert sources[0].polls == 1  # within the cooldown: not yet
        assert clock.sleeps[-1] == pytest.approx(1.5)  # ... but not the whole interval either
        clock.advance(1.5)
        await settle()
        assert sources[0].polls == 2
        clock.advance(10.0)
        c.request_refresh()  # long after the last poll: immediate
        await settle()
        assert sources[0].polls == 3
        c.stop()
        await task

    asyncio.run(asyncio.wait_for(go(), 5))
    assert sources[0].closed


def test_action_runs_between_polls_and_triggers_refresh() -> None:
    c, _, sources, _ = make([OK], interval=60.0, refresh_cooldown=0.0)

    async def go() -> str:
        await c.poll_once()

        async def act(src: Any) -> str:
            return f"set on {src.spec.id}"

        result = await c.run_action(act)
        assert c.status().next_poll is not None and c.status().next_poll <= c._wall() + 0.001
        return result

    assert asyncio.run(go()) == "set on d1"


def test_action_that_hangs_fails_within_timeout_and_polling_goes_on() -> None:
    src = FakeSource(DeviceSpec("d1", "server", "redfish", ADDR), [OK])
    c = Coordinator("d1", ADDR, lambda: src, interval=1.0, timeout=0.05)

    async def go() -> Batch:
        async def hang(_: Any) -> None:
            await asyncio.Event().wait()  # a device that takes the write and never answers

        with pytest.raises(Unreachable, match="0.05"):
            await asyncio.wait_for(c.run_action(hang), 5)
        return await asyncio.wait_for(c.poll_once(), 5)  # the device lock was released

    assert asyncio.run(go()).status.state is DeviceState.OK
