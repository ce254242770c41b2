"""Tests for edge.checkpoint: exact round trips, atomic replacement, and refusal of corrupt files.

Every damaged file must raise CheckpointError, never another exception and never wrong arrays.
"""

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.checkpoint import (
    CHECKPOINT_VERSION,
    CheckpointError,
    load_checkpoint,
    load_latest_valid,
    save_checkpoint,
)


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1234)
    return {
        "w_f64": rng.normal(size=(4, 3)),
        "w_f32": rng.normal(size=7).astype(np.float32),
        "idx_i32": np.arange(-5, 5, dtype=np.int32),
        "idx_i64": np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]),
        "seed_u64": np.array(np.iinfo(np.uint64).max, dtype=np.uint64),
        "mask_bool": np.array([[True, False], [False, True]]),
        "fortran_f64": np.asfortranarray(rng.normal(size=(2, 5))),
        "empty_f32": np.zeros((0, 3), dtype=np.float32),
        "edge_f64": np.array([-0.0, 1e-300, -1.7e308]),  # finite extremes (non-finite ones are refused)
    }


META = {"step": 1200, "backend": "numba", "spec": {"n_neurons": [64, 32]}, "dt_us": 1000.0}


def _assert_same(loaded: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert sorted(loaded) == sorted(expected)
    for name, array in expected.items():
        assert loaded[name].dtype == array.dtype, name
        assert loaded[name].shape == array.shape, name
        assert loaded[name].tobytes() == array.tobytes(order="C"), name


def _rewrite(path: Path, replace: dict[str, bytes]) -> None:
    """Rebuild the zip with some members replaced, so zip CRCs are valid but content changes."""
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    members.update(replace)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def _meta_doc(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(npz["__meta__"].tobytes().decode("utf-8"))


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return save_checkpoint(tmp_path / "state.npz", _arrays(), META)


def test_round_trip_is_exact(saved: Path) -> None:
    arrays, meta = load_checkpoint(saved)
    _assert_same(arrays, _arrays())
    assert arrays["seed_u64"].ndim == 0
    assert meta == META


def test_file_is_a_plain_npz_with_versioned_meta(saved: Path) -> None:
    with np.load(saved, allow_pickle=False) as npz:
        assert set(npz.files) == set(_arrays()) | {"__meta__"}
        assert npz["__meta__"].dtype == np.uint8
    doc = _meta_doc(saved)
    assert doc["format"] == "neuroedge-checkpoint"
    assert doc["version"] == CHECKPOINT_VERSION == 1
    assert doc["meta"] == META
    assert len(doc["sha256"]) == 64


def test_creates_parent_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.npz"
    assert save_checkpoint(path, _arrays(), META) == path
    save_checkpoint(path, {"x": np.ones(2)}, {})
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.npz", "state.npz.prev"]


def test_second_save_keeps_previous_as_prev(saved: Path) -> None:
    save_checkpoint(saved, {"x": np.arange(3)}, {"step": 2})
    arrays, meta = load_checkpoint(saved)
    _assert_same(arrays, {"x": np.arange(3)})
    assert meta == {"step": 2}
    prev_arrays, prev_meta = load_checkpoint(saved.with_name("state.npz.prev"))
    _assert_same(prev_arrays, _arrays())
    assert prev_meta == META


def test_corrupt_current_file_does_not_overwrite_good_prev(saved: Path) -> None:
    save_checkpoint(saved, {"x": np.arange(3)}, {"step": 2})
    saved.write_bytes(b"garbage")
    save_checkpoint(saved, {"x": np.arange(4)}, {"step": 3})
    _assert_same(load_checkpoint(saved)[0], {"x": np.arange(4)})
    _assert_same(load_checkpoint(saved.with_name("state.npz.prev"))[0], _arrays())


def test_failed_write_keeps_old_file_and_removes_temp(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved.read_bytes()

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("edge.checkpoint.os.fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output"):
        save_checkpoint(saved, {"x": np.arange(3)}, {})
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == ["state.npz"]


@pytest.mark.parametrize(
    ("arrays", "meta", "error", "match"),
    [
        ({"__meta__": np.ones(1)}, {}, ValueError, "reserved"),
        ({"": np.ones(1)}, {}, ValueError, "non-empty"),
        ({"a\0b": np.ones(1)}, {}, ValueError, "NUL"),
        ({"obj": np.array([None])}, {}, TypeError, r"arrays\['obj'\] is object"),
        ({"lst": [1.0, 2.0]}, {}, TypeError, r"arrays\['lst'\] is list"),
        ({"x": np.ones(1)}, [1], TypeError, "meta is list"),
        ({"x": np.ones(1)}, {"bad": object()}, TypeError, "meta is not JSON-able"),
    ],
)
def test_bad_inputs_are_refused_without_touching_disk(tmp_path, arrays, meta, error, match) -> None:
    with pytest.raises(error, match=match):
        save_checkpoint(tmp_path / "state.npz", arrays, meta)
    assert list(tmp_path.iterdir()) == []


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.npz"
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(path))}: no such checkpoint$"):
        load_checkpoint(path)


def test_random_bytes_are_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(path))}: not a neuroedge checkpoint"):
        load_checkpoint(path)


