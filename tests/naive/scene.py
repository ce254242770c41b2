"""Plain-Python reference for sensors.simulated.scene_kernel.render_view: sample the world at pixel centres, add the disc."""
from __future__ import annotations


def render_view_ref(world_log, target, camera, target_radius_px: float, target_log_contrast: float,
                    view_w: int, view_h: int) -> list[list[float]]:
    """Row-major view[y][x]: world value at the pixel centre (nearest cell, clamped to the last row and
    column), plus the target contrast when the centre lies within the target's radius."""
    world_h, world_w = len(world_log), len(world_log[0])
    left = camera[0] - view_w / 2.0
    top = camera[1] - view_h / 2.0
    view = []
    for y in range(view_h):
        wy = top + y + 0.5
        row = []
        for x in range(view_w):
            wx = left + x + 0.5
            level = world_log[min(int(wy), world_h - 1)][min(int(wx), world_w - 1)]
            if (wx - target[0]) ** 2 + (wy - target[1]) ** 2 <= target_radius_px**2:
                level += target_log_contrast
            row.append(level)
        view.append(row)
    return view
