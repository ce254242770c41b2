"""Core-image files: a round trip keeps every array and the meta; a corrupt, truncated, foreign, wrong-magic or
wrong-version file is refused with one ValueError line naming it; writing is atomic. An image written by
``neuroedge compile`` carries its network: the emulator loads it (from the file or its bytes) and steps as when
loaded from the spec; an image without a spec, for another profile, or whose spec does not match its tables is
refused in one line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.config import load_config, load_network_file
from edge.cores import cmd_compile
from hw.emulator.backend import EmulatorBackend
from hw.emulator.image import FORMAT_VERSION, HEADER, MAGIC, arrays_sha256, read_image, write_image
from snn.frames import SpikeFrames

TRACKING = Path(__file__).resolve().parents[2] / "launch" / "networks" / "tracking_stdp.toml"

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


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    """The tracking network's image as ``neuroedge compile`` writes it."""
    path = tmp_path_factory.mktemp("compiled") / "tracking.npz"
    assert cmd_compile(str(TRACKING), str(path), "loihi", True) == 0
    return path


def input_blocks(seed: int, n_blocks: int = 3, n_ticks: int = 100, n_input: int = 128) -> list[SpikeFrames]:
    rng = np.random.default_rng(seed)
    return [SpikeFrames.from_lists([np.flatnonzero(rng.random(n_input) < 0.08).tolist() for _ in range(n_ticks)])
            for _ in range(n_blocks)]


def assert_load_refused(source, name: str, *words: str) -> None:
    with pytest.raises(ValueError) as info:
        EmulatorBackend().load_image(source, seed=1)
    text = str(info.value)
    assert "\n" not in text and text.startswith(name), text
    for word in words:
        assert word in text, text


@pytest.mark.parametrize("discretize", ["1", "0"])
def test_a_compiled_image_steps_as_the_network_it_was_compiled_from(compiled, discretize):
    from_image, from_spec = EmulatorBackend(discretize=discretize), EmulatorBackend(discretize=discretize)
    meta = from_image.load_image(compiled, seed=11)
    from_spec.load(load_network_file(TRACKING, load_config(None).run.dt_us), seed=11)
    assert meta == read_image(compiled)[1] and meta["profile"] == "loihi"
    n_out = 0
    for k, block in enumerate(input_blocks(3)):
        a, b = from_image.step(block, 0.5 * k), from_spec.step(block, 0.5 * k)
        assert np.array_equal(a.tick_ptr, b.tick_ptr) and np.array_equal(a.neuron_ids, b.neuron_ids)
        n_out += a.n_spikes
    assert n_out > 0  # the comparison saw readout spikes
    state_a, state_b = from_image.state(), from_spec.state()
    assert sorted(state_a) == sorted(state_b)
    assert all(np.array_equal(state_a[name], state_b[name]) for name in state_a)


def test_an_image_reads_and_loads_from_its_bytes(compiled):
    data = compiled.read_bytes()
    arrays, meta = read_image(data)
    on_disk, meta_on_disk = read_image(compiled)
    assert meta == meta_on_disk and arrays_sha256(arrays) == arrays_sha256(on_disk)  # bytes, NaN rows too
    assert EmulatorBackend().load_image(data, seed=2) == meta
    assert_load_refused(b"not a zip", "<bytes>", "not a valid core image")


@pytest.mark.parametrize("label", [None, "serial:/dev/ttyACM0"])
def test_bad_bytes_are_refused_naming_the_bytes_or_the_label(compiled, label):
    data = compiled.read_bytes()
    with pytest.raises(ValueError) as info:
        read_image(data[:len(data) // 2], label=label)
    text = str(info.value)
    assert "\n" not in text and text.startswith(label or "<bytes>") and "not a valid core image" in text, text


def test_an_image_without_a_network_spec_is_refused(compiled, tmp_path):
    arrays, meta = read_image(compiled)
    old = tmp_path / "old.npz"
    write_image(old, {k: v for k, v in arrays.items() if not k.startswith("spec.")},
                {k: v for k, v in meta.items() if k != "spec"})
    assert_load_refused(old, str(old), "no network spec", "neuroedge compile")


def test_an_image_for_another_profile_is_refused(compiled, tmp_path):
    arrays, meta = read_image(compiled)
    other = tmp_path / "other.npz"
    write_image(other, arrays, {**meta, "profile": "truenorth"})
    assert_load_refused(other, str(other), "'truenorth'", "'loihi'")


def test_tampered_spec_arrays_are_refused_by_the_image_checksum(compiled, tmp_path):
    arrays, meta = read_image(compiled)
    with np.load(compiled) as data:
        header = json.loads(data[HEADER].tobytes())
    arrays["spec.projections.1.weight_mv"] = arrays["spec.projections.1.weight_mv"] * 1.01
    handmade(tmp_path / "sum.npz", header, arrays=arrays)
    assert_load_refused(tmp_path / "sum.npz", str(tmp_path / "sum.npz"), "arrays_sha256")


def scale_weights(arrays: dict, meta: dict) -> None:
    arrays["spec.projections.1.weight_mv"] = arrays["spec.projections.1.weight_mv"] * 1.01


def add_initial_potentials(arrays: dict, meta: dict) -> None:
    """The tracking network's hidden layer starts at rest: give it an array and name that in the layout."""
    arrays["spec.populations.1.v_init_mv"] = np.ones(64)
    meta["spec"]["fields"]["populations"]["tuple"][1]["fields"]["v_init_mv"] = {"array": "spec.populations.1.v_init_mv"}


@pytest.mark.parametrize("tamper", [scale_weights, add_initial_potentials], ids=lambda f: f.__name__)
def test_spec_arrays_that_do_not_match_the_compiled_tables_are_refused(compiled, tmp_path, tamper):
    arrays, meta = read_image(compiled)
    tamper(arrays, meta)
    path = tmp_path / "tampered.npz"
    write_image(path, arrays, meta)
    assert_load_refused(path, str(path), "compiled tables do not match its network spec")


def test_a_changed_structure_is_refused_by_the_structure_hash(compiled, tmp_path):
    arrays, meta = read_image(compiled)
    meta["spec"]["fields"]["projections"]["tuple"][2]["fields"]["name"] = "renamed"
    path = tmp_path / "renamed.npz"
    write_image(path, arrays, meta)
    assert_load_refused(path, str(path), "network_sha256")
    arrays, meta = read_image(compiled)
    arrays["spec.projections.0.post_idx"] = arrays["spec.projections.0.post_idx"][::-1].copy()
    path = tmp_path / "rewired.npz"
    write_image(path, arrays, meta)
    assert_load_refused(path, str(path), "network_sha256")


def test_a_broken_layout_is_refused_naming_the_image(compiled, tmp_path):
    arrays, meta = read_image(compiled)
    meta["spec"]["fields"]["populations"]["tuple"][0]["class"] = "Unknown"
    path = tmp_path / "layout.npz"
    write_image(path, arrays, meta)
    assert_load_refused(path, str(path), "spec.populations.0", "unknown class 'Unknown'")