def test_plain_npz_without_meta_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, x=np.ones(3))
    with pytest.raises(CheckpointError, match="no __meta__ entry"):
        load_checkpoint(path)


def test_every_truncation_is_refused(saved: Path) -> None:
    data = saved.read_bytes()
    for size in range(len(data)):
        saved.write_bytes(data[:size])
        with pytest.raises(CheckpointError, match=f"^{re.escape(str(saved))}: "):
            load_checkpoint(saved)


def test_every_single_byte_flip_is_refused_or_harmless(saved: Path) -> None:
    data = saved.read_bytes()
    for offset in range(len(data)):
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        saved.write_bytes(bytes(damaged))
        try:
            arrays, meta = load_checkpoint(saved)
        except CheckpointError as exc:
            assert str(exc).startswith(f"{saved}: ") and "\n" not in str(exc)
        else:
            _assert_same(arrays, _arrays())
            assert meta == META


def test_changed_array_data_with_valid_zip_crc_fails_checksum(saved: Path) -> None:
    changed = _arrays()["w_f64"].copy()
    changed[0, 0] += 1e-12
    _rewrite(saved, {"w_f64.npy": _npy_bytes(changed)})
    expected = f"{saved}: checksum mismatch, the file is corrupt"
    with pytest.raises(CheckpointError, match=f"^{re.escape(expected)}$"):
        load_checkpoint(saved)


def test_newer_version_is_refused(saved: Path) -> None:
    doc = {**_meta_doc(saved), "version": 7}
    _rewrite(saved, {"__meta__.npy": _npy_bytes(np.frombuffer(json.dumps(doc).encode(), np.uint8))})
    expected = f"{saved}: checkpoint version 7 is newer than this neuroedge supports (1)"
    with pytest.raises(CheckpointError, match=f"^{re.escape(expected)}$"):
        load_checkpoint(saved)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"format": "something-else"}, "format tag"),
        ({"version": "1"}, "unsupported checkpoint version '1'"),
        ({"version": 0}, "unsupported checkpoint version 0"),
        ({"meta": None}, "lacks a 'meta' dict"),
    ],
)
def test_bad_meta_document_is_refused(saved: Path, change: dict, match: str) -> None:
    doc = {**_meta_doc(saved), **change}
    _rewrite(saved, {"__meta__.npy": _npy_bytes(np.frombuffer(json.dumps(doc).encode(), np.uint8))})
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(saved)


def test_pickled_member_is_refused(saved: Path) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    _rewrite(saved, {"w_f64.npy": buf.getvalue()})
    with pytest.raises(CheckpointError, match="corrupt checkpoint"):
        load_checkpoint(saved)


def test_load_latest_valid_prefers_newest(saved: Path) -> None:
    save_checkpoint(saved, {"x": np.arange(3)}, {"step": 2})
    arrays, meta, source = load_latest_valid(saved)
    assert source == saved and meta == {"step": 2}


def test_load_latest_valid_falls_back_to_prev(saved: Path) -> None:
    save_checkpoint(saved, {"x": np.arange(3)}, {"step": 2})
    data = bytearray(saved.read_bytes())
    data[len(data) // 2] ^= 0x01
    saved.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_checkpoint(saved)
    arrays, meta, source = load_latest_valid(saved)
    assert source == saved.with_name("state.npz.prev")
    _assert_same(arrays, _arrays())
    assert meta == META


def test_load_latest_valid_raises_first_error_when_both_fail(tmp_path: Path) -> None:
    path = tmp_path / "state.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(path))}: not a neuroedge checkpoint"):
        load_latest_valid(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mutations=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
    )
)
def test_random_mutations_load_exactly_or_raise_checkpoint_error(
    tmp_path: Path, mutations: list[tuple[float, int]]
) -> None:
    path = tmp_path / "fuzz.npz"
    save_checkpoint(path, _arrays(), META)
    data = bytearray(path.read_bytes())
    for position, value in mutations:
        data[int(position * len(data))] = value
    path.write_bytes(bytes(data))
    try:
        arrays, meta = load_checkpoint(path)
    except CheckpointError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
    else:
        _assert_same(arrays, _arrays())
        assert meta == META
