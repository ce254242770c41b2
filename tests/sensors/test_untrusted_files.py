"""Untrusted files through ``neuroedge info / convert / replay`` (issue 13): impossible time is counted and
warned about in one line (``--strict`` refuses it, exit 2), a corrupt file's replay does not run on, a failed
convert leaves nothing behind, a recording without events says so, and every malformed .npy is one line."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edge.cli import main
from sensors.formats.writers import Aedat4Writer, NpyWriter
from sensors.types import EVENT_DTYPE, EventBatch, Geometry

DAY_US = 86_400 * 10**6
GEOMETRY = Geometry(16, 12)


def run(capsys, *args) -> tuple[int, str, list[str]]:
    """``neuroedge args`` in process: (exit status, stdout, non-empty stderr lines)."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, [line for line in err.splitlines() if line.strip()]


def one_line_error(result: tuple[int, str, list[str]], *names: str) -> str:
    status, _, err = result
    assert status == 2 and len(err) == 1, result
    assert all(name in err[0] for name in names), (names, err[0])
    return err[0]


def events_with_gap(n: int = 400, at: int = 200, gap_us: int = 29 * DAY_US) -> np.ndarray:
    events = np.zeros(n, dtype=EVENT_DTYPE)
    events["t"] = np.arange(n) * 250
    events["t"][at:] += gap_us
    events["x"], events["y"], events["p"] = np.arange(n) % 16, np.arange(n) % 12, np.arange(n) % 2
    return events


def write_npy(path: Path, events: np.ndarray) -> Path:
    writer = NpyWriter(path, GEOMETRY)
    writer.write(EventBatch(events, GEOMETRY))
    writer.close()
    return path


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ---------------------------------------------------------------- impossible time


def test_info_counts_and_warns_about_impossible_time(tmp_path, capsys):
    path = write_npy(tmp_path / "gap.npy", events_with_gap())
    status, out, err = run(capsys, "info", path, "--json")
    info = json.loads(out.splitlines()[-1])
    assert status == 0 and info["time_anomalies"] == 1
    assert info["t_last_us"] - info["t_first_us"] == 398 * 250  # not 29 days
    assert len(err) == 1 and "gap.npy: 1 time anomaly" in err[0] and "event 200" in err[0]


@pytest.mark.parametrize("command", ["info", "convert", "replay"])
def test_strict_refuses_impossible_time_in_one_line_and_leaves_nothing(tmp_path, capsys, command):
    path = write_npy(tmp_path / "gap.npy", events_with_gap())
    before = listing(tmp_path)
    extra = [tmp_path / "out.npy"] if command == "convert" else []
    line = one_line_error(run(capsys, command, path, *extra, "--strict"), "gap.npy", "time anomaly", "--strict")
    assert line.startswith(f"neuroedge {command}: error: ")
    assert listing(tmp_path) == before


def test_replay_of_a_29_day_gap_ends_at_once(tmp_path):
    """Before the guard, replay ticked through 29 days of sensor time (hours of wall time)."""
    path = write_npy(tmp_path / "gap.npy", events_with_gap())
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "edge.cli", "replay", str(path), "--json"], capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["time_anomalies"] == 1 and summary["duration_us"] == 398 * 250
    assert "gap.npy: 1 time anomaly" in result.stderr and time.monotonic() - started < 120


def test_aedat4_read_in_the_watched_child_is_checked_in_the_parent(tmp_path, capsys):
    path = tmp_path / "gap.aedat4"
    writer = Aedat4Writer(path, GEOMETRY)
    writer.write(EventBatch(events_with_gap(), GEOMETRY))
    writer.close()
    status, out, err = run(capsys, "info", path, "--json")
    info = json.loads(out.splitlines()[-1])
    assert status == 0 and info["time_anomalies"] == 1 and info["t_last_us"] - info["t_first_us"] == 398 * 250
    assert len(err) == 1 and "gap.aedat4: 1 time anomaly" in err[0] and "event 200" in err[0]
    one_line_error(run(capsys, "info", path, "--strict"), "gap.aedat4", "refused (--strict)")


def test_convert_rebases_impossible_time_and_says_so(tmp_path, capsys):
    path = write_npy(tmp_path / "gap.npy", events_with_gap())
    status, out, err = run(capsys, "convert", path, tmp_path / "fixed.npy", "--json")
    assert status == 0 and json.loads(out.splitlines()[-1])["time_anomalies"] == 1 and len(err) == 1
    fixed = np.load(tmp_path / "fixed.npy")
    assert np.diff(fixed["t"]).min() >= 0 and int(fixed["t"][-1] - fixed["t"][0]) == 398 * 250


# ---------------------------------------------------------------- a failed convert leaves nothing


def dat_with_bad_record(path: Path, n: int = 3000, bad: int = 2500) -> Path:
    records = np.zeros((n, 2), dtype="<u4")
    records[:, 0] = np.arange(n) * 10
    records[:, 1] = 1 | 2 << 14
    records[bad, 1] = 40  # x = 40, outside 16x12
    path.write_bytes(b"% Width 16\n% Height 12\n\x0c\x08" + records.tobytes())
    return path


