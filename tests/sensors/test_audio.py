"""Audio input: generated and FSDD files through soundfile + soxr, bad input, levels, microphones (real and faked)."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sensors.audio.sources import (
    AUDIO_EXTENSIONS, AudioFileSource, MicrophoneSource, audio_stats, is_audio_path, list_input_devices,
    read_audio_file,
)
from sensors.audio.types import AudioChunk, check_chunk, samples_to_us
from sensors.types import SourceError

DATA = Path(os.environ.get("NEUROEDGE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
FSDD_WAV = DATA / "audio" / "fsdd" / "recordings" / "0_george_0.wav"
CHUNK_SIZES = (1, 333, 1024, 4096, 1 << 20)


def sine(freq_hz: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def write(path: Path, data: np.ndarray, rate: int, **kwargs) -> Path:
    sf.write(path, data, rate, **kwargs)
    return path


def read_chunks(source: AudioFileSource, max_reads: int = 1_000_000) -> list[AudioChunk]:
    """Every chunk until None; fail instead of looping forever."""
    chunks = []
    for _ in range(max_reads):
        chunk = source.read()
        if chunk is None:
            source.close()
            return chunks
        check_chunk(chunk)
        chunks.append(chunk)
    pytest.fail("source never returned None")


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples[:, 0] * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


@pytest.fixture
def wav_8k(tmp_path: Path) -> Path:
    return write(tmp_path / "tone_8k.wav", sine(440, 8000, 1.0), 8000, subtype="PCM_16")


def assert_one_line_naming(error: pytest.ExceptionInfo, name: str) -> None:
    message = str(error.value)
    assert "\n" not in message and name in message, message


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_chunked_output_is_identical_whatever_the_chunk_size(tmp_path: Path, rate: int):
    path = write(tmp_path / f"noise_{rate}.wav", np.random.default_rng(rate).uniform(-0.9, 0.9, 12_345), rate)
    outputs = []
    for chunk_samples in CHUNK_SIZES:
        chunks = read_chunks(AudioFileSource(path, 16000, chunk_samples))
        assert all(c.n_samples == chunk_samples for c in chunks[:-1]) and 0 < chunks[-1].n_samples <= chunk_samples
        outputs.append(np.concatenate([c.samples for c in chunks]))
    assert abs(len(outputs[0]) - round(12_345 * 16000 / rate)) <= 1
    for output in outputs[1:]:
        assert np.array_equal(output, outputs[0])
    assert np.array_equal(read_audio_file(path).samples, outputs[0])


@pytest.mark.skipif(not FSDD_WAV.exists(), reason=f"{FSDD_WAV} not found (set NEUROEDGE_DATA)")
def test_fsdd_recording_8k_to_16k():
    info = sf.info(FSDD_WAV)
    source = AudioFileSource(FSDD_WAV, 16000, 500)
    assert (source.file_sample_rate, source.sample_rate, source.channels) == (8000, 16000, 1)
    assert source.duration_s == pytest.approx(info.frames / 8000)
    chunked = np.concatenate([c.samples for c in read_chunks(source)])
    assert abs(len(chunked) - 2 * info.frames) <= 1
    whole = read_audio_file(FSDD_WAV)
    assert whole.t0_us == 0 and whole.sample_rate == 16000
    assert np.array_equal(whole.samples, chunked)
    original = sf.read(FSDD_WAV, dtype="float32")[0]
    assert audio_stats(whole.samples)["peak"] == pytest.approx(np.abs(original).max(), rel=0.2)


@pytest.mark.parametrize("file_rate, freq_hz", [(44100, 1000.0), (8000, 440.0), (16000, 3000.0)])
def test_resampled_sine_keeps_its_frequency(tmp_path: Path, file_rate: int, freq_hz: float):
    path = write(tmp_path / "tone.wav", sine(freq_hz, file_rate, 1.0), file_rate, subtype="FLOAT")
    chunk = read_audio_file(path, 16000)
    assert chunk.n_samples == 16000
    assert peak_hz(chunk.samples, 16000) == pytest.approx(freq_hz, abs=2.0)
    assert audio_stats(chunk.samples[1000:-1000])["rms"] == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_t0_us_advances_exactly_by_samples(wav_8k: Path):
    chunks = read_chunks(AudioFileSource(wav_8k, 16000, 333))
    starts = np.cumsum([0] + [c.n_samples for c in chunks[:-1]])
    assert [c.t0_us for c in chunks] == [round(1e6 * int(n) / 16000) for n in starts]
    assert chunks[1].t0_us == 20812 and chunks[1].duration_us == 20812
    assert chunks[-1].t0_us + chunks[-1].duration_us == pytest.approx(1e6, abs=1)


def test_no_resampling_passes_samples_through(tmp_path: Path):
    data = sine(1000, 16000, 0.5)
    chunk = read_audio_file(write(tmp_path / "tone.wav", data, 16000, subtype="FLOAT"))
    assert np.array_equal(chunk.samples[:, 0], data)


def test_stereo_mixdown_and_kept_channels(tmp_path: Path):
    left, right = sine(300, 16000, 0.25, 0.8), sine(700, 16000, 0.25, 0.2)
    path = write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    mono = read_audio_file(path)
    assert mono.samples.shape == (4000, 1)
    np.testing.assert_allclose(mono.samples[:, 0], (left + right) / 2, atol=1e-7)
    with AudioFileSource(path, 16000, 1000, mono=False) as source:
        assert source.channels == 2
        chunks = read_chunks(source)
    both = np.concatenate([c.samples for c in chunks])
    assert both.flags.c_contiguous and np.array_equal(both, np.stack([left, right], axis=1))
    resampled = read_audio_file(path, 8000, mono=False)
    assert resampled.samples.shape == (2000, 2) and resampled.samples.flags.c_contiguous


def test_flac_and_ogg(tmp_path: Path):
    data = sine(500, 44100, 0.5)
    pcm = np.round(data * 32767).astype(np.int16)
    wav = read_audio_file(write(tmp_path / "tone.wav", pcm, 44100))
    flac = read_audio_file(write(tmp_path / "tone.flac", pcm, 44100))
    assert np.array_equal(flac.samples, wav.samples)
    ogg_path = write(tmp_path / "tone.ogg", data, 44100)
    ogg = read_audio_file(ogg_path)
    assert abs(ogg.n_samples - 8000) <= 1 and peak_hz(ogg.samples, 16000) == pytest.approx(500, abs=4)
    chunked = np.concatenate([c.samples for c in read_chunks(AudioFileSource(ogg_path, 16000, 700))])
    assert np.array_equal(chunked, ogg.samples)


def test_truncated_wav_reads_what_exists_without_warning(tmp_path: Path, wav_8k: Path):
    content = wav_8k.read_bytes()
    half = tmp_path / "half.wav"
    half.write_bytes(content[: len(content) // 2])
    full = read_audio_file(wav_8k)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cut = read_audio_file(half)
        assert AudioFileSource(half).duration_s < 0.5
    assert 0.45 * full.n_samples < cut.n_samples < 0.5 * full.n_samples


def bad_files(tmp_path: Path, wav: Path) -> dict[str, Path]:
    content = wav.read_bytes()
    files = {
        "missing": tmp_path / "missing.wav",
        "directory": tmp_path / "folder.wav",
        "empty": tmp_path / "empty.wav",
        "garbage": tmp_path / "garbage.wav",
        "header_20_bytes": tmp_path / "header20.wav",
        "header_only": tmp_path / "header_only.wav",
        "rate_0": tmp_path / "rate0.wav",
        "rate_1mhz": tmp_path / "rate1m.wav",
        "text": tmp_path / "notes.flac",
    }
    files["directory"].mkdir()
    files["empty"].write_bytes(b"")
    files["garbage"].write_bytes(np.random.default_rng(0).bytes(5000))
    files["header_20_bytes"].write_bytes(content[:20])
    files["header_only"].write_bytes(content[:44])
    for name, rate in (("rate_0", 0), ("rate_1mhz", 1_000_000)):
        files[name].write_bytes(content[:24] + struct.pack("<I", rate) + content[28:])
    files["text"].write_text("not audio at all\n" * 20)
    return files


@pytest.mark.parametrize("case, expected", [
    ("missing", "no such file"), ("directory", "directory"), ("empty", "empty file"),
    ("garbage", "not a readable audio file"), ("header_20_bytes", "not a readable audio file"),
    ("header_only", "no audio samples"), ("rate_0", "not a readable audio file"),
    ("rate_1mhz", "1000000 Hz in the header"), ("text", "not a readable audio file"),
])
def test_bad_files_raise_one_line_source_error(tmp_path: Path, wav_8k: Path, case: str, expected: str):
    path = bad_files(tmp_path, wav_8k)[case]
    for opener in (AudioFileSource, read_audio_file):
        with pytest.raises(SourceError) as error:
            opener(path)
        assert_one_line_naming(error, path.name)
        assert expected in str(error.value)


@pytest.mark.parametrize("kwargs, expected", [
    ({"sample_rate_hz": 0}, "sample_rate_hz"), ({"sample_rate_hz": -8000}, "sample_rate_hz"),
    ({"sample_rate_hz": 500_000}, "sample_rate_hz"), ({"sample_rate_hz": 16000.0}, "sample_rate_hz"),
    ({"chunk_samples": 0}, "chunk_samples"),
])
def test_bad_parameters_raise_one_line_source_error(wav_8k: Path, kwargs: dict, expected: str):
    with pytest.raises(SourceError) as error:
        AudioFileSource(wav_8k, **kwargs)
    assert_one_line_naming(error, wav_8k.name)
    assert expected in str(error.value)


def test_read_after_close_and_end_of_file(wav_8k: Path):
    with AudioFileSource(wav_8k, 8000, 8000) as source:
        assert source.read().n_samples == 8000
        assert source.read() is None and source.read() is None
    with pytest.raises(SourceError) as error:
        source.read()
    assert_one_line_naming(error, wav_8k.name)


def test_audio_stats_reports_silence_and_clipping():
    silence = np.zeros((1000, 1), np.float32)
    assert audio_stats(silence) == {"peak": 0.0, "rms": 0.0, "clipped_fraction": 0.0, "silent": True}
    clipped = np.clip(sine(100, 16000, 0.1, 2.0), -1.0, 1.0)[:, None]
    stats = audio_stats(clipped)
    assert stats["peak"] == 1.0 and 0.5 < stats["clipped_fraction"] < 0.8 and not stats["silent"]
    quiet = audio_stats(sine(100, 16000, 0.1, 1e-5))
    assert quiet["silent"] and quiet["clipped_fraction"] == 0.0
    assert audio_stats(np.zeros((0, 1), np.float32))["silent"]


def test_audio_chunk_and_check_chunk():
    chunk = AudioChunk(np.zeros((160, 2), np.float32), 5, 16000)
    check_chunk(chunk)
    assert (chunk.n_samples, len(chunk), chunk.duration_us) == (160, 160, 10_000)
    assert samples_to_us(1, 16000) == 62 and samples_to_us(3, 16000) == 188 and samples_to_us(1, 3) == 333_333
    bad = [
        (AudioChunk(np.zeros((4, 1), np.float64), 0, 16000), "float32"),
        (AudioChunk(np.zeros(4, np.float32), 0, 16000), "shape"),
        (AudioChunk(np.zeros((4, 0), np.float32), 0, 16000), "shape"),
        (AudioChunk(np.zeros((4, 2), np.float32)[::2], 0, 16000), "C-contiguous"),
        (AudioChunk(np.full((4, 1), np.nan, np.float32), 0, 16000), "NaN"),
        (AudioChunk(np.zeros((4, 1), np.float32), 0.5, 16000), "t0_us"),
        (AudioChunk(np.zeros((4, 1), np.float32), 0, 0), "sample_rate"),
    ]
    for chunk, field in bad:
        with pytest.raises(ValueError, match=field):
            check_chunk(chunk, "mic")


def test_is_audio_path():
    assert {".wav", ".flac", ".ogg"} <= AUDIO_EXTENSIONS
    assert is_audio_path("a/b/SPEECH.WAV") and is_audio_path(Path("x.flac")) and is_audio_path("x.oga")
    assert not is_audio_path("events.aedat4") and not is_audio_path("video.avi") and not is_audio_path("wav")


def test_microphone_without_input_device_raises_one_line_source_error():
    """Holds with PortAudio (no input device on this machine) and without it (the error says how to install it)."""
    try:
        devices = list_input_devices()
    except SourceError as error:  # no PortAudio library: say so, and how to install it
        assert "\n" not in str(error) and "apt-get install libportaudio2" in str(error), str(error)
        expected = "apt-get install libportaudio2"
    else:
        assert isinstance(devices, list) and all(d["max_input_channels"] > 0 for d in devices)
        if devices:
            pytest.skip("this machine has an audio input device")
        expected = "no audio input device"
    for device in (None, 0, 99, "no such mic"):
        with pytest.raises(SourceError) as error:
            MicrophoneSource(device)
        assert_one_line_naming(error, "default microphone" if device is None else f"microphone {device!r}")
        assert expected in str(error.value), str(error.value)


@pytest.mark.parametrize("kwargs", [{"sample_rate_hz": 0}, {"chunk_samples": 0}, {"channels": 0}])
def test_microphone_bad_parameters(kwargs: dict):
    with pytest.raises(SourceError) as error:
        MicrophoneSource("usb", **kwargs)
    assert_one_line_naming(error, "'usb'")


class _NoPortAudio:
    """A meta-path finder that makes ``import sounddevice`` fail as it does without the PortAudio library."""

    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return None


def test_missing_portaudio_library_is_one_line_naming_the_input_and_the_install(monkeypatch):
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoPortAudio(), *sys.meta_path])
    calls = ((MicrophoneSource, "default microphone"), (lambda: MicrophoneSource(3), "microphone 3"),
             (list_input_devices, "audio input"))
    for call, name in calls:
        with pytest.raises(SourceError) as error:
            call()
        assert_one_line_naming(error, "apt-get install libportaudio2")
        assert str(error.value).startswith(f"{name}: ") and "PortAudio library not found" in str(error.value)


def test_missing_sounddevice_package_is_one_line_with_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    for call in (MicrophoneSource, list_input_devices):
        with pytest.raises(SourceError) as error:
            call()
        assert_one_line_naming(error, "apt-get install libportaudio2")
        assert "pip install sounddevice" in str(error.value)


def test_importing_sensors_audio_does_not_import_sounddevice():
    code = "import sys, sensors.audio.sources; sys.exit('sounddevice' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, timeout=60).returncode == 0


class FakeInputStream:
    """A blocking PortAudio input stream that returns a ramp and reports an overflow on every third read."""

    def __init__(self, device, samplerate, blocksize, channels, dtype):
        if device == "busy":
            raise FakeSoundDevice.PortAudioError("Device unavailable")
        self.channels, self.reads, self.closed, self.started = channels, 0, False, False

    def start(self):
        self.started = True

    def read(self, frames):
        data = np.arange(frames * self.channels, dtype=np.float32).reshape(frames, self.channels) / 1e4
        self.reads += 1
        return data, self.reads % 3 == 0

    def close(self):
        self.closed = True


class FakeSoundDevice(types.ModuleType):
    class PortAudioError(Exception):
        pass

    InputStream = FakeInputStream

    def __init__(self, devices: list[dict]):
        super().__init__("sounddevice")
        self.devices = devices

    def query_devices(self, kind=None):
        if kind == "input":
            return {**self.devices[1], "index": 1}
        return self.devices


def test_microphone_reads_chunks_counts_overflows(monkeypatch):
    devices = [
        {"name": "speakers", "max_input_channels": 0, "default_samplerate": 48000.0},
        {"name": "usb mic", "max_input_channels": 2, "default_samplerate": 44100.0},
    ]
    monkeypatch.setitem(sys.modules, "sounddevice", FakeSoundDevice(devices))
    assert list_input_devices() == [
        {"index": 1, "name": "usb mic", "max_input_channels": 2, "default_samplerate": 44100.0, "is_default": True}
    ]
    with MicrophoneSource("usb", 16000, 160, channels=2) as mic:
        stream = mic._stream
        assert stream.started
        chunks = [mic.read() for _ in range(6)]
    assert stream.closed and mic.overflows == 2
    assert [c.t0_us for c in chunks] == [0, 10_000, 20_000, 30_000, 40_000, 50_000]
    for chunk in chunks:
        check_chunk(chunk)
        assert chunk.samples.shape == (160, 2) and chunk.sample_rate == 16000
    with pytest.raises(SourceError) as error:
        mic.read()
    assert_one_line_naming(error, "'usb'")
    with pytest.raises(SourceError) as error:
        MicrophoneSource("busy")
    assert_one_line_naming(error, "'busy'")
    assert "Device unavailable" in str(error.value)
