"""A flooding peer for ``bench realtime``: malformed messages at a steady rate, from its own process (so it
competes with the daemon for the CPU as a real peer would, not for its interpreter lock).

``python -m edge.bench.flood REWARD_ADDRESS CONTROL_ADDRESS RATE_HZ SECONDS SEED`` sends RATE_HZ malformed
messages a second for SECONDS: nine in ten on the reward socket (bad JSON, wrong types, out-of-range and
non-finite values, wrong frame counts, random bytes), one in ten a malformed control request (through a
DEALER, so requests are pipelined without waiting for replies). Prints ``{"sent", "dropped", "replies"}`` on exit.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
import zmq

BAD_REWARDS = (
    [b"reward", b"{not json"], [b"reward", b'{"value": "high"}'], [b"reward", b'{"value": 1e300}'],
    [b"reward", b'{"value": NaN}'], [b"reward", b"[1, 2]"], [b"reward"], [b"reward", b"{}", b"extra"],
    [b"reward", b'{"label": true}'],
)
BAD_CONTROLS = (b"{not json", b'{"cmd": 7}', b"\xff\xfe", b'{"cmd": "no such command"}')


def flood(reward: str, control: str, rate_hz: float, seconds: float, seed: int) -> dict:
    """Send the flood; return how many messages were sent and how many control replies came back."""
    rng = np.random.default_rng(seed)
    ctx = zmq.Context()
    pub, dealer = ctx.socket(zmq.PUB), ctx.socket(zmq.DEALER)
    for sock in (pub, dealer):
        sock.setsockopt(zmq.LINGER, 0)
    pub.connect(reward)
    dealer.connect(control)
    time.sleep(0.3)  # let the PUB connection settle so the first messages are not lost
    sent = dropped = replies = 0
    start = time.monotonic()
    try:
        while (elapsed := time.monotonic() - start) < seconds:
            for _ in range(int(elapsed * rate_hz) - sent - dropped):
                if rng.random() < 0.1:
                    sock, frames = dealer, [b"", BAD_CONTROLS[int(rng.integers(len(BAD_CONTROLS)))]]
                elif rng.random() < 0.2:
                    sock, frames = pub, [b"reward", bytes(rng.integers(0, 256, 24, dtype=np.uint8))]
                else:
                    sock, frames = pub, BAD_REWARDS[int(rng.integers(len(BAD_REWARDS)))]
                try:
                    sock.send_multipart(frames, zmq.NOBLOCK)
                    sent += 1
                except zmq.Again:  # the daemon's queue is full: a real flooder would lose these too
                    dropped += 1
            while dealer.poll(0):
                dealer.recv_multipart()
                replies += 1
            time.sleep(0.001)
    finally:
        pub.close(linger=0)
        dealer.close(linger=0)
        ctx.term()
    return {"sent": sent, "dropped": dropped, "replies": replies}


def main(argv: list[str]) -> int:
    reward, control, rate_hz, seconds, seed = argv
    print(json.dumps(flood(reward, control, float(rate_hz), float(seconds), int(seed))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
