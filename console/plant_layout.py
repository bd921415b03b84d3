"""Where each part of a plant goes on the schematic, in scene units (about pixels at 1280 px).

Left to right: the servers column (cold manifold on its left, hot manifold on its right), the
loop (supply pipe on top, return pipe at the bottom, the pump on the return), the bypass branch
with its valve and dry cooler in parallel with the exchanger, the exchanger, the tank with one
band per sensor, the consumers column (feeds from the tank top on the left, returns on the right
back to the tank bottom), and the legend underneath. Pure arithmetic, no Qt: tested for
overlaps and bounds on any site.
"""
from __future__ import annotations

import dataclasses

from console.plant import Plant

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x, y, width, height

TOP = 100.0  # the loop's supply (hot) pipe
SERVER_X, SERVER_W, SERVER_H, SERVER_GAP = 36.0, 236.0, 104.0, 12.0
COLD_X, HOT_X = 16.0, 298.0  # manifolds either side of the servers
BYPASS_X = 520.0
EXCH_X, EXCH_W = 660.0, 130.0
TANK_X, TANK_W = 850.0, 130.0
FEED_X = 1012.0
CONS_X, CONS_W, CONS_H, CONS_GAP = 1136.0, 200.0, 88.0, 16.0
BACK_X = 1356.0
WIDTH = 1376.0
LAYER_MIN_H = 34.0


@dataclasses.dataclass(frozen=True, slots=True)
class PlantLayout:
    width: float
    height: float
    rects: dict[str, Rect]  # element id -> its body
    text_at: dict[str, Point]  # element id -> top-left of its text block
    text_width: dict[str, float]  # element id -> width its text may take
    pipes: dict[str, tuple[Point, ...]]  # pipe id -> polyline
    legend: Rect
    temp_range: tuple[float, float]


