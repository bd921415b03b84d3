"""Water loop, stratified buffer tank, consumers, dry-cooler dump, room, and the controller.

Layout (heating convention at the heat meter: *supply* is the hot line leaving the servers,
*return* the cooled water going back to them; a server's BMC calls the latter its coolant
supply)::

    servers ─hot (supply_temp)─► heat meter ─┬─(1-b)─► tank top ─► ... ─► tank bottom ─┐
       ▲                                     └──(b)──► dry cooler (dump) ──────────────┤
       └──────────────── pump ◄──────────── return_temp (mix) ◄────────────────────────┘

    tank top ─► radiator mixing valve ─► radiators (room) ─► tank bottom
    tank top ─► fresh-water station (hot-water draws) ─► tank bottom

- The tank is three equal layers with plug flow between them (upwind, explicit; a layer that
  ends up warmer than the one above mixes with it, as buoyancy would), plus standing losses
  into the room.
- Radiators: ``Q = m c_p (T_in - T_room)(1 - exp(-UA / (m c_p)))``. Hot water: a morning
  shower and an evening draw at 45 °C from 10 °C mains, as far as the tank top allows.
- Room: one thermal mass with heat loss ``H (T_room - T_out)``, extra ventilation above 24 °C,
  a backup heater (the displaced heater) below 19.5 °C, heated by radiators, the IT air share,
  UPS losses and tank losses.
- Controller (auto, obeys writes): the pump speed holds ``supply_setpoint`` on the hot line
  (feed-forward from the heat meter, smoothed); the dump opens as the tank top nears
  ``tank_max_temp`` or the water back to the servers exceeds ``server_max_supply_c``; the
  radiator valve follows a room thermostat until ``valve_setpoint`` is written (then manual);
  ``bypass_command`` opens the dump further but never closes it below what protection needs.
- The dry cooler's outlet temperature is carried one step (transport delay), so the loop
  balance is exact: heat from the servers = tank charge + dump.
"""
from __future__ import annotations

import dataclasses
import math

from console.demo.compute import CP_WATER

RHO_WATER = 0.99  # kg/L at loop temperatures


@dataclasses.dataclass(frozen=True, slots=True)
class PlantSpec:
    id: str = "heat1"
    tank_l: float = 500.0
    tank_ua_w_k: float = 2.0
    max_flow_lpm: float = 9.0
    min_pump_frac: float = 0.25
    dry_cooler_eff: float = 0.7
    radiator_ua_w_k: float = 125.0
    radiator_max_lpm: float = 6.0
    house_h_w_k: float = 140.0  # heat-loss coefficient of the heated space
    vent_h_w_k: float = 150.0  # extra when the room is too warm (windows, ventilation)
    room_c_j_k: float = 15e6
    room_setpoint_c: float = 21.0
    backup_max_w: float = 6000.0
    dhw_temp_c: float = 45.0
    mains_c: float = 10.0
    supply_setpoint_c: float = 55.0
    tank_max_c: float = 60.0
    server_max_supply_c: float = 50.0
    low_flow_lpm: float = 1.0
    overtemp_c: float = 70.0
    valve_stroke_s: float = 90.0
    bypass_stroke_s: float = 120.0


# hot-water draws (local hour from, to, L/min)
DHW_PROFILE: tuple[tuple[float, float, float], ...] = (
    (6.75, 7.0, 8.0),  # shower
    (7.5, 7.6, 4.0),
    (12.5, 12.6, 3.0),
    (19.0, 19.25, 6.0),  # bath / dishes
    (21.5, 21.6, 4.0),
)


def dhw_lpm(local_hour: float) -> float:
    for a, b, lpm in DHW_PROFILE:
        if a <= local_hour < b:
            return lpm
    return 0.0


