"""Device identity through the engine: asked once after the first good poll and again after a
reconnect, never per poll; carried on DeviceStatus to the live model; a failing or hanging
identify never marks the device."""
from __future__ import annotations

import asyncio
import logging

import pytest

from console.engine.coordinator import DeviceState
from protocols.base import BadData, DeviceSpec, Identity, Reading, Unreachable
from tests.fakes.engine import ADDR, FakeSource, Outcome, make, reading, unreachable, watched

OK = [reading("d1", "inlet", 21.5)]
ID = Identity("Contoso", "3500RX", "437XR1138R2", "1.45")


class IdentifyingSource(FakeSource):
    """A scripted source that also answers identify() (or raises, or hangs)."""

    def __init__(self, spec: DeviceSpec, script: list[Outcome], answers: list[Identity | BaseException | None]) -> None:
        super().__init__(spec, script)
        self.answers = answers
        self.asked = 0

    async def identify(self) -> Identity:
        answer = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        if answer is None:
            await asyncio.Event().wait()  # hangs: the coordinator's timeout must end it
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, Identity)
        return answer


def coordinator(script: list[Outcome], answers: list[Identity | BaseException | None], timeout: float = 3.0):  # type: ignore[no-untyped-def]
    c, clock, _, _ = make(script, timeout=timeout)
    made: list[IdentifyingSource] = []

    def opener() -> IdentifyingSource:
        made.append(IdentifyingSource(DeviceSpec("d1", "server", "redfish", ADDR), script, answers))
        return made[-1]

    c._opener = opener
    return c, clock, made


def polls(c, n: int) -> list:  # type: ignore[no-untyped-def]
    async def go() -> list:  # type: ignore[type-arg]
        return [await c.poll_once() for _ in range(n)]

    return asyncio.run(go())


def test_asked_once_after_the_first_good_poll_and_carried_to_the_live_model() -> None:
    c, clock, made = coordinator([OK], [ID])
    live = watched(c, clock)
    assert live.device("d1").identity is None  # pending: nothing said yet
    batches = polls(c, 5)
    assert made[0].asked == 1  # five polls, one question
    assert batches[0].status.identity == ID  # the first batch already carries it
    view = live.device("d1")
    assert view.identity == ID and view.state == "ok"
    assert live.devices()[0].identity == ID


def test_asked_again_after_a_reconnect_following_a_failure() -> None:
    newer = Identity("Contoso", "3500RX", "437XR1138R2", "1.46")  # BMC firmware updated while away
    c, _, made = coordinator([OK, OK, unreachable(), unreachable(), OK, OK], [ID, newer])
    batches = polls(c, 6)
    assert made[0].asked == 2  # first good poll, then the first good poll after the failures
    assert [b.status.identity for b in batches] == [ID, ID, ID, ID, newer, newer]  # kept while away


def test_a_failing_identify_never_marks_the_device(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="heatrack.engine")
    c, clock, made = coordinator([OK], [BadData("d1", ADDR, "GET /Managers: HTTP 500")])
    live = watched(c, clock)
    batches = polls(c, 3)
    assert [b.status.state for b in batches] == [DeviceState.OK] * 3
    assert made[0].asked == 1  # not retried on every poll
    assert live.device("d1").identity is None and live.device("d1").state == "ok"
    notes = [r for r in caplog.records if "identity not read" in r.getMessage()]
    assert len(notes) == 1 and notes[0].levelno == logging.DEBUG and "HTTP 500" in notes[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_hanging_identify_is_cut_at_the_device_timeout() -> None:
    c, _, made = coordinator([OK], [None], timeout=0.05)
    batches = polls(c, 2)
    assert [b.status.state for b in batches] == [DeviceState.OK] * 2
    assert batches[-1].status.identity is None and made[0].asked == 1


def test_a_source_without_identify_is_fine() -> None:
    c, _, sources, _ = make([OK])
    (b,) = polls(c, 1)
    assert b.status.state is DeviceState.OK and b.status.identity is None and len(sources) == 1


def test_a_failed_first_poll_asks_only_once_it_answers() -> None:
    c, _, made = coordinator([unreachable(), OK], [ID])
    batches = polls(c, 3)
    assert [b.status.identity for b in batches] == [None, ID, ID] and made[0].asked == 1


def test_unexpected_identify_errors_are_contained() -> None:
    c, _, made = coordinator([OK], [RuntimeError("bug in a client")])
    (b,) = polls(c, 1)
    assert b.status.state is DeviceState.OK and b.status.identity is None


def test_readings_are_not_held_up_by_identity() -> None:
    c, _, _ = coordinator([OK], [Unreachable("d1", ADDR, "identity timed out")])
    (b,) = polls(c, 1)
    assert [r.series_key for r in b.readings] == ["d1/inlet/temperature"]
    assert isinstance(b.readings[0], Reading) and b.status.state is DeviceState.OK


# ---------------------------------------------------------------- the demo site
@pytest.mark.slow
def test_every_demo_device_says_what_it_is_over_the_wire_and_in_the_readout() -> None:
    """The live demo's servers and the in-process readout (fast-forward, the window's test
    feeder) give the same identity: one description of each device, read by the real clients."""
    from console.demo.readout import SiteReadout
    from console.demo.runner import DemoRunner
    from console.site import device_spec

    with DemoRunner(seed=3, clock=False) as runner:
        site = runner.site_model()

        async def over_the_wire(dev_id: str) -> Identity:
            dev = site.device(dev_id)
            src = runner.source_factory(device_spec(dev, runner.resolve(dev.credentials)))
            try:
                await src.poll()
                return await src.identify()
            finally:
                await src.close()

        wire = {d.id: asyncio.run(over_the_wire(d.id)) for d in site.devices}
        assert runner.site is not None
        readout = SiteReadout(runner.site).identities()
    assert readout == wire
    assert all(i.model and i.manufacturer and i.firmware for i in wire.values())
    assert {wire["srv1"].serial, wire["pdu1"].serial, wire["heat1"].serial} >= {"HR24A00101", "HR000042"}
