"""Core-image files: a round trip keeps every array and the meta; a corrupt, truncated, foreign, wrong-magic or
wrong-version file is refused with one ValueError line naming it; writing is atomic."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hw.emulator.image import FORMAT_VERSION, HEADER, MAGIC, arrays_sha256, read_image, write_image

ARRAYS = {"row_ptr": np.arange(5, dtype=np.int64), "weight_mv": np.linspace(-1.0, 2.0, 7),
          "flags": np.array([True, False]), "params": np.ones((3, 4), dtype=np.float32),
          "empty": np.zeros((0, 4), dtype=np.int32)}
META = {"profile": "loihi", "network_sha256": "ab" * 32, "mapping": {"cores": 2, "fits": True}}


def assert_refused(path, *words: str) -> None:
    with pytest.raises(ValueError) as info:
        read_image(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text, text
    for word in words:
        assert word in text, text


def handmade(path, header: dict, arrays=ARRAYS) -> None:
    """An image written without write_image, to give it a header write_image would not."""
    np.savez(path, **arrays, **{HEADER: np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)})


def valid_header(**change) -> dict:
    header = {"magic": MAGIC, "format_version": FORMAT_VERSION, "profile": "loihi",
              "arrays_sha256": arrays_sha256(ARRAYS), "meta": META}
    return {**header, **change}


def test_round_trip_keeps_arrays_dtypes_shapes_and_meta(tmp_path):
    path = tmp_path / "net.npz"
    digest = write_image(path, ARRAYS, META)
    arrays, meta = read_image(path)
    assert meta == META and digest == arrays_sha256(ARRAYS)
    assert sorted(arrays) == sorted(ARRAYS)
    for name, array in ARRAYS.items():
        assert arrays[name].dtype == array.dtype and np.array_equal(arrays[name], array)
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]  # no temporary file left


def test_a_rewrite_replaces_the_file(tmp_path):
    path = tmp_path / "net.npz"
    write_image(path, ARRAYS, META)
    write_image(path, {"x": np.arange(3)}, {**META, "network_sha256": "cd" * 32})
    arrays, meta = read_image(path)
    assert list(arrays) == ["x"] and meta["network_sha256"] == "cd" * 32


def test_a_handmade_valid_image_reads(tmp_path):
    handmade(tmp_path / "ok.npz", valid_header())
    assert read_image(tmp_path / "ok.npz")[1] == META


def test_wrong_magic_is_refused(tmp_path):
    handmade(tmp_path / "magic.npz", valid_header(magic="other-format"))
    assert_refused(tmp_path / "magic.npz", "magic")


def test_unknown_version_is_refused(tmp_path):
    handmade(tmp_path / "v2.npz", valid_header(format_version=2))
    assert_refused(tmp_path / "v2.npz", "format_version 2")


def test_checksum_mismatch_is_refused(tmp_path):
    other = {**ARRAYS, "weight_mv": ARRAYS["weight_mv"] + 1.0}
    handmade(tmp_path / "sum.npz", valid_header(), arrays=other)
    assert_refused(tmp_path / "sum.npz", "arrays_sha256")


def test_a_missing_header_is_refused(tmp_path):
    np.savez(tmp_path / "plain.npz", **ARRAYS)
    assert_refused(tmp_path / "plain.npz", HEADER)


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.6, 0.95])
def test_a_truncated_image_is_refused(tmp_path, keep):
    path = tmp_path / "cut.npz"
    write_image(path, ARRAYS, META)
    data = path.read_bytes()
    path.write_bytes(data[:int(keep * len(data))])
    assert_refused(path)


def test_a_flipped_byte_in_an_array_is_refused(tmp_path):
    path = tmp_path / "flip.npz"
    write_image(path, {"w": np.zeros(4096)}, META)
    data = bytearray(path.read_bytes())
    data[2000] ^= 0xFF  # inside the stored zeros of w
    path.write_bytes(bytes(data))
    assert_refused(path)


@pytest.mark.parametrize("content", [b"not a zip at all\n", b"\x93NUMPY"], ids=["text", "npy-magic"])
def test_a_foreign_file_is_refused(tmp_path, content):
    (tmp_path / "foreign.npz").write_bytes(content)
    assert_refused(tmp_path / "foreign.npz")


def test_a_plain_npy_is_refused(tmp_path):
    np.save(tmp_path / "array.npy", np.arange(3))
    assert_refused(tmp_path / "array.npy", "npz")


@pytest.mark.parametrize("arrays, meta, word", [
    ({"obj": np.array([object()])}, META, "dtype"),
    ({"__header__": np.arange(2)}, META, "name"),
    ({"a/b": np.arange(2)}, META, "name"),
    ({"x": np.arange(2)}, {"mapping": {}}, "profile"),
])
def test_what_cannot_be_written_is_refused_before_writing(tmp_path, arrays, meta, word):
    with pytest.raises(ValueError, match=word):
        write_image(tmp_path / "bad.npz", arrays, meta)
    assert list(tmp_path.iterdir()) == []
