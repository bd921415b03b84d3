"""The demo BMC's Redfish resource tree, rendered from one ServerView.

Pure functions (no I/O, no threads) so the tree is rebuilt from the current view on every
request: values never go stale and a PATCH is visible on the next GET. The service publishes
the legacy ``Thermal``/``Power`` model *and* the new ``ThermalSubsystem``/``PowerSubsystem``/
``EnvironmentMetrics``/``Sensors``/``Controls`` model side by side, as many real BMCs do, so
clients can be tested against both. Schema versions are the newest in DMTF 2025.4.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from protocols.demo_views import GpuView, PsuView, ServerView

ROOT = "/redfish/v1"
SYSTEM_ID = "1"
CHASSIS_ID = "1"
SYSTEM = f"{ROOT}/Systems/{SYSTEM_ID}"
CHASSIS = f"{ROOT}/Chassis/{CHASSIS_ID}"
MANAGER = f"{ROOT}/Managers/BMC"
# The demo BMC's own firmware and the host's BIOS: fixed, plausible, shown on device pages.
BMC_MODEL = "heatrack demo BMC"
BMC_FIRMWARE = "2.14.0"
BIOS_VERSION = "HR-BIOS 1.9.2 (2026-03-04)"
SENSORS = f"{CHASSIS}/Sensors"
POWER_LIMIT_CONTROL = f"{CHASSIS}/Controls/PowerLimit"
COOLANT_CONNECTOR_ID = "1"
SESSION_TIMEOUT_S = 1800  # idle seconds before a session token expires
# Fans report RPM; SpeedPercent is RPM relative to this nominal full speed.
FAN_MAX_RPM = 16000.0

# Newest published version of every versioned schema the tree uses (DMTF 2025.4 CSDL).
VERSIONS: dict[str, str] = {
    "ServiceRoot": "v1_20_0",
    "SessionService": "v1_2_0",
    "Session": "v1_8_0",
    "AccountService": "v1_18_1",
    "ComputerSystem": "v1_27_0",
    "Manager": "v1_24_0",
    "Processor": "v1_22_0",
    "ProcessorMetrics": "v1_7_0",
    "EnvironmentMetrics": "v1_5_0",
    "Chassis": "v1_28_0",
    "Thermal": "v1_7_3",
    "Power": "v1_7_3",
    "ThermalSubsystem": "v1_5_0",
    "ThermalMetrics": "v1_3_2",
    "Fan": "v1_6_0",
    "CoolantConnector": "v1_3_0",
    "PowerSubsystem": "v1_1_3",
    "PowerSupply": "v1_6_0",
    "PowerSupplyMetrics": "v1_2_0",
    "Sensor": "v1_12_0",
    "Control": "v1_7_0",
}
COLLECTIONS = (
    "ComputerSystemCollection", "ChassisCollection", "SessionCollection", "ProcessorCollection",
    "ManagerCollection", "FanCollection", "CoolantConnectorCollection", "PowerSupplyCollection", "SensorCollection",
    "ControlCollection",
)
# The newest ServiceRoot namespace that (re)defines the EntityContainer: v1_20_0 adds none.
SERVICE_CONTAINER_NS = "ServiceRoot.v1_19_0"
# Schemas referenced only through types inside payloads (excerpts, enums, errors).
SUPPORT_SCHEMAS: dict[str, tuple[str, ...]] = {
    "Resource": ("Resource", "Resource.v1_23_0"),
    "RedfishExtensions": ("RedfishExtensions.v1_0_0",),
    "PhysicalContext": ("PhysicalContext",),
    "Message": ("Message", "Message.v1_3_0"),
    "RedfishError": ("RedfishError.v1_0_2",),
}

_OK = {"State": "Enabled", "Health": "OK"}

# NVML clock-event bits -> Redfish Processor.ThrottleCause.
_THROTTLE_BITS = (
    (0x04 | 0x80, "PowerLimit"),  # SwPowerCap, HwPowerBrakeSlowdown
    (0x20 | 0x40, "ThermalLimit"),  # SwThermalSlowdown, HwThermalSlowdown
    (0x02 | 0x100, "ClockLimit"),  # ApplicationsClocksSetting, DisplayClockSetting
    (0x08, "Unknown"),  # HwSlowdown: thermal or power brake, NVML does not say
)


def odata_type(schema: str, type_name: str | None = None) -> str:
    """``#Chassis.v1_28_0.Chassis`` for versioned schemas, ``#XCollection.XCollection`` else."""
    name = type_name or schema
    if schema in VERSIONS:
        return f"#{schema}.{VERSIONS[schema]}.{name}"
    return f"#{schema}.{name}"


