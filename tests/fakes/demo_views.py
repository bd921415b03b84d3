"""A stand-in for the demo model behind the SNMP agent: it serves UPS and PDU views and
implements DemoControl, with writes landing in the views as they do in the model."""
from __future__ import annotations

import dataclasses
from typing import Any

from protocols.demo_views import PduView, UpsView


class ViewSite:
    def __init__(self, ups: UpsView, pdu: PduView) -> None:
        self.ups = ups
        self.pdu = pdu
        self.calls: list[tuple[Any, ...]] = []

    def ups_view(self) -> UpsView:
        return dataclasses.replace(self.ups, alarms=list(self.ups.alarms))

    def pdu_view(self) -> PduView:
        return dataclasses.replace(self.pdu, outlets=[dataclasses.replace(o) for o in self.pdu.outlets])

    def set_outlet(self, pdu_id: str, outlet: int, command: str) -> None:
        self.calls.append(("set_outlet", pdu_id, outlet, command))
        if command in ("on", "off"):
            self.pdu.outlets[outlet - 1].on = command == "on"

    def ups_self_test(self, ups_id: str) -> None:
        self.calls.append(("ups_self_test", ups_id))
        self.ups.self_test_result = "in_progress"

    def set_power_limit(self, server_id: str, watts: float | None) -> None: ...
    def set_gpu_power_limit(self, host_id: str, gpu_index: int, watts: float) -> None: ...
    def heat_write(self, controller_id: str, point: str, value: float | int | bool) -> None: ...
