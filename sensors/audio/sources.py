"""Audio input as AudioChunk: files via soundfile (libsndfile) resampled by soxr, microphones via sounddevice.

Bad input raises SourceError, one line naming the file or device: missing, empty or unreadable files, formats
libsndfile does not know, headers with a sample rate outside 1..384000 Hz, files with no audio samples, and bad
requested parameters. A truncated file (data shorter than its header says) is not an error: libsndfile trims the
frame count to what the file holds and the source reads that, without a warning. Silence and clipping are not
errors either; ``audio_stats`` measures them so callers can report them. sounddevice is imported only when a
microphone is used, so this module does not need PortAudio.
"""
from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import numpy as np
import soundfile as sf
import soxr

from sensors.audio.types import MAX_SAMPLE_RATE_HZ, AudioChunk, samples_to_us
from sensors.types import SourceError

__all__ = [
    "AUDIO_EXTENSIONS", "AudioFileSource", "MicrophoneSource", "audio_stats", "is_audio_path",
    "list_input_devices", "read_audio_file",
]

_FORMAT_EXTENSIONS = {
    "WAV": (".wav",), "WAVEX": (".wav",), "RF64": (".rf64",), "W64": (".w64",), "FLAC": (".flac",),
    "OGG": (".ogg", ".oga"), "MP3": (".mp3",), "AIFF": (".aiff", ".aif", ".aifc"), "AU": (".au", ".snd"),
    "CAF": (".caf",),
}
AUDIO_EXTENSIONS = frozenset(
    ext for fmt, exts in _FORMAT_EXTENSIONS.items() if fmt in sf.available_formats() for ext in exts
)
"""Lower-case file extensions of the formats this build of libsndfile reads."""

CLIP_LEVEL = 0.999
"""``|x| >= CLIP_LEVEL`` (full scale 1.0) counts as clipped."""
SILENCE_RMS = 1e-4
"""RMS below this (full scale 1.0, about -80 dBFS) counts as silent."""
_WHOLE_FILE_CHUNK = 1 << 16
_PORTAUDIO_INSTALL = "apt-get install libportaudio2"
"""How to install the PortAudio library on Debian/Ubuntu (named in the error when it is missing)."""


def is_audio_path(path: str | Path) -> bool:
    """True when the extension of ``path`` belongs to a format soundfile reads here (``AUDIO_EXTENSIONS``)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def audio_stats(samples: np.ndarray) -> dict[str, float | bool]:
    """Level summary of samples at full scale 1.0: ``peak`` and ``rms`` (linear), ``clipped_fraction``
    (share of values with ``|x| >= CLIP_LEVEL``) and ``silent`` (``rms < SILENCE_RMS``; True when empty)."""
    values = np.abs(np.asarray(samples, dtype=np.float64))
    if values.size == 0:
        return {"peak": 0.0, "rms": 0.0, "clipped_fraction": 0.0, "silent": True}
    rms = float(np.sqrt(np.mean(values * values)))
    return {
        "peak": float(values.max()),
        "rms": rms,
        "clipped_fraction": float(np.count_nonzero(values >= CLIP_LEVEL) / values.size),
        "silent": rms < SILENCE_RMS,
    }


def _check_rate(owner: str, what: str, rate: int) -> None:
    if not isinstance(rate, (int, np.integer)) or isinstance(rate, bool) or not 0 < rate <= MAX_SAMPLE_RATE_HZ:
        raise SourceError(f"{owner}: {what} must be an integer in 1..{MAX_SAMPLE_RATE_HZ} Hz, got {rate!r}")


def _check_count(owner: str, what: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise SourceError(f"{owner}: {what} must be an integer >= 1, got {value!r}")


def _open_sound_file(path: Path) -> sf.SoundFile:
    """Open ``path`` with libsndfile; SourceError naming the file when it is missing, empty or not audio."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror})") from None
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not an audio file")
    if size == 0:
        raise SourceError(f"{path}: empty file")
    try:
        return sf.SoundFile(path)
    except sf.LibsndfileError as e:
        raise SourceError(
            f"{path}: not a readable audio file: unsupported format, truncated header or not audio "
            f"(libsndfile: {e.error_string})"
        ) from None