class Plant:
    """The heat side of the site; ``pre`` before the servers step, ``post`` after."""

    __slots__ = (
        "spec", "m_layer", "t_top", "t_mid", "t_bot", "room_c", "pump_on", "pump_frac",
        "valve_pos", "valve_sp", "valve_manual", "bypass_pos", "bypass_cmd", "bypass_auto",
        "supply_sp", "tank_max", "flow_kg_s", "t_hot", "t_ret", "t_dco", "q_loop", "q_dump",
        "q_charge", "q_rad", "q_dhw", "q_backup", "q_tank_loss", "q_room_loss",
        "thermal_energy_j", "dump_energy_j", "charge_energy_j", "rad_energy_j", "dhw_energy_j",
        "tank_loss_j", "m_tank", "top_meas", "stuck_since", "valve_bad_s",
        "pump_fault", "low_flow", "overtemp", "sensor_fault", "valve_fault",
    )

    def __init__(self, spec: PlantSpec, room_c: float = 20.5) -> None:
        self.spec = spec
        self.m_layer = spec.tank_l * RHO_WATER / 3.0
        self.t_top, self.t_mid, self.t_bot = 42.0, 36.0, 30.0
        self.room_c = room_c
        self.pump_on = True
        self.pump_frac = 0.5
        self.valve_pos = self.valve_sp = 30.0
        self.valve_manual = False
        self.bypass_pos = self.bypass_cmd = self.bypass_auto = 0.0
        self.supply_sp = spec.supply_setpoint_c
        self.tank_max = spec.tank_max_c
        self.flow_kg_s = 0.0
        self.t_hot = self.t_ret = self.t_dco = self.t_bot
        self.q_loop = self.q_dump = self.q_charge = self.q_rad = self.q_dhw = 0.0
        self.q_backup = self.q_tank_loss = self.q_room_loss = 0.0
        self.thermal_energy_j = self.dump_energy_j = 0.0
        self.charge_energy_j = self.rad_energy_j = self.dhw_energy_j = self.tank_loss_j = 0.0
        self.m_tank = 0.0
        self.top_meas = self.t_top
        self.stuck_since: float | None = None
        self.valve_bad_s = 0.0
        self.pump_fault = self.low_flow = self.overtemp = self.sensor_fault = False
        self.valve_fault = False

    @property
    def flow_lpm(self) -> float:
        return self.flow_kg_s * 60.0 / RHO_WATER

    def pre(self, dt: float, pump_failed: bool) -> tuple[float, float]:
        """Set the pump and the dump for this step; return (loop flow kg/s, water to servers °C)."""
        s = self.spec
        max_kg_s = s.max_flow_lpm * RHO_WATER / 60.0
        if self.pump_on and not pump_failed:
            span = self.supply_sp - self.t_ret
            want = self.q_loop / (CP_WATER * (span if span > 3.0 else 3.0)) / max_kg_s
            if want < s.min_pump_frac:
                want = s.min_pump_frac
            elif want > 1.0:
                want = 1.0
            if self.t_ret > s.server_max_supply_c:  # protect the servers: full flow
                want = 1.0
            self.pump_frac += (want - self.pump_frac) * dt / (dt + 120.0)
        else:
            self.pump_frac = 0.0
        self.pump_fault = self.pump_on and pump_failed
        self.flow_kg_s = self.pump_frac * max_kg_s
        # dump: protection demand, smoothed, then the operator's command on top
        top = self.top_meas
        d_tank = (top - (self.tank_max - 2.0)) / 5.0
        d_srv = (self.t_ret - s.server_max_supply_c) / 10.0
        d = d_tank if d_tank > d_srv else d_srv
        d = 0.0 if d < 0.0 else (1.0 if d > 1.0 else d)
        self.bypass_auto += (d * 100.0 - self.bypass_auto) * dt / (dt + 300.0)
        target = self.bypass_auto if self.bypass_auto > self.bypass_cmd else self.bypass_cmd
        self.bypass_pos = _follow(self.bypass_pos, target, 100.0 * dt / s.bypass_stroke_s)
        b = self.bypass_pos / 100.0
        self.t_ret = (1.0 - b) * self.t_bot + b * self.t_dco
        return self.flow_kg_s, self.t_ret

    def post(self, dt: float, q_loop: float, stagnant_c: float, q_it_room: float,
             q_other_room: float, outdoor_c: float, local_hour: float, demand: bool, valve_stuck: bool,
             sensor_stuck: bool, t: float, jitter: float) -> None:
        """Take ``q_loop`` W from the servers (``stagnant_c``: their coolant temperature, which
        the hot-line sensor drifts to without flow); run tank, consumers, room, controller."""
        s = self.spec
        cp = CP_WATER
        m = self.flow_kg_s
        b = self.bypass_pos / 100.0
        self.q_loop = q_loop
        t_ret = self.t_ret
        if m > 1e-9:
            t_hot = t_ret + q_loop / (m * cp)
        else:  # no flow: the sensor by the servers sits in stagnant water that follows them
            t_hot = self.t_hot + (stagnant_c - self.t_hot) * dt / (dt + 600.0)
        self.t_hot = t_hot
        # dump (the stream returns at last step's dry-cooler outlet: exact loop balance)
        m_d = b * m
        self.q_dump = m_d * cp * (t_hot - self.t_dco)
        self.t_dco = t_hot - s.dry_cooler_eff * (t_hot - outdoor_c)
        m_s = m - m_d
        top, mid, bot, room = self.t_top, self.t_mid, self.t_bot, self.room_c
        self.q_charge = m_s * cp * (t_hot - bot)
        # radiator valve: thermostat unless written; the actuator has a finite stroke
        if not self.valve_manual:
            self.valve_sp = 0.0 if not demand else _clip((s.room_setpoint_c + 1.0 - room) * 50.0, 0.0, 100.0)
        if not valve_stuck:
            self.valve_pos = _follow(self.valve_pos, self.valve_sp, 100.0 * dt / s.valve_stroke_s)
        self.valve_bad_s = self.valve_bad_s + dt if abs(self.valve_sp - self.valve_pos) > 5.0 else 0.0
        # consumers draw from the top, return to the bottom
        m_r = (self.valve_pos / 100.0) * s.radiator_max_lpm * RHO_WATER / 60.0 if demand else 0.0
        if m_r > 0.0 and top > room:
            t_rout = room + (top - room) * math.exp(-s.radiator_ua_w_k / (m_r * cp))
        else:
            t_rout, m_r = top, 0.0
        self.q_rad = m_r * cp * (top - t_rout)
        draw = dhw_lpm(local_hour) * (1.0 + 0.2 * jitter) if demand else 0.0
        t_dret = s.mains_c + 5.0
        q_dhw = m_w = 0.0
        if draw > 0.0 and top > t_dret + 1.0:
            heat_to = min(s.dhw_temp_c, top - 3.0)
            if heat_to > s.mains_c:
                q_dhw = draw / 60.0 * cp * (heat_to - s.mains_c)
                m_w = q_dhw / (cp * (top - t_dret))
        self.q_dhw = q_dhw
        m_l = m_r + m_w
        # tank layers: source downward, load upward, losses to the room
        ua = s.tank_ua_w_k / 3.0
        k = dt / (self.m_layer * cp)
        n_top = top + k * (m_s * cp * (t_hot - top) + m_l * cp * (mid - top) - ua * (top - room))
        n_mid = mid + k * (m_s * cp * (top - mid) + m_l * cp * (bot - mid) - ua * (mid - room))
        n_bot = bot + k * (m_s * cp * (mid - bot) + m_r * cp * (t_rout - bot)
                           + m_w * cp * (t_dret - bot) - ua * (bot - room))
        if n_bot > n_mid:
            n_bot = n_mid = 0.5 * (n_bot + n_mid)
        if n_mid > n_top:
            n_mid = n_top = 0.5 * (n_mid + n_top)
            if n_bot > n_mid:
                n_bot = n_mid = n_top = (n_bot + n_mid + n_top) / 3.0
        self.q_tank_loss = ua * (top + mid + bot - 3.0 * room)
        self.t_top, self.t_mid, self.t_bot = n_top, n_mid, n_bot
        # room
        h = s.house_h_w_k
        if room > 24.0:
            h += s.vent_h_w_k * min(1.0, (room - 24.0) / 2.0)
        self.q_backup = _clip((s.room_setpoint_c - 1.5 - room) / 0.5, 0.0, 1.0) * s.backup_max_w
        self.q_room_loss = h * (room - outdoor_c)
        gain = q_it_room + q_other_room + self.q_rad + self.q_tank_loss + self.q_backup
        self.room_c = room + dt * (gain - self.q_room_loss) / s.room_c_j_k
        # meters and sensors
        self.thermal_energy_j += q_loop * dt
        self.dump_energy_j += self.q_dump * dt
        self.charge_energy_j += self.q_charge * dt
        self.rad_energy_j += self.q_rad * dt
        self.dhw_energy_j += q_dhw * dt
        self.tank_loss_j += self.q_tank_loss * dt
        if sensor_stuck:
            if self.stuck_since is None:
                self.stuck_since = t
        else:
            self.stuck_since = None
            self.top_meas = n_top + 0.03 * jitter
        # alarms, from what the controller can see
        flow_lpm = self.flow_lpm
        self.low_flow = flow_lpm < s.low_flow_lpm
        self.overtemp = t_hot > s.overtemp_c or self.top_meas > self.tank_max + 5.0
        self.sensor_fault = self.stuck_since is not None and t - self.stuck_since >= 900.0
        self.valve_fault = self.valve_bad_s >= 120.0

    def tank_energy_j(self, ref_c: float = 0.0) -> float:
        return self.m_layer * CP_WATER * (self.t_top + self.t_mid + self.t_bot - 3.0 * ref_c)


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else (hi if x > hi else x)


def _follow(pos: float, target: float, max_move: float) -> float:
    d = target - pos
    if d > max_move:
        return pos + max_move
    if d < -max_move:
        return pos - max_move
    return target
