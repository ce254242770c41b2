"""The numerical guard: after each block the learned state must be finite; if it is not, the last good state
comes back (one log line, counted), so no input, bug or overflow leaves a controller with NaN weights."""
from __future__ import annotations

import logging

from edge.logs import extra
from snn.backend import Backend

log = logging.getLogger("neuroedge.guard")

LEARNED_PREFIXES = ("projection/", "network/reward_baseline")


class StateGuard:
    """Watches a back end's learned arrays (every projection's weights and eligibility, the reward baseline).

    ``check()`` after a block: all finite → every ``snapshot_every`` blocks a copy of the whole state is kept as
    the last good one; any non-finite value → that copy is restored, ``trips`` counts it and the first trip
    (then the 2nd, 4th, ...) is logged (logger ``neuroedge.guard``, event ``guard_trip``) naming the array."""

    def __init__(self, backend: Backend, snapshot_every: int = 100) -> None:
        self.backend = backend
        self.snapshot_every = int(snapshot_every)
        self.names = [name for name in backend.state() if name.startswith(LEARNED_PREFIXES)]
        self.trips = 0
        self.last_trip: str | None = None
        self._blocks = 0
        self._good = backend.state()

    def check(self) -> bool:
        """True when the learned state is finite; otherwise restore the last good state and return False."""
        bad = self.backend.non_finite(self.names)
        if bad is None:
            self._blocks += 1
            if self._blocks % self.snapshot_every == 0:
                self._good = self.backend.state()
            return True
        self.trips += 1
        self.last_trip = f"{bad} held non-finite values; the state of up to {self.snapshot_every} blocks ago was restored"
        if self.trips & (self.trips - 1) == 0:
            log.warning("numerical guard: %s (%d trips so far)", self.last_trip, self.trips,
                        extra=extra("guard_trip", {"array": bad, "trips": self.trips}))
        self.backend.restore(self._good)
        return False

    def status(self) -> dict:
        return {"guard_trips": self.trips, "last_guard_trip": self.last_trip}