class AudioFileSource:
    """Stream an audio file as AudioChunk of ``chunk_samples`` samples (the last may be shorter); None at the end.

    The file is decoded block by block, mixed to one channel (mean) when ``mono``, and resampled to
    ``sample_rate_hz`` by a streaming soxr resampler whose state runs across blocks, so the concatenated
    output does not depend on ``chunk_samples``. ``t0_us`` of each chunk is ``samples_to_us`` of the samples
    emitted before it, starting at 0.

    Parameters
    ----------
    path : any file libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, MP3 with libsndfile >= 1.1, ...).
    sample_rate_hz : output sample rate, Hz.
    chunk_samples : samples per channel in each chunk.
    mono : average the channels into one; otherwise keep the file's channels.

    Attributes: ``path``, ``sample_rate`` (output, Hz), ``file_sample_rate`` (Hz), ``channels`` (output),
    ``duration_s`` (file duration from its header, s), ``chunk_samples``.
    """

    format = "audio"

    def __init__(
        self, path: str | Path, sample_rate_hz: int = 16000, chunk_samples: int = 1024, mono: bool = True
    ) -> None:
        self.path = Path(path)
        _check_rate(str(self.path), "sample_rate_hz", sample_rate_hz)
        _check_count(str(self.path), "chunk_samples", chunk_samples)
        file = _open_sound_file(self.path)
        rate, frames = file.samplerate, file.frames
        problem = (f"sample rate {rate} Hz in the header is outside 1..{MAX_SAMPLE_RATE_HZ}"
                   if not 0 < rate <= MAX_SAMPLE_RATE_HZ else "no audio samples" if frames <= 0 else None)
        if problem is not None:
            file.close()
            raise SourceError(f"{self.path}: {problem}")
        self._file: sf.SoundFile | None = file
        self.sample_rate = int(sample_rate_hz)
        self.file_sample_rate = rate
        self.chunk_samples = int(chunk_samples)
        self.channels = 1 if mono else file.channels
        self.duration_s = frames / rate
        self._mono = mono
        self._resampler = (
            soxr.ResampleStream(rate, self.sample_rate, self.channels, dtype="float32")
            if rate != self.sample_rate else None
        )
        self._block_frames = math.ceil(self.chunk_samples * rate / self.sample_rate)
        self._pending: list[np.ndarray] = []
        self._buffered = 0
        self._emitted = 0
        self._decoded = 0
        self._eof = False

    def _pull(self, file: sf.SoundFile) -> None:
        """Decode, mix down and resample one block into the pending buffer; an empty read flushes soxr."""
        try:
            block = file.read(self._block_frames, dtype="float32", always_2d=True)
        except sf.LibsndfileError as e:
            raise SourceError(f"{self.path}: decode error after {self._decoded} frames ({e.error_string})") from None
        self._decoded += len(block)
        self._eof = len(block) == 0
        if self._mono and block.shape[1] > 1:
            block = block.mean(axis=1, keepdims=True, dtype=np.float32)
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block, last=self._eof)
        if len(block):
            self._pending.append(block)
            self._buffered += len(block)

    def _take(self, n: int) -> np.ndarray:
        """Remove and return the first ``n`` pending samples as one C-contiguous array."""
        pending = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
        self._pending = [pending[n:]] if len(pending) > n else []
        self._buffered -= n
        return np.ascontiguousarray(pending[:n])

    def read(self) -> AudioChunk | None:
        """The next chunk of up to ``chunk_samples`` samples, or None at the end of the file."""
        if self._file is None:
            raise SourceError(f"{self.path}: read() after close()")
        while self._buffered < self.chunk_samples and not self._eof:
            self._pull(self._file)
        if self._buffered == 0:
            if self._emitted == 0:
                raise SourceError(f"{self.path}: no audio samples")
            return None
        samples = self._take(min(self.chunk_samples, self._buffered))
        chunk = AudioChunk(samples, samples_to_us(self._emitted, self.sample_rate), self.sample_rate)
        self._emitted += len(samples)
        return chunk

    def close(self) -> None:
        """Close the file; further ``read()`` calls raise SourceError."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._pending = []
        self._buffered = 0

    def __enter__(self) -> AudioFileSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_audio_file(path: str | Path, sample_rate_hz: int = 16000, mono: bool = True) -> AudioChunk:
    """The whole file as one AudioChunk at ``sample_rate_hz`` Hz (``t0_us`` = 0), read through AudioFileSource."""
    with AudioFileSource(path, sample_rate_hz, _WHOLE_FILE_CHUNK, mono) as source:
        parts = []
        while (chunk := source.read()) is not None:
            parts.append(chunk.samples)
    return AudioChunk(np.concatenate(parts), 0, source.sample_rate)


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def _import_sounddevice(owner: str) -> ModuleType:
    """sounddevice, or SourceError (one line, starting with ``owner``) saying what is missing and how to install
    it: the PortAudio library (sounddevice raises OSError "PortAudio library not found") or the package."""
    try:
        import sounddevice
    except OSError as e:
        raise SourceError(f"{owner}: cannot use audio input without the PortAudio library ({_first_line(e)}); "
                          f"install it, e.g. {_PORTAUDIO_INSTALL}") from None
    except ImportError as e:
        raise SourceError(f"{owner}: cannot use audio input without the sounddevice package ({_first_line(e)}); "
                          f"install it (pip install sounddevice) and PortAudio (e.g. {_PORTAUDIO_INSTALL})") from None
    return sounddevice


def _input_devices(sd: ModuleType, owner: str) -> list[dict]:
    try:
        devices = sd.query_devices()
    except sd.PortAudioError as e:
        raise SourceError(f"{owner}: cannot list audio input devices ({_first_line(e)})") from None
    try:
        default_index = sd.query_devices(kind="input")["index"]
    except sd.PortAudioError:
        default_index = -1
    return [
        {
            "index": index,
            "name": device["name"],
            "max_input_channels": device["max_input_channels"],
            "default_samplerate": device["default_samplerate"],
            "is_default": index == default_index,
        }
        for index, device in enumerate(devices)
        if device["max_input_channels"] > 0
    ]


def list_input_devices() -> list[dict]:
    """Devices with input channels: ``index``, ``name``, ``max_input_channels``, ``default_samplerate`` (Hz),
    ``is_default``. Empty when there are none; SourceError (one line) when PortAudio is missing."""
    return _input_devices(_import_sounddevice("audio input"), "audio input")


class MicrophoneSource:
    """Live audio from a PortAudio input device as AudioChunk of exactly ``chunk_samples`` samples.

    The stream is opened in blocking mode (no callback, so no Python thread); ``read()`` waits for the next
    chunk. ``t0_us`` counts the samples read (samples dropped by an input overflow are not counted);
    ``overflows`` counts the reads that reported one.

    Parameters
    ----------
    device : PortAudio device index or (part of its) name; None for the default input.
    sample_rate_hz : sample rate, Hz.
    chunk_samples : samples per channel in each chunk.
    channels : input channels to record.
    """

    format = "microphone"

    def __init__(
        self, device: int | str | None = None, sample_rate_hz: int = 16000, chunk_samples: int = 512,
        channels: int = 1,
    ) -> None:
        self.name = "default microphone" if device is None else f"microphone {device!r}"
        _check_rate(self.name, "sample_rate_hz", sample_rate_hz)
        _check_count(self.name, "chunk_samples", chunk_samples)
        _check_count(self.name, "channels", channels)
        sd = _import_sounddevice(self.name)
        if not _input_devices(sd, self.name):
            raise SourceError(f"{self.name}: no audio input device on this machine")
        try:
            stream = sd.InputStream(
                device=device, samplerate=sample_rate_hz, blocksize=chunk_samples, channels=channels, dtype="float32"
            )
        except (sd.PortAudioError, ValueError) as e:
            raise SourceError(f"{self.name}: cannot open audio input ({_first_line(e)})") from None
        try:
            stream.start()
        except sd.PortAudioError as e:
            stream.close()
            raise SourceError(f"{self.name}: cannot start audio input ({_first_line(e)})") from None
        self._sd = sd
        self._stream = stream
        self.device = device
        self.sample_rate = int(sample_rate_hz)
        self.chunk_samples = int(chunk_samples)
        self.channels = int(channels)
        self.overflows = 0
        self._samples_read = 0

    def read(self) -> AudioChunk:
        """Block until the next ``chunk_samples`` samples have been recorded and return them."""
        if self._stream is None:
            raise SourceError(f"{self.name}: read() after close()")
        try:
            data, overflowed = self._stream.read(self.chunk_samples)
        except self._sd.PortAudioError as e:
            raise SourceError(f"{self.name}: audio input failed ({_first_line(e)})") from None
        self.overflows += bool(overflowed)
        chunk = AudioChunk(np.ascontiguousarray(data, dtype=np.float32),
                           samples_to_us(self._samples_read, self.sample_rate), self.sample_rate)
        self._samples_read += len(data)
        return chunk

    def close(self) -> None:
        """Stop and close the stream; further ``read()`` calls raise SourceError."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __enter__(self) -> MicrophoneSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