def layout(plant: Plant) -> PlantLayout:
    n, m, k = len(plant.servers), plant.consumers, plant.tank_layers
    servers_y0 = TOP + 40
    servers_end = servers_y0 + n * (SERVER_H + SERVER_GAP) - SERVER_GAP
    cons_y0 = TOP + 40
    cons_end = cons_y0 + m * (CONS_H + CONS_GAP) - CONS_GAP
    bot = max(servers_end + 44, cons_end + 44, TOP + 90 + k * LAYER_MIN_H, TOP + 400)
    rects: dict[str, Rect] = {}
    text_at: dict[str, Point] = {}
    text_w: dict[str, float] = {}
    pipes: dict[str, tuple[Point, ...]] = {}

    def box(eid: str, r: Rect, pad: float = 8.0) -> None:
        rects[eid] = r
        text_at[eid] = (r[0] + pad, r[1] + 5)
        text_w[eid] = r[2] - 2 * pad

    # servers and their branches
    for i, sid in enumerate(plant.servers):
        y = servers_y0 + i * (SERVER_H + SERVER_GAP)
        box(f"server:{sid}", (SERVER_X, y, SERVER_W, SERVER_H), pad=30)
        hot_y, cold_y = y + 26, y + SERVER_H - 22
        pipes[f"server_hot:{sid}"] = ((SERVER_X + SERVER_W, hot_y), (HOT_X, hot_y))
        pipes[f"server_cold:{sid}"] = ((COLD_X, cold_y), (SERVER_X, cold_y))
    last_hot = servers_y0 + (n - 1) * (SERVER_H + SERVER_GAP) + 26
    first_cold = servers_y0 + SERVER_H - 22
    pipes["hot_manifold"] = ((HOT_X, last_hot), (HOT_X, TOP))
    pipes["cold_manifold"] = ((COLD_X, bot), (COLD_X, first_cold))
    # the loop
    exch_top, exch_bot = TOP + 70, bot - 70
    exch_cx = EXCH_X + EXCH_W / 2
    pipes["hot"] = ((HOT_X, TOP), (exch_cx, TOP), (exch_cx, exch_top))
    pipes["cold"] = ((exch_cx, exch_bot), (exch_cx, bot), (COLD_X, bot))
    box("exchanger", (EXCH_X, exch_top, EXCH_W, exch_bot - exch_top), pad=6)
    rects["loop_supply"] = (330.0, TOP - 58, 150.0, 50.0)
    text_at["loop_supply"], text_w["loop_supply"] = (338.0, TOP - 54), 140.0
    rects["loop_return"] = (500.0, bot + 8, 150.0, 50.0)
    text_at["loop_return"], text_w["loop_return"] = (508.0, bot + 12), 140.0
    pump_cx = 400.0
    rects["pump"] = (pump_cx - 22, bot - 22, 44.0, 44.0)
    text_at["pump"], text_w["pump"] = (pump_cx - 60, bot + 26), 150.0
    # bypass branch and dry cooler, in parallel with the exchanger
    valve_y = TOP + 44
    rects["bypass_valve"] = (BYPASS_X - 12, valve_y, 24.0, 36.0)
    text_at["bypass_valve"], text_w["bypass_valve"] = (BYPASS_X + 18, valve_y - 2), EXCH_X - BYPASS_X - 24
    cooler_y = valve_y + 80
    box("dump", (BYPASS_X - 80, cooler_y, 160.0, 104.0), pad=8)
    pipes["bypass"] = ((BYPASS_X, TOP), (BYPASS_X, bot))
    # tank and its layers
    tank_y, tank_h = TOP + 14, bot - 54 - (TOP + 14)
    rects["tank"] = (TANK_X, tank_y, TANK_W, tank_h)
    text_at["tank"], text_w["tank"] = (TANK_X - 10, tank_y - 38), TANK_W + 40  # title, then an alarm line
    inner_y, inner_h = tank_y + 10, tank_h - 20
    for i in range(k):
        ly = inner_y + i * inner_h / k
        rects[f"tank_layer:{i}"] = (TANK_X + 6, ly, TANK_W - 12, inner_h / k)
        text_at[f"tank_layer:{i}"], text_w[f"tank_layer:{i}"] = (TANK_X + 14, ly + inner_h / k / 2 - 14), TANK_W - 28
    sec_hot_y, sec_cold_y = tank_y + 40, tank_y + tank_h - 40
    ex_r = EXCH_X + EXCH_W
    pipes["secondary_hot"] = ((ex_r, max(sec_hot_y, exch_top + 20)), (ex_r + 30, max(sec_hot_y, exch_top + 20)),
                              (ex_r + 30, sec_hot_y), (TANK_X, sec_hot_y))
    pipes["secondary_cold"] = ((TANK_X, sec_cold_y), (ex_r + 30, sec_cold_y),
                               (ex_r + 30, min(sec_cold_y, exch_bot - 20)), (ex_r, min(sec_cold_y, exch_bot - 20)))
    # consumers
    feed_from = (TANK_X + TANK_W, tank_y + 24)
    tank_bottom = (TANK_X + TANK_W / 2, tank_y + tank_h)
    back_y = bot + 30
    for i in range(m):
        y = cons_y0 + i * (CONS_H + CONS_GAP)
        box(f"consumer:{i}", (CONS_X, y, CONS_W, CONS_H), pad=44)
        fy, ry = y + 22, y + CONS_H - 20
        pipes[f"feed:{i}"] = (feed_from, (FEED_X, feed_from[1]), (FEED_X, fy), (CONS_X, fy)) if i == 0 else (
            (FEED_X, feed_from[1]), (FEED_X, fy), (CONS_X, fy))
        pipes[f"back:{i}"] = ((CONS_X + CONS_W, ry), (BACK_X, ry), (BACK_X, back_y))
    pipes["tank_return"] = ((BACK_X, back_y), (tank_bottom[0], back_y), tank_bottom)
    if plant.has_valve:  # on the first space-heating consumer's feed (the radiators' mixing valve)
        kinds = [e.variant for e in plant.elements if e.kind == "consumer"]
        at = kinds.index("space_heating") if "space_heating" in kinds else 0
        fy = cons_y0 + at * (CONS_H + CONS_GAP) + 22
        rects["valve"] = (FEED_X + 40, fy - 12, 36.0, 24.0)
        text_at["valve"], text_w["valve"] = (FEED_X + 4, fy + 14), CONS_X - FEED_X - 6
    legend = (SERVER_X, bot + 112, WIDTH - 2 * SERVER_X, 46.0)
    lo = 20.0
    hi = max(50.0, plant.max_loop_c)
    return PlantLayout(WIDTH, bot + 166, rects, text_at, text_w, pipes, legend, (lo, hi))


__all__ = ["PlantLayout", "layout"]