def resource(uri: str, schema: str, rid: str, name: str, **props: Any) -> dict[str, Any]:
    kind = _KINDS.get(schema)
    if kind is None:
        kind = _KINDS[schema] = (odata_type(schema), f"{ROOT}/$metadata#{schema}.{schema}")
    return {
        "@odata.id": uri,
        "@odata.type": kind[0],
        "@odata.context": kind[1],
        "Id": rid,
        "Name": name,
        **props,
    }


# schema -> (@odata.type, @odata.context) of its resources: VERSIONS is fixed at import
_KINDS: dict[str, tuple[str, str]] = {}


def collection(uri: str, schema: str, name: str, members: Iterable[str]) -> dict[str, Any]:
    links = [{"@odata.id": m} for m in members]
    return {
        "@odata.id": uri,
        "@odata.type": odata_type(schema),
        "@odata.context": f"{ROOT}/$metadata#{schema}.{schema}",
        "Name": name,
        "Members@odata.count": len(links),
        "Members": links,
    }


def link(uri: str) -> dict[str, str]:
    return {"@odata.id": uri}


def excerpt(reading: float | None, sensor_id: str, **extra: Any) -> dict[str, Any]:
    """A Sensor excerpt whose DataSourceUri is a Sensor that really exists in the tree."""
    if extra:
        return {"Reading": reading, "DataSourceUri": f"{SENSORS}/{sensor_id}", **extra}
    return {"Reading": reading, "DataSourceUri": f"{SENSORS}/{sensor_id}"}


def fan_percent(rpm: float) -> float:
    return round(min(100.0, max(0.0, rpm / FAN_MAX_RPM * 100.0)), 1)


def heat_removed_kw(view: ServerView) -> float:
    """Heat carried by the coolant: flow (L/min ~ kg/min of water) x 4.186 kJ/(kg K) x dT."""
    return round(view.coolant_flow_lpm / 60.0 * 4.186 * (view.coolant_return_c - view.coolant_supply_c), 3)


def _stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "heatrack-demo:" + ":".join(parts)))


def _gpu_uuid(gpu: GpuView) -> str:
    """NVML UUIDs look like ``GPU-<uuid>``; Redfish wants the bare RFC 4122 form."""
    raw = gpu.uuid.removeprefix("GPU-").removeprefix("MIG-")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return _stable_uuid("gpu", gpu.uuid)


def throttle_causes(mask: int) -> list[str]:
    return [cause for bits, cause in _THROTTLE_BITS if mask & bits]


# --- sensors --------------------------------------------------------------------------------

_UNITS = {"Temperature": "Cel", "Power": "W", "EnergykWh": "kW.h", "EnergyJoules": "J",
          "Voltage": "V", "LiquidFlowLPM": "L/min", "Percent": "%", "Heat": "kW"}