@pytest.mark.parametrize("suffix", [".npy", ".aedat4"])
def test_failed_convert_leaves_nothing_behind(tmp_path, capsys, suffix):
    """The corrupt record comes after the first batches were written: the output used to stay, half written,
    and ``info`` reported it as a valid recording."""
    src = dat_with_bad_record(tmp_path / "bad.dat")
    before = listing(tmp_path)
    one_line_error(run(capsys, "convert", src, tmp_path / f"out{suffix}"), "bad.dat", "record 2500")
    assert listing(tmp_path) == before


def test_failed_convert_keeps_an_existing_output(tmp_path, capsys):
    good = write_npy(tmp_path / "good.npy", events_with_gap(gap_us=0))
    out = tmp_path / "out.npy"
    assert run(capsys, "convert", good, out)[0] == 0
    kept = out.read_bytes(), (tmp_path / "out.npy.json").read_bytes()
    one_line_error(run(capsys, "convert", dat_with_bad_record(tmp_path / "bad.dat"), out), "bad.dat")
    assert (out.read_bytes(), (tmp_path / "out.npy.json").read_bytes()) == kept
    assert listing(tmp_path) == ["bad.dat", "good.npy", "good.npy.json", "out.npy", "out.npy.json"]


# ---------------------------------------------------------------- recordings without events


def zero_event_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, words expected in the one-line error)."""
    files = {}
    files["npy"] = (write_npy(tmp_path / "none.npy", np.zeros(0, EVENT_DTYPE)), "an array of 0 events")
    dat = tmp_path / "none.dat"
    dat.write_bytes(b"% Width 16\n% Height 12\n\x0c\x08")
    files["dat"] = (dat, "no complete record")
    es = tmp_path / "none.es"
    es.write_bytes(b"Event Stream" + bytes([2, 0, 0, 1]) + (16).to_bytes(2, "little") + (12).to_bytes(2, "little"))
    files["es"] = (es, "no complete event")
    th_only = tmp_path / "th_only.raw"
    th_only.write_bytes(b"% evt 3.0\n% end\n" + np.array([0x8001, 0x8001, 0x6005], dtype="<u2").tobytes())
    files["raw"] = (th_only, "without a CD event")
    outside = tmp_path / "outside.raw"
    outside.write_bytes(b"% format EVT3;width=16;height=12\n% end\n"
                        + np.array([0x8001, 0x0063, 0x2005], dtype="<u2").tobytes())  # y = 99
    files["raw outside"] = (outside, "outside the geometry 16x12")
    aedat4 = tmp_path / "none.aedat4"
    Aedat4Writer(aedat4, GEOMETRY).close()
    files["aedat4"] = (aedat4, "an event stream without events")
    return files


@pytest.mark.parametrize("kind", ["npy", "dat", "es", "raw", "raw outside", "aedat4"])
def test_info_says_plainly_that_a_recording_has_no_events(tmp_path, capsys, kind):
    path, why = zero_event_files(tmp_path)[kind]
    one_line_error(run(capsys, "info", path), path.name, "no events", why)
    one_line_error(run(capsys, "convert", path, tmp_path / "out.npy"), path.name, "no events")
    assert not (tmp_path / "out.npy").exists()


# ---------------------------------------------------------------- malformed .npy files


def malformed_npy(tmp_path: Path) -> dict[str, bytes]:
    events = events_with_gap(gap_us=0)
    path = tmp_path / "valid.npy"
    np.save(path, events)
    valid = path.read_bytes()
    header_end = valid.index(b"\n") + 1
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"t": 1}, None], dtype=object), allow_pickle=True)
    floats = tmp_path / "floats.npy"
    np.save(floats, np.zeros(3, dtype=[("t", "<f8"), ("x", "<i2"), ("y", "<i2"), ("p", "i1")]))
    return {
        "bad magic": b"\x93NUMPZ" + valid[6:],
        "magic version": valid[:6] + b"\x07" + valid[7:],
        "header dict cut": valid.replace(b"[('t'", b"[(t'", 1),  # the 51-line traceback (tokenize.TokenError)
        "header syntax": valid.replace(b"'|i1')", b"'|,1')", 1),
        "header key": valid.replace(b"'shape'", b"b'hape'", 1),
        "negative shape": valid.replace(b"(400,)", b"(-40,)", 1),
        "shape too big": valid.replace(b"(400,)", b"(900,)", 1),
        "truncated data": valid[:header_end + 16 * 10 + 3],
        "header only": valid[:header_end],
        "object array": objects.read_bytes(),
        "float times": floats.read_bytes(),
    }


@pytest.mark.parametrize("case", ["bad magic", "magic version", "header dict cut", "header syntax", "header key",
                                  "negative shape", "shape too big", "truncated data", "header only",
                                  "object array", "float times"])
def test_every_malformed_npy_is_one_line_naming_the_file(tmp_path, capsys, case):
    path = tmp_path / "broken.npy"
    path.write_bytes(malformed_npy(tmp_path)[case])
    path.with_name("broken.npy.json").write_text(json.dumps({"width": 16, "height": 12}))
    line = one_line_error(run(capsys, "info", path), "broken.npy")
    assert "Traceback" not in line
