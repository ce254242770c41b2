"""Core-image files: what ``neuroedge compile`` writes and a board loads (named arrays plus a JSON header).

Format, version 1. The file is a NumPy ``.npz`` (a zip of ``.npy`` members, no pickled objects) holding:

- one member per array, named by its key (a non-empty name without ``/``, not starting with ``__``); any
  numeric or boolean dtype and shape;
- ``__header__``: a uint8 array of UTF-8 JSON, an object with
  ``magic`` = ``"neuroedge-core-image"``, ``format_version`` = 1, ``profile`` (the core profile's name),
  ``arrays_sha256`` (see ``arrays_sha256``) and ``meta`` (the writer's JSON object, which carries ``profile``
  too).

``arrays_sha256`` hashes, for every array in name order, the line ``json([name, dtype.str, shape])`` followed
by the array's C-order bytes, so a flipped bit, a dropped or renamed array or a changed dtype is detected.
A reader (of a path, or of the file's bytes as a board receives them) refuses (ValueError, one line naming
the file) a file that is not such a zip, a wrong magic, a version other than 1, a member that does not load,
or a checksum mismatch. Writing goes to a temporary file in the same folder, fsynced, then renamed over the
target, so a reader never sees half an image.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

MAGIC = "neuroedge-core-image"
FORMAT_VERSION = 1
HEADER = "__header__"


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 (hex) of named arrays: per name in sorted order, its [name, dtype, shape] as JSON, then its bytes."""
    sha = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        sha.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode() + b"\n")
        sha.update(array.tobytes())
    return sha.hexdigest()


def _check_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or "/" in name or name.startswith("__"):
            raise ValueError(f"core image: array name {name!r} must be non-empty, without '/', not starting with '__'")
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"core image: array {name!r} has dtype {array.dtype}; only bool, int, uint and float")
        out[name] = array
    return out


def write_image(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> str:
    """Write a core image (see the module docstring) atomically; ``meta["profile"]`` names the core profile.

    Returns the arrays' SHA-256. ValueError names the array or key that cannot be written."""
    path = Path(path)
    arrays = _check_arrays(arrays)
    profile = meta.get("profile") if isinstance(meta, dict) else None
    if not isinstance(profile, str) or not profile:
        raise ValueError("core image: meta.profile must name the core profile")
    digest = arrays_sha256(arrays)
    header = {"magic": MAGIC, "format_version": FORMAT_VERSION, "profile": profile, "arrays_sha256": digest,
              "meta": meta}
    text = json.dumps(header, allow_nan=False, sort_keys=True).encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **{HEADER: np.frombuffer(text, dtype=np.uint8)})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "unreadable"


def image_name(source: str | Path | bytes, label: str | None = None) -> str:
    """How error lines name an image: ``label`` if given, else the path, or ``<bytes>`` for the file's bytes."""
    if label is not None:
        return label
    return "<bytes>" if isinstance(source, bytes) else str(source)


def read_image(source: str | Path | bytes, label: str | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Read a core image from a path or from the file's bytes: (arrays by name, meta). ValueError, one line naming
    the image (``image_name``), when it is not a valid version-1 image (wrong magic or version, truncated or
    corrupt, checksum mismatch)."""
    name = image_name(source, label)

    def refuse(why: str) -> ValueError:
        return ValueError(f"{name}: not a valid core image ({why})")

    try:
        data = np.load(io.BytesIO(source) if isinstance(source, bytes) else Path(source), allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise refuse("not an .npz archive")
        with data:
            if HEADER not in data.files:
                raise refuse(f"no {HEADER} member")
            header_bytes = data[HEADER]
            arrays = {key: data[key] for key in data.files if key != HEADER}
    except ValueError as e:
        if str(e).startswith(name):
            raise
        raise refuse(_first_line(e)) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as e:
        raise refuse(f"{type(e).__name__}: {_first_line(e)}") from None
    try:
        header = json.loads(header_bytes.tobytes().decode())
    except (UnicodeDecodeError, ValueError):
        raise refuse("header is not JSON") from None
    if not isinstance(header, dict) or header.get("magic") != MAGIC:
        raise refuse(f"magic is {header.get('magic') if isinstance(header, dict) else None!r}, expected {MAGIC!r}")
    if header.get("format_version") != FORMAT_VERSION:
        raise refuse(f"format_version {header.get('format_version')!r} is not supported; this reader knows "
                     f"{FORMAT_VERSION}")
    if arrays_sha256(arrays) != header.get("arrays_sha256"):
        raise refuse("arrays_sha256 does not match the arrays: the file is corrupt")
    meta = header.get("meta")
    if not isinstance(meta, dict):
        raise refuse("header.meta is not an object")
    return arrays, meta