def _sensor(sid: str, name: str, reading_type: str, reading: float | None, context: str,
            related: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    body = resource(f"{SENSORS}/{sid}", "Sensor", sid, name, ReadingType=reading_type,
                    Reading=reading, ReadingUnits=_UNITS[reading_type], PhysicalContext=context,
                    Status=dict(_OK), **extra)
    items = [link(u) for u in related]
    if items:
        body["RelatedItem"] = items
    return body


def sensors(view: ServerView) -> list[dict[str, Any]]:
    """One Sensor per reading; every excerpt elsewhere in the tree points at one of these."""
    out = [
        _sensor("IntakeTemp", "Intake Temperature", "Temperature", view.inlet_c, "Intake", [CHASSIS]),
        _sensor("ExhaustTemp", "Exhaust Temperature", "Temperature", view.exhaust_c, "Exhaust", [CHASSIS]),
    ]
    for i, t in enumerate(view.cpu_temps_c, 1):
        out.append(_sensor(f"CPU{i}Temp", f"CPU {i} Temperature", "Temperature", t, "CPU",
                           [f"{SYSTEM}/Processors/CPU{i}"]))
    for i, rpm in enumerate(view.fans_rpm, 1):
        out.append(_sensor(f"Fan{i}", f"Fan {i} Speed", "Percent", fan_percent(rpm), "Fan",
                           [f"{CHASSIS}/ThermalSubsystem/Fans/Fan{i}"], SpeedRPM=rpm))
    out += [
        _sensor("TotalPower", "Chassis Input Power", "Power", view.chassis_power_w, "Chassis", [CHASSIS]),
        _sensor("TotalEnergy", "Chassis Input Energy", "EnergykWh", view.energy_kwh, "Chassis", [CHASSIS]),
    ]
    for psu in view.psus:
        rel = [f"{CHASSIS}/PowerSubsystem/PowerSupplies/{psu.id}"]
        out += [
            _sensor(f"{psu.id}InputPower", f"{psu.id} Input Power", "Power", psu.input_w, "PowerSupply", rel),
            _sensor(f"{psu.id}OutputPower", f"{psu.id} Output Power", "Power", psu.output_w, "PowerSupply", rel),
            _sensor(f"{psu.id}InputVoltage", f"{psu.id} Input Voltage", "Voltage", psu.input_v, "PowerSupply",
                    rel, VoltageType="AC"),
            _sensor(f"{psu.id}Energy", f"{psu.id} Input Energy", "EnergykWh", psu.energy_kwh, "PowerSupply", rel),
        ]
    rel = [f"{CHASSIS}/ThermalSubsystem/CoolantConnectors/{COOLANT_CONNECTOR_ID}"]
    out += [
        _sensor("CoolantSupplyTemp", "Coolant Supply Temperature", "Temperature", view.coolant_supply_c,
                "LiquidInlet", rel),
        _sensor("CoolantReturnTemp", "Coolant Return Temperature", "Temperature", view.coolant_return_c,
                "LiquidOutlet", rel),
        _sensor("CoolantDeltaTemp", "Coolant Temperature Rise", "Temperature",
                round(view.coolant_return_c - view.coolant_supply_c, 3), "CoolingSubsystem", rel),
        _sensor("CoolantFlow", "Coolant Flow", "LiquidFlowLPM", view.coolant_flow_lpm, "CoolingSubsystem", rel),
        _sensor("CoolantHeat", "Heat Removed by Coolant", "Heat", heat_removed_kw(view), "CoolingSubsystem", rel),
    ]
    for g in view.gpus:
        rel = [f"{SYSTEM}/Processors/GPU{g.index}"]
        out += [
            _sensor(f"GPU{g.index}Temp", f"GPU {g.index} Temperature", "Temperature", g.temperature_c, "GPU", rel),
            _sensor(f"GPU{g.index}Power", f"GPU {g.index} Power", "Power", g.power_w, "GPU", rel),
            _sensor(f"GPU{g.index}Energy", f"GPU {g.index} Energy", "EnergyJoules", g.energy_j, "GPU", rel),
        ]
    return out


# --- the tree -------------------------------------------------------------------------------

def build_tree(view: ServerView, sessions: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every resource of the service keyed by its @odata.id. ``sessions``: id -> user name."""
    tree: dict[str, dict[str, Any]] = {}

    def add(body: dict[str, Any]) -> None:
        tree[body["@odata.id"]] = body

    add(_service_root(view))
    _add_sessions(add, sessions)
    add(resource(f"{ROOT}/AccountService", "AccountService", "AccountService", "Account Service",
                 ServiceEnabled=True, Status=dict(_OK)))
    add(collection(f"{ROOT}/Systems", "ComputerSystemCollection", "Computer System Collection", [SYSTEM]))
    add(collection(f"{ROOT}/Chassis", "ChassisCollection", "Chassis Collection", [CHASSIS]))
    add(collection(f"{ROOT}/Managers", "ManagerCollection", "Manager Collection", [MANAGER]))
    add(manager(view))
    _add_system(add, view)
    _add_chassis(add, view)
    return tree


def _service_root(view: ServerView) -> dict[str, Any]:
    return resource(
        ROOT, "ServiceRoot", "RootService", "Root Service",
        RedfishVersion="1.20.0",
        UUID=_stable_uuid("bmc", view.id, view.serial),
        Vendor="heatrack demo",
        Product=view.model,
        ProtocolFeaturesSupported={
            "ExpandQuery": {"ExpandAll": False, "Levels": False, "Links": False, "NoLinks": False},
            "SelectQuery": False, "FilterQuery": False, "OnlyMemberQuery": False,
            "ExcerptQuery": False,
        },
        Systems=link(f"{ROOT}/Systems"),
        Chassis=link(f"{ROOT}/Chassis"),
        Managers=link(f"{ROOT}/Managers"),
        SessionService=link(f"{ROOT}/SessionService"),
        AccountService=link(f"{ROOT}/AccountService"),
        Links={"Sessions": link(f"{ROOT}/SessionService/Sessions")},
    )


def _add_sessions(add: Any, sessions: dict[str, str]) -> None:
    base = f"{ROOT}/SessionService/Sessions"
    add(resource(f"{ROOT}/SessionService", "SessionService", "SessionService", "Session Service",
                 ServiceEnabled=True, SessionTimeout=SESSION_TIMEOUT_S, Status=dict(_OK),
                 Sessions=link(base)))
    add(collection(base, "SessionCollection", "Session Collection", [f"{base}/{s}" for s in sessions]))
    for sid, user in sessions.items():
        add(session_body(sid, user))


def session_body(sid: str, user: str) -> dict[str, Any]:
    return resource(f"{ROOT}/SessionService/Sessions/{sid}", "Session", sid, "User Session",
                    UserName=user, Password=None, SessionType="Redfish")


def _add_system(add: Any, view: ServerView) -> None:
    procs = f"{SYSTEM}/Processors"
    cpu_ids = [f"CPU{i}" for i in range(1, len(view.cpu_temps_c) + 1)]
    gpu_ids = [f"GPU{g.index}" for g in view.gpus]
    add(resource(
        SYSTEM, "ComputerSystem", SYSTEM_ID, view.name,
        SystemType="Physical",
        Manufacturer="heatrack demo",
        Model=view.model,
        SerialNumber=view.serial,
        BiosVersion=BIOS_VERSION,
        UUID=_stable_uuid("system", view.id, view.serial),
        HostName=view.id,
        PowerState="On" if view.powered else "Off",
        Status=dict(_OK),
        ProcessorSummary={"Count": len(cpu_ids)},
        Processors=link(procs),
        Links={"Chassis": [link(CHASSIS)]},
    ))
    add(collection(procs, "ProcessorCollection", "Processor Collection",
                   [f"{procs}/{p}" for p in cpu_ids + gpu_ids]))
    for i, (pid, temp) in enumerate(zip(cpu_ids, view.cpu_temps_c, strict=True)):
        uri = f"{procs}/{pid}"
        add(resource(uri, "Processor", pid, f"CPU {i + 1}", ProcessorType="CPU", Socket=f"CPU {i + 1}",
                     Status=dict(_OK), EnvironmentMetrics=link(f"{uri}/EnvironmentMetrics"),
                     Links={"Chassis": link(CHASSIS)}))
        add(cpu_environment(i + 1, temp))
    for g in view.gpus:
        _add_gpu(add, f"{procs}/GPU{g.index}", g)


def manager(view: ServerView) -> dict[str, Any]:
    """The BMC itself: its model and firmware (what a device page shows as the firmware)."""
    return resource(
        MANAGER, "Manager", "BMC", "Manager",
        ManagerType="BMC",
        Model=BMC_MODEL,
        FirmwareVersion=BMC_FIRMWARE,
        UUID=_stable_uuid("manager", view.id, view.serial),
        Status=dict(_OK),
        Links={"ManagerForServers": [link(SYSTEM)], "ManagerForChassis": [link(CHASSIS)]},
    )


def _add_gpu(add: Any, uri: str, g: GpuView) -> None:
    causes = throttle_causes(g.throttle_reasons)
    add(resource(
        uri, "Processor", f"GPU{g.index}", f"GPU {g.index}",
        ProcessorType="GPU", Model=g.name, UUID=_gpu_uuid(g), Socket=f"GPU {g.index}",
        Status=dict(_OK), Throttled=bool(causes), ThrottleCauses=causes,
        EnvironmentMetrics=link(f"{uri}/EnvironmentMetrics"),
        Metrics=link(f"{uri}/ProcessorMetrics"),
        Links={"Chassis": link(CHASSIS)},
    ))
    add(gpu_environment(uri, g))
    add(resource(f"{uri}/ProcessorMetrics", "ProcessorMetrics", "ProcessorMetrics",
                 f"GPU {g.index} Metrics", BandwidthPercent=g.utilization_pct))


def _add_chassis(add: Any, view: ServerView) -> None:
    add(resource(
        CHASSIS, "Chassis", CHASSIS_ID, view.name,
        ChassisType="RackMount",
        Manufacturer="heatrack demo",
        Model=view.model,
        SerialNumber=view.serial,
        PowerState="On" if view.powered else "Off",
        Status=dict(_OK),
        Thermal=link(f"{CHASSIS}/Thermal"),
        Power=link(f"{CHASSIS}/Power"),
        ThermalSubsystem=link(f"{CHASSIS}/ThermalSubsystem"),
        PowerSubsystem=link(f"{CHASSIS}/PowerSubsystem"),
        EnvironmentMetrics=link(f"{CHASSIS}/EnvironmentMetrics"),
        Sensors=link(SENSORS),
        Controls=link(f"{CHASSIS}/Controls"),
        Links={"ComputerSystems": [link(SYSTEM)]},
    ))
    add(legacy_thermal(view))
    add(legacy_power(view))
    _add_thermal_subsystem(add, view)
    _add_power_subsystem(add, view)
    add(chassis_environment(view))
    all_sensors = sensors(view)
    add(collection(SENSORS, "SensorCollection", "Sensor Collection", [s["@odata.id"] for s in all_sensors]))
    for s in all_sensors:
        add(s)
    add(collection(f"{CHASSIS}/Controls", "ControlCollection", "Control Collection", [POWER_LIMIT_CONTROL]))
    add(power_limit_control(view))


def legacy_thermal(view: ServerView) -> dict[str, Any]:
    uri = f"{CHASSIS}/Thermal"
    temps: list[tuple[str, float, str, str]] = [
        ("Inlet Temp", view.inlet_c, "Intake", CHASSIS),
        ("Exhaust Temp", view.exhaust_c, "Exhaust", CHASSIS),
    ]
    temps += [(f"CPU{i} Temp", t, "CPU", f"{SYSTEM}/Processors/CPU{i}")
              for i, t in enumerate(view.cpu_temps_c, 1)]
    temps += [(f"GPU{g.index} Temp", g.temperature_c, "GPU", f"{SYSTEM}/Processors/GPU{g.index}")
              for g in view.gpus]
    return resource(
        uri, "Thermal", "Thermal", "Thermal",
        Temperatures=[
            {"@odata.id": f"{uri}#/Temperatures/{n}", "MemberId": str(n), "Name": name,
             "ReadingCelsius": value, "PhysicalContext": ctx, "Status": dict(_OK),
             "RelatedItem": [link(rel)]}
            for n, (name, value, ctx, rel) in enumerate(temps)
        ],
        Fans=[
            {"@odata.id": f"{uri}#/Fans/{n}", "MemberId": str(n), "Name": f"Fan {n + 1}",
             "Reading": round(rpm), "ReadingUnits": "RPM", "PhysicalContext": "Backplane",
             "Status": dict(_OK), "RelatedItem": [link(CHASSIS)]}
            for n, rpm in enumerate(view.fans_rpm)
        ],
    )


def legacy_power(view: ServerView) -> dict[str, Any]:
    uri = f"{CHASSIS}/Power"
    return resource(
        uri, "Power", "Power", "Power",
        PowerControl=[{
            "@odata.id": f"{uri}#/PowerControl/0", "MemberId": "0", "Name": "Chassis Power Control",
            "PowerConsumedWatts": view.chassis_power_w,
            "PowerCapacityWatts": view.power_limit_max_w,
            "PowerLimit": {"LimitInWatts": view.power_limit_w, "LimitException": "NoAction"},
            "RelatedItem": [link(SYSTEM), link(CHASSIS)],
            "Status": dict(_OK),
        }],
        PowerSupplies=[
            {"@odata.id": f"{uri}#/PowerSupplies/{n}", "MemberId": str(n), "Name": psu.id,
             "PowerSupplyType": "AC", "LineInputVoltage": psu.input_v,
             "PowerInputWatts": psu.input_w, "LastPowerOutputWatts": psu.output_w,
             "Status": dict(_OK), "RelatedItem": [link(CHASSIS)]}
            for n, psu in enumerate(view.psus)
        ],
    )


def _add_thermal_subsystem(add: Any, view: ServerView) -> None:
    base = f"{CHASSIS}/ThermalSubsystem"
    add(resource(base, "ThermalSubsystem", "ThermalSubsystem", "Thermal Subsystem", Status=dict(_OK),
                 Fans=link(f"{base}/Fans"), ThermalMetrics=link(f"{base}/ThermalMetrics"),
                 CoolantConnectors=link(f"{base}/CoolantConnectors")))
    add(thermal_metrics(view))
    fan_ids = [f"Fan{i}" for i in range(1, len(view.fans_rpm) + 1)]
    add(collection(f"{base}/Fans", "FanCollection", "Fan Collection", [f"{base}/Fans/{f}" for f in fan_ids]))
    for fid, rpm in zip(fan_ids, view.fans_rpm, strict=True):
        add(fan(fid, rpm))
    cc = f"{base}/CoolantConnectors"
    add(collection(cc, "CoolantConnectorCollection", "Coolant Connector Collection",
                   [f"{cc}/{COOLANT_CONNECTOR_ID}"]))
    add(coolant_connector(view))


def thermal_metrics(view: ServerView) -> dict[str, Any]:
    readings = [excerpt(view.inlet_c, "IntakeTemp", DeviceName="Intake"),
                excerpt(view.exhaust_c, "ExhaustTemp", DeviceName="Exhaust")]
    readings += [excerpt(t, f"CPU{i}Temp", DeviceName=f"CPU{i}") for i, t in enumerate(view.cpu_temps_c, 1)]
    readings += [excerpt(g.temperature_c, f"GPU{g.index}Temp", DeviceName=f"GPU{g.index}") for g in view.gpus]
    return resource(
        f"{CHASSIS}/ThermalSubsystem/ThermalMetrics", "ThermalMetrics", "ThermalMetrics",
        "Chassis Thermal Metrics",
        TemperatureSummaryCelsius={"Intake": excerpt(view.inlet_c, "IntakeTemp"),
                                   "Exhaust": excerpt(view.exhaust_c, "ExhaustTemp")},
        TemperatureReadingsCelsius=readings,
    )


def coolant_connector(view: ServerView) -> dict[str, Any]:
    cid = COOLANT_CONNECTOR_ID
    return resource(
        f"{CHASSIS}/ThermalSubsystem/CoolantConnectors/{cid}", "CoolantConnector", cid, "Cold Plate Loop",
        CoolantConnectorType="Closed", Status=dict(_OK),
        SupplyTemperatureCelsius=excerpt(view.coolant_supply_c, "CoolantSupplyTemp"),
        ReturnTemperatureCelsius=excerpt(view.coolant_return_c, "CoolantReturnTemp"),
        DeltaTemperatureCelsius=excerpt(round(view.coolant_return_c - view.coolant_supply_c, 3),
                                        "CoolantDeltaTemp"),
        FlowLitersPerMinute=excerpt(view.coolant_flow_lpm, "CoolantFlow"),
        HeatRemovedkW=excerpt(heat_removed_kw(view), "CoolantHeat"),
    )


def _add_power_subsystem(add: Any, view: ServerView) -> None:
    base = f"{CHASSIS}/PowerSubsystem"
    add(resource(base, "PowerSubsystem", "PowerSubsystem", "Power Subsystem", Status=dict(_OK),
                 PowerSupplies=link(f"{base}/PowerSupplies")))
    add(collection(f"{base}/PowerSupplies", "PowerSupplyCollection", "Power Supply Collection",
                   [f"{base}/PowerSupplies/{p.id}" for p in view.psus]))
    for psu in view.psus:
        uri = f"{base}/PowerSupplies/{psu.id}"
        add(resource(uri, "PowerSupply", psu.id, f"Power Supply {psu.id}", PowerSupplyType="AC",
                     Status=dict(_OK), Metrics=link(f"{uri}/Metrics")))
        add(psu_metrics(psu))


def cpu_environment(n: int, temp: float) -> dict[str, Any]:
    return resource(f"{SYSTEM}/Processors/CPU{n}/EnvironmentMetrics", "EnvironmentMetrics",
                    "EnvironmentMetrics", f"CPU {n} Environment Metrics",
                    TemperatureCelsius=excerpt(temp, f"CPU{n}Temp"))


def gpu_environment(uri: str, g: GpuView) -> dict[str, Any]:
    """``uri``: the GPU's Processor."""
    return resource(
        f"{uri}/EnvironmentMetrics", "EnvironmentMetrics", "EnvironmentMetrics",
        f"GPU {g.index} Environment Metrics",
        TemperatureCelsius=excerpt(g.temperature_c, f"GPU{g.index}Temp"),
        PowerWatts=excerpt(g.power_w, f"GPU{g.index}Power"),
        EnergyJoules=excerpt(g.energy_j, f"GPU{g.index}Energy"),
        PowerLimitWatts={"SetPoint": g.power_limit_w, "AllowableMin": g.power_limit_min_w,
                         "AllowableMax": g.power_limit_max_w, "DefaultSetPoint": g.power_limit_default_w,
                         "ControlMode": "Automatic"},
    )


def fan(fid: str, rpm: float) -> dict[str, Any]:
    return resource(f"{CHASSIS}/ThermalSubsystem/Fans/{fid}", "Fan", fid, f"Fan {fid[3:]}",
                    PhysicalContext="Backplane", Status=dict(_OK),
                    SpeedPercent=excerpt(fan_percent(rpm), fid, SpeedRPM=rpm))


def psu_metrics(psu: PsuView) -> dict[str, Any]:
    return resource(
        f"{CHASSIS}/PowerSubsystem/PowerSupplies/{psu.id}/Metrics", "PowerSupplyMetrics", "Metrics",
        f"Metrics for {psu.id}", Status=dict(_OK),
        InputPowerWatts=excerpt(psu.input_w, f"{psu.id}InputPower"),
        OutputPowerWatts=excerpt(psu.output_w, f"{psu.id}OutputPower"),
        InputVoltage=excerpt(psu.input_v, f"{psu.id}InputVoltage"),
        EnergykWh=excerpt(psu.energy_kwh, f"{psu.id}Energy"),
    )


def reading_resources(view: ServerView) -> dict[str, Callable[[], dict[str, Any]]]:
    """Each resource that carries readings (not the Sensors), rendered on its own by the
    function ``build_tree`` uses: a GET of one of them needs no whole tree. The demo's
    fast-forward polls only these, ~200,000 times a season per BMC."""
    procs = f"{SYSTEM}/Processors"
    out: dict[str, Callable[[], dict[str, Any]]] = {
        f"{CHASSIS}/ThermalSubsystem/ThermalMetrics": functools.partial(thermal_metrics, view),
        f"{CHASSIS}/ThermalSubsystem/CoolantConnectors/{COOLANT_CONNECTOR_ID}":
            functools.partial(coolant_connector, view),
        f"{CHASSIS}/EnvironmentMetrics": functools.partial(chassis_environment, view),
        POWER_LIMIT_CONTROL: functools.partial(power_limit_control, view),
        f"{CHASSIS}/Thermal": functools.partial(legacy_thermal, view),
        f"{CHASSIS}/Power": functools.partial(legacy_power, view),
    }
    for i, rpm in enumerate(view.fans_rpm, 1):
        out[f"{CHASSIS}/ThermalSubsystem/Fans/Fan{i}"] = functools.partial(fan, f"Fan{i}", rpm)
    for psu in view.psus:
        out[f"{CHASSIS}/PowerSubsystem/PowerSupplies/{psu.id}/Metrics"] = functools.partial(psu_metrics, psu)
    for i, temp in enumerate(view.cpu_temps_c, 1):
        out[f"{procs}/CPU{i}/EnvironmentMetrics"] = functools.partial(cpu_environment, i, temp)
    for g in view.gpus:
        out[f"{procs}/GPU{g.index}/EnvironmentMetrics"] = functools.partial(gpu_environment, f"{procs}/GPU{g.index}", g)
    return out


def _control_mode(view: ServerView) -> str:
    return "Disabled" if view.power_limit_w is None else "Automatic"


def chassis_environment(view: ServerView) -> dict[str, Any]:
    return resource(
        f"{CHASSIS}/EnvironmentMetrics", "EnvironmentMetrics", "EnvironmentMetrics",
        "Chassis Environment Metrics",
        TemperatureCelsius=excerpt(view.inlet_c, "IntakeTemp"),
        PowerWatts=excerpt(view.chassis_power_w, "TotalPower"),
        EnergykWh=excerpt(view.energy_kwh, "TotalEnergy"),
        PowerLimitWatts={"SetPoint": view.power_limit_w, "AllowableMin": view.power_limit_min_w,
                         "AllowableMax": view.power_limit_max_w, "ControlMode": _control_mode(view),
                         "DataSourceUri": POWER_LIMIT_CONTROL},
        FanSpeedsPercent=[excerpt(fan_percent(rpm), f"Fan{i}", DeviceName=f"Fan {i}", SpeedRPM=rpm)
                          for i, rpm in enumerate(view.fans_rpm, 1)],
    )


def power_limit_control(view: ServerView) -> dict[str, Any]:
    return resource(
        POWER_LIMIT_CONTROL, "Control", "PowerLimit", "Chassis Power Limit",
        PhysicalContext="Chassis", ControlType="Power", ControlMode=_control_mode(view),
        SetPoint=view.power_limit_w, SetPointUnits="W",
        AllowableMin=view.power_limit_min_w, AllowableMax=view.power_limit_max_w,
        Sensor=excerpt(view.chassis_power_w, "TotalPower"),
        Status=dict(_OK),
        RelatedItem=[link(CHASSIS)],
    )


# --- OData documents ------------------------------------------------------------------------

def odata_service_document() -> dict[str, Any]:
    names = {"Systems": f"{ROOT}/Systems", "Chassis": f"{ROOT}/Chassis", "Managers": f"{ROOT}/Managers",
             "SessionService": f"{ROOT}/SessionService", "AccountService": f"{ROOT}/AccountService",
             "Sessions": f"{ROOT}/SessionService/Sessions"}
    value = [{"name": "Service", "kind": "Singleton", "url": f"{ROOT}/"}]
    value += [{"name": n, "kind": "Singleton", "url": u} for n, u in names.items()]
    return {"@odata.context": f"{ROOT}/$metadata", "value": value}


def metadata_document() -> str:
    """CSDL $metadata referencing exactly the schemas (and versions) that payloads use."""
    refs: dict[str, tuple[str, ...]] = {}
    for schema, version in VERSIONS.items():
        refs[schema] = (schema, f"{schema}.{version}")
    for schema in COLLECTIONS:
        refs[schema] = (schema,)
    refs.update(SUPPORT_SCHEMAS)
    refs["ServiceRoot"] += (SERVICE_CONTAINER_NS,)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">']
    for schema in sorted(refs):
        lines.append(f'  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/{schema}_v1.xml">')
        lines += [f'    <edmx:Include Namespace="{ns}"/>' for ns in refs[schema]]
        lines.append("  </edmx:Reference>")
    lines += [
        "  <edmx:DataServices>",
        '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">',
        f'      <EntityContainer Name="Service" Extends="{SERVICE_CONTAINER_NS}.ServiceContainer"/>',
        "    </Schema>",
        "  </edmx:DataServices>",
        "</edmx:Edmx>",
    ]
    return "\n".join(lines) + "\n"
