"""Atomic, versioned checkpoints of learned state: named NumPy arrays plus JSON metadata.

Writes go to a fsynced temp file that replaces the target; the previous good file is kept as `<path>.prev`.
Both are mode 0600: learned state is readable by its owner only.
"""

import hashlib
import io
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

CHECKPOINT_VERSION = 1
FILE_MODE = 0o600  # owner read/write only, for the checkpoint and its .prev
FORMAT_TAG = "neuroedge-checkpoint"
_META = "__meta__"
_ZIP_ENCRYPTED = 0x1  # general-purpose flag bit 0
_KINDS = "biufc"  # bool, signed, unsigned, float, complex: never pickled
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_READ_ERRORS = (OSError, ValueError, zipfile.BadZipFile, KeyError, EOFError, json.JSONDecodeError,
                UnicodeDecodeError, NotImplementedError)


class CheckpointError(Exception):
    """A checkpoint file is missing, corrupt or unsupported; the message names the file."""


def _prev_path(path: Path) -> Path:
    return path.with_name(path.name + ".prev")


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over each array's name, dtype, shape and C-order bytes, in sorted-name order."""
    sha = hashlib.sha256()
    for name in sorted(arrays):
        array = arrays[name]
        sha.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode() + b"\n")
        sha.update(array.tobytes(order="C"))
    return sha.hexdigest()


def _first_non_finite(arrays: dict[str, np.ndarray]) -> str | None:
    """The name of the first float array holding NaN or infinity, or None: such state is never learned state."""
    for name in sorted(arrays):
        array = arrays[name]
        if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
            return name
    return None


def _check_arrays(arrays: dict[str, np.ndarray]) -> None:
    for name, array in arrays.items():
        if not isinstance(name, str) or not name or "\0" in name:
            raise ValueError(f"save_checkpoint: array name {name!r} must be a non-empty str without NUL")
        if name == _META:
            raise ValueError(f"save_checkpoint: array name {name!r} is reserved for the metadata")
        if not isinstance(array, np.ndarray) or array.dtype.kind not in _KINDS:
            kind = getattr(array, "dtype", type(array).__name__)
            raise TypeError(f"save_checkpoint: arrays[{name!r}] is {kind}, expected a numeric/bool ndarray")


def _write(fh: io.BufferedWriter, arrays: dict[str, np.ndarray], meta_utf8: bytes) -> None:
    members = {**arrays, _META: np.frombuffer(meta_utf8, dtype=np.uint8)}
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(members):
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, members[name], allow_pickle=False)


def save_checkpoint(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Atomically write `arrays` and JSON-able `meta` to `path` (.npz) and return `path`.

    A valid file already at `path` becomes `<path>.prev`. On failure the temp file is removed and the last
    good checkpoint stays loadable by `load_latest_valid`.
    """
    _check_arrays(arrays)
    bad = _first_non_finite(arrays)
    if bad is not None:
        raise CheckpointError(f"{path}: not written: array {bad!r} holds non-finite values (the last good "
                              "checkpoint is kept)")
    if not isinstance(meta, dict):
        raise TypeError(f"save_checkpoint: meta is {type(meta).__name__}, expected dict")
    doc = {"format": FORMAT_TAG, "version": CHECKPOINT_VERSION, "meta": meta, "sha256": _digest(arrays)}
    try:
        meta_utf8 = json.dumps(doc).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_checkpoint: meta is not JSON-able ({exc})") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE), "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)  # also when a stale temp file of another mode was there
            _write(fh, arrays, meta_utf8)
            fh.flush()
            os.fsync(fh.fileno())
        if _is_valid(path):
            os.replace(path, _prev_path(path))
            os.chmod(_prev_path(path), FILE_MODE)  # a checkpoint written before 0600 existed
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def _is_valid(path: Path) -> bool:
    try:
        load_checkpoint(path)
    except CheckpointError:
        return False
    return True


def _read_array(data: bytes, name: str) -> np.ndarray:
    """Parse one .npy member without pickle, refusing a header that disagrees with the member's size."""
    fh = io.BytesIO(data)
    version = np.lib.format.read_magic(fh)
    if version not in _HEADER_READERS:
        raise ValueError(f"array {name!r} has unsupported .npy version {version}")
    shape, fortran_order, dtype = _HEADER_READERS[version](fh)
    count = math.prod(shape)
    if dtype.kind not in _KINDS or count * dtype.itemsize != len(data) - fh.tell():
        raise ValueError(f"array {name!r} header ({dtype}, {shape}) does not match its {len(data)} bytes")
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=fh.tell())
    return flat.reshape(shape, order="F" if fortran_order else "C").copy()


def _parse_doc(path: Path, meta_array: np.ndarray) -> dict:
    if meta_array.dtype != np.uint8 or meta_array.ndim != 1:
        raise CheckpointError(f"{path}: {_META} is {meta_array.dtype}{meta_array.shape}, expected 1-d uint8")
    doc = json.loads(meta_array.tobytes().decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_TAG:
        raise CheckpointError(f"{path}: not a neuroedge checkpoint (format tag is not {FORMAT_TAG!r})")
    version = doc.get("version")
    if type(version) is int and version > CHECKPOINT_VERSION:
        supported = f"is newer than this neuroedge supports ({CHECKPOINT_VERSION})"
        raise CheckpointError(f"{path}: checkpoint version {version} {supported}")
    if type(version) is not int or version != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint version {version!r}")
    if not isinstance(doc.get("meta"), dict) or not isinstance(doc.get("sha256"), str):
        raise CheckpointError(f"{path}: {_META} lacks a 'meta' dict or a 'sha256' string")
    return doc


def load_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read and verify a checkpoint written by `save_checkpoint` and return (arrays, meta).

    Raises CheckpointError, naming the file, if it is missing, corrupt, or of an unsupported version.
    """
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        zf = zipfile.ZipFile(path)
    except _READ_ERRORS as exc:
        raise CheckpointError(f"{path}: not a neuroedge checkpoint ({_describe(exc)})") from exc
    try:
        with zf:
            members = {}
            for info in zf.infolist():
                stored = info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & _ZIP_ENCRYPTED
                if not (stored and info.filename.endswith(".npy")):
                    raise CheckpointError(f"{path}: unexpected member {info.filename!r} (not a stored .npy)")
                name = info.filename[: -len(".npy")]
                members[name] = _read_array(zf.read(info), name)
        if _META not in members:
            raise CheckpointError(f"{path}: not a neuroedge checkpoint (no {_META} entry)")
        doc = _parse_doc(path, members.pop(_META))
    except _READ_ERRORS as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint ({_describe(exc)})") from exc
    if _digest(members) != doc["sha256"]:
        raise CheckpointError(f"{path}: checksum mismatch, the file is corrupt")
    bad = _first_non_finite(members)
    if bad is not None:
        raise CheckpointError(f"{path}: array {bad!r} holds non-finite values, refused")
    return members, doc["meta"]


def load_latest_valid(path: Path) -> tuple[dict[str, np.ndarray], dict, Path]:
    """Load `path`, or else `<path>.prev`, and return (arrays, meta, the path actually loaded).

    If both fail, raises the CheckpointError for `path` (chained to the one for `<path>.prev`).
    """
    try:
        return (*load_checkpoint(path), path)
    except CheckpointError as first:
        try:
            return (*load_checkpoint(_prev_path(path)), _prev_path(path))
        except CheckpointError as second:
            raise first from second
