"""Action: what the controller decided, stamped with the sensor time it answers.

Serialised by edge.bus as ``[b"action", json]``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    """One decision.

    Parameters
    ----------
    name : what the values mean (e.g. ``"pan"``).
    values : the decision; for ``pan`` ``[vx, vy]`` in pixels per second.
    t_us : sensor time (µs) of the last input this action answers.
    seq : per-process sequence number, starting at 0.
    """

    name: str
    values: tuple[float, ...]
    t_us: int
    seq: int

    def to_dict(self) -> dict:
        return {"seq": self.seq, "t_us": self.t_us, "name": self.name, "values": list(self.values)}
