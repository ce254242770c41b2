"""The daemon's recording source checks time like replay does: a 29-day jump in a file is re-based (the run
ends when the intact parts do) and counted in status."""
import numpy as np

from edge.config import config_from_dict
from edge.drivers import open_driver
from sensors.formats.writers import NpyWriter
from sensors.types import EVENT_DTYPE, EventBatch, Geometry


def test_a_daemon_reading_a_file_with_a_29_day_jump_counts_and_rebases_it(tmp_path):
    events = np.zeros(2000, dtype=EVENT_DTYPE)
    events["t"] = np.arange(2000) * 100  # 100 µs apart: 0.2 s of recording
    events["t"][1000:] += 29 * 24 * 3600 * 1_000_000  # a corrupt jump of 29 days half way
    events["x"], events["y"] = np.arange(2000) % 64, np.arange(2000) % 48
    path = tmp_path / "gap.npy"
    writer = NpyWriter(path, Geometry(64, 48))
    writer.write(EventBatch(events, Geometry(64, 48)))
    writer.close()
    config = config_from_dict({"source": {"kind": "file", "path": str(path)}, "run": {"realtime": False}})
    driver = open_driver(config)
    blocks = 0
    while driver.step() is not None:
        blocks += 1
        assert blocks < 1000, "the jump was not re-based: the recording runs on"
    assert driver.status(0.0)["source"]["time_anomalies"] == 1
    assert 19 <= blocks <= 21  # 0.2 s in blocks of 10 ms, the 29 days gone


def test_a_watched_reader_whose_parent_goes_away_ends_quietly():
    """The AEDAT4 child keeps sending after its parent has stopped (a refused config): no traceback."""
    import subprocess
    import sys

    from tests.edge.helpers import dvs_path

    code = ("import os; from edge.watched_source import WatchedSource; "
            f"WatchedSource({str(dvs_path())!r}); os._exit(0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
