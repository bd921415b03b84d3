"""The faults the demo site can be put into, and what each one does to the physics."""
from __future__ import annotations

FAULTS: dict[str, str] = {
    "pump-failure": "The loop pump stops (flow 0): the servers' coolant heats up, GPUs throttle, "
    "the controller raises pump_fault and low_flow.",
    "valve-stuck": "The radiator mixing valve ignores its setpoint and stays where it is; "
    "the controller raises valve_fault when setpoint and position disagree.",
    "tank-sensor-stuck": "The tank top sensor keeps its last value while the true temperature "
    "moves on; the dump logic works from the frozen value; sensor_fault after 15 min.",
    "bmc-unreachable": "One server's BMC stops answering (default srv3); the server keeps running.",
    "ups-on-battery": "Mains lost: the UPS runs the PDU from its battery, charge falls, runtime "
    "follows the load; when the battery is empty the UPS output goes off.",
    "outlet-tripped": "One PDU outlet goes off (default outlet 2): that server loses power and heat.",
    "no-heat-demand": "The consumers draw nothing (radiators and hot water): the tank heats up to "
    "its limit and the dump (dry cooler) has to open.",
}


def check(fault: str) -> str:
    """Return ``fault`` if it is a known fault name, else raise ValueError."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join(sorted(FAULTS))}")
    return fault
