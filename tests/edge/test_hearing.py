"""edge.hearing: files through the whole audio path (decode, resample, cochlea, encoder, segmenter, word
network), teaching, models as checkpoints, FSDD file names; and one short run on the shared FSDD data."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edge.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from edge.hearing import (
    FileResult,
    Hearing,
    HearingConfig,
    fsdd_files,
    hear_file,
    heard_action,
    load_model,
    save_model,
)
from sensors.audio.sources import read_audio_file
from sensors.audio.types import AudioChunk
from snn.encoding.cochlea import CochleaConfig
from snn.encoding.encode_audio import AudioEncoderConfig
from snn.hearing.word_net import WordNetConfig

REPO = Path(__file__).resolve().parents[2]
SILENCE_S, TONE_S = 0.3, 0.4


def tone_burst(rate: int, freq: float = 1000.0, amplitude: float = 0.3) -> np.ndarray:
    """SILENCE_S of silence, a TONE_S tone with 10 ms ramps, SILENCE_S of silence."""
    n_sil, n_tone = int(SILENCE_S * rate), int(TONE_S * rate)
    t = np.arange(n_tone) / rate
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
    tone = amplitude * ramp * np.sin(2 * np.pi * freq * t)
    return np.concatenate([np.zeros(n_sil), tone, np.zeros(n_sil)])


@pytest.fixture(scope="module")
def wavs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("wavs")
    files = {
        "burst_8k": (tone_burst(8000), 8000),
        "burst_44k": (tone_burst(44100), 44100),
        "low_16k": (tone_burst(16000, freq=300.0), 16000),
        "high_16k": (tone_burst(16000, freq=2500.0), 16000),
        "stereo_16k": (np.stack([tone_burst(16000), 0.5 * tone_burst(16000)], axis=1), 16000),
        "silence": (np.zeros(16000), 16000),
    }
    out = {}
    for name, (samples, rate) in files.items():
        out[name] = folder / f"{name}.wav"
        sf.write(out[name], samples, rate)
    return out


@pytest.fixture(scope="module")
def hearing() -> Hearing:
    return Hearing(HearingConfig())


# ---------------------------------------------------------------- hear_file


@pytest.mark.parametrize("name", ["burst_8k", "burst_44k", "stereo_16k", "low_16k"])
def test_a_tone_burst_is_one_utterance(hearing, wavs, name):
    result, utterance = hear_file(hearing, wavs[name])
    assert isinstance(result, FileResult)
    assert result.path == wavs[name]
    assert result.n_utterances == 1 and not result.silent
    assert result.duration_s == pytest.approx(2 * SILENCE_S + TONE_S, abs=1e-3)
    assert result.clipped_fraction == 0.0
    assert utterance is not None and utterance.ticks.size > 0
    dt_us = hearing.encoder.dt_us
    # onset within a few ms of the tone; the end includes the filters' ring-down but not the hangover
    assert abs(utterance.start_tick * dt_us - SILENCE_S * 1e6) <= 10_000
    assert TONE_S * 1e6 - 20_000 <= utterance.n_ticks * dt_us <= TONE_S * 1e6 + 60_000
    heard = result.heard
    assert heard is not None
    assert heard.t_start_us == utterance.start_tick * dt_us
    assert heard.t_end_us == (utterance.start_tick + utterance.n_ticks) * dt_us
    assert heard.label == hearing.config.labels[heard.decision.label]
    action = heard_action(heard, 7)
    assert action.values[0] == float(heard.decision.label)
    assert action.values[2] == pytest.approx(heard.t_start_us * 1e-6)


def test_resampled_file_gives_nearly_the_same_utterance(hearing, wavs):
    _, u8 = hear_file(hearing, wavs["burst_8k"])
    _, u44 = hear_file(hearing, wavs["burst_44k"])
    assert abs(u8.start_tick - u44.start_tick) <= 3
    assert abs(u8.n_ticks - u44.n_ticks) <= 5


def test_silence_file_is_silent(hearing, wavs):
    result, utterance = hear_file(hearing, wavs["silence"])
    assert utterance is None
    assert result.silent is True and result.heard is None and result.n_utterances == 0
    assert result.duration_s == pytest.approx(1.0)


def test_hear_file_does_not_depend_on_chunk_size(hearing, wavs):
    _, a = hear_file(hearing, wavs["burst_44k"], chunk_samples=4096)
    _, b = hear_file(hearing, wavs["burst_44k"], chunk_samples=333)
    assert (a.start_tick, a.n_ticks) == (b.start_tick, b.n_ticks)
    assert np.array_equal(a.ticks, b.ticks) and np.array_equal(a.neuron_ids, b.neuron_ids)


def test_feed_whole_file_equals_hear_file(wavs):
    h = Hearing(HearingConfig())
    _, expected = hear_file(h, wavs["burst_8k"])
    h.reset_stream()
    chunk = read_audio_file(wavs["burst_8k"], sample_rate_hz=h.sample_rate_hz)
    utterances = h.utterances_in(chunk) + h.end_of_stream()
    assert len(utterances) == 1
    assert np.array_equal(utterances[0].ticks, expected.ticks)
    assert np.array_equal(utterances[0].neuron_ids, expected.neuron_ids)


def test_chunk_at_the_wrong_rate_is_refused():
    h = Hearing(HearingConfig())
    with pytest.raises(ValueError, match="8000 Hz"):
        h.feed(AudioChunk(np.zeros((100, 1), dtype=np.float32), 0, 8000))


# ---------------------------------------------------------------- teaching and models


def test_teach_changes_weights(wavs):
    h = Hearing(HearingConfig())
    hear_file(h, wavs["burst_8k"])
    before = h.net.weights.copy()
    assert h.teach("3") is True
    assert not np.array_equal(h.net.weights, before)
    assert h.net.weights[:, 3].sum() > 0
    assert h.label_index(3) == 3
    with pytest.raises(ValueError, match="unknown label"):
        h.teach("eleven")


def small_config() -> HearingConfig:
    return HearingConfig(
        audio=AudioEncoderConfig(cochlea=CochleaConfig(n_channels=12, f_min_hz=150.0, f_max_hz=3500.0,
                                                       sample_rate_hz=8000),
                                 encoder="sigma_delta", encoder_params={"threshold": 0.1}, gain=0.5),
        word_net=WordNetConfig(n_classes=2, n_bins=8, replay_ticks=16),
        labels=("low", "high"))


def trained(config: HearingConfig, wavs) -> Hearing:
    h = Hearing(config)
    files = [(wavs["low_16k"], config.labels[0]), (wavs["high_16k"], config.labels[1])]
    for _ in range(4):
        for path, label in files:
            hear_file(h, path)
            h.teach(label)
    return h


@pytest.mark.parametrize("make_config", [HearingConfig, small_config])
def test_save_load_round_trip_gives_the_same_decisions(tmp_path, wavs, make_config):
    h = trained(make_config(), wavs)
    path = save_model(tmp_path / "model.npz", h, {"note": "test"})
    loaded = load_model(path)
    assert loaded.config == h.config
    assert np.array_equal(loaded.net.weights, h.net.weights)
    assert load_checkpoint(path)[1]["note"] == "test"
    for name in ("low_16k", "high_16k", "burst_44k"):
        a, _ = hear_file(h, wavs[name])
        b, _ = hear_file(loaded, wavs[name])
        assert a.heard.label == b.heard.label
        np.testing.assert_array_equal(a.heard.decision.drive, b.heard.decision.drive)
    if make_config is small_config:
        assert hear_file(loaded, wavs["low_16k"])[0].heard.label == "low"
        assert hear_file(loaded, wavs["high_16k"])[0].heard.label == "high"


def one_line_error(path: Path) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return info.value


def test_load_model_refuses_other_checkpoints_and_garbage(tmp_path):
    other = save_checkpoint(tmp_path / "net.npz", {"weight_mv": np.zeros(4)}, {"kind": "network"})
    assert "not a hearing model" in str(one_line_error(other))

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file\x00\x01" * 20)
    one_line_error(garbage)
    one_line_error(tmp_path / "missing.npz")

    wrong_shape = save_checkpoint(tmp_path / "shape.npz", {"weights": np.zeros((3, 3))},
                                  {"kind": "hearing", "config": HearingConfig().to_dict()})
    assert "not a usable hearing model" in str(one_line_error(wrong_shape))

    bad_config = HearingConfig().to_dict()
    bad_config["audio"]["cochlea"]["bogus"] = 1
    bad = save_checkpoint(tmp_path / "bad.npz", {"weights": np.zeros((1, 1))}, {"kind": "hearing", "config": bad_config})
    assert "bogus" in str(one_line_error(bad))

    no_config = save_checkpoint(tmp_path / "noconf.npz", {"weights": np.zeros((1, 1))}, {"kind": "hearing"})
    one_line_error(no_config)


def test_config_from_dict_errors():
    with pytest.raises(ValueError, match=r"hearing\.extra"):
        HearingConfig.from_dict({"extra": 1})
    with pytest.raises(ValueError, match=r"hearing\.word_net\.bogus"):
        HearingConfig.from_dict({"word_net": {"bogus": 1}})
    with pytest.raises(ValueError, match=r"hearing\.labels"):
        HearingConfig(labels=("a", "b"))
    three = HearingConfig.from_dict({"word_net": {"n_classes": 3}})
    assert three.labels == ("0", "1", "2")


# ---------------------------------------------------------------- FSDD names


def test_fsdd_files_parses_names_filters_indices_and_ignores_others(tmp_path):
    names = ["0_jackson_0.wav", "3_theo_12.wav", "9_george_5.wav", "7_jackson_49.wav", "1_jackson_50.wav",
             "readme.txt", "x_jackson_1.wav", "10_jackson_1.wav", "1_jack2_1.wav", "2_jackson_1.flac",
             "2_jackson.wav", "2_jackson_1.wav.bak"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "4_jackson_3.wav").mkdir()  # the name matches; fsdd_files does not look inside
    found = fsdd_files(tmp_path)
    assert [(p.name, d) for p, d in found] == [
        ("0_jackson_0.wav", 0), ("1_jackson_50.wav", 1), ("3_theo_12.wav", 3), ("4_jackson_3.wav", 4),
        ("7_jackson_49.wav", 7), ("9_george_5.wav", 9)]
    assert all(p.parent == tmp_path for p, _ in found)
    train = fsdd_files(tmp_path, range(5, 50))
    assert [p.name for p, _ in train] == ["3_theo_12.wav", "7_jackson_49.wav", "9_george_5.wav"]
    assert fsdd_files(tmp_path, range(0, 1)) == [(tmp_path / "0_jackson_0.wav", 0)]
    assert fsdd_files(tmp_path, range(100, 200)) == []


def test_fsdd_files_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        fsdd_files(tmp_path / "nope")
    (tmp_path / "file.wav").write_bytes(b"")
    with pytest.raises(FileNotFoundError):
        fsdd_files(tmp_path / "file.wav")


# ---------------------------------------------------------------- shared data


def recordings() -> Path:
    env = os.environ.get("NEUROEDGE_DATA")
    data = Path(env) if env else REPO.parent / "shared" / "data"
    folder = data / "audio" / "fsdd" / "recordings"
    if not folder.is_dir():
        pytest.skip(f"FSDD recordings {folder} not available (set NEUROEDGE_DATA)")
    return folder


def test_fsdd_one_speaker_is_learned():
    from edge.bench.fsdd import evaluate, train

    files = [f for f in fsdd_files(recordings(), range(5, 10)) if f[0].name.split("_")[1] == "jackson"]
    if len(files) != 50:
        pytest.skip(f"expected 50 jackson files with indices 5-9, found {len(files)}")
    assert sorted({d for _, d in files}) == list(range(10))
    hearing = Hearing(HearingConfig())
    summary = train(hearing, files, epochs=5, seed=0, log=lambda m: None)
    assert summary["n_train"] == 50 and summary["train_silent"] == 0
    assert summary["updates"] > 0
    result = evaluate(hearing, files)
    assert result["n_test"] == 50 and result["test_silent"] == 0
    assert result["accuracy"] >= 0.9


def test_clipped_samples_are_counted_and_processed(hearing, tmp_path):
    samples = np.clip(tone_burst(16000, amplitude=3.0), -1.0, 1.0).astype(np.float32)
    path = tmp_path / "clipped.wav"
    sf.write(path, samples, 16000, subtype="FLOAT")
    result, utterance = hear_file(hearing, path)
    expected = np.count_nonzero(np.abs(samples) >= 0.999) / samples.size
    assert expected > 0.1
    assert result.clipped_fraction == pytest.approx(expected)
    assert result.n_utterances == 1 and utterance is not None
