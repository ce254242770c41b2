"""CurveZMQ keys for the bus: generate a key directory, load and check it, and put keys on sockets.

A key directory (``neuroedge keys generate DIR``, mode 0700, every file mode 0600) holds pyzmq certificates:

    DIR/server.key          the daemon's public key (clients need it)
    DIR/server.key_secret   the daemon's secret key (stays on the robot)
    DIR/client.key          a client's public key
    DIR/client.key_secret   that client's secret key (copied to the base station)
    DIR/authorized/*.key    the allow-list: public keys of the clients the daemon accepts

The daemon reads ``server.key_secret`` and ``authorized/``; a client reads ``client.key_secret`` and
``server.key`` from its own copy of the directory. A secret key file that group or others may access is refused.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth

log = logging.getLogger(__name__)

SERVER = "server"
CLIENT = "client"
AUTHORIZED = "authorized"
PUBLIC_SUFFIX = ".key"
SECRET_SUFFIX = ".key_secret"
GENERATED = (f"{SERVER}{PUBLIC_SUFFIX}", f"{SERVER}{SECRET_SUFFIX}", f"{CLIENT}{PUBLIC_SUFFIX}",
             f"{CLIENT}{SECRET_SUFFIX}", f"{AUTHORIZED}/{CLIENT}{PUBLIC_SUFFIX}")
_Z85_KEY = re.compile(rb"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}\Z")  # a 32-byte key in Z85 text
_HINT = "create keys with: neuroedge keys generate DIR"


class KeyFileError(ValueError):
    """A key file or directory is missing, unreadable, malformed or too open; one line naming it."""


@dataclass(frozen=True)
class ServerKeys:
    """The daemon's keypair (Z85 bytes) and the Z85 public keys of the clients it accepts."""

    public: bytes
    secret: bytes
    authorized: frozenset[bytes]


@dataclass(frozen=True)
class ClientKeys:
    """A client's keypair and the daemon's public key (all Z85 bytes)."""

    public: bytes
    secret: bytes
    server_public: bytes


def generate_keys(directory: Path, force: bool = False) -> list[Path]:
    """Write a server keypair, one client keypair and the allow-list ``authorized/client.key`` into
    ``directory`` (created mode 0700; files mode 0600) and return the paths written.

    Existing key files are refused (KeyFileError naming the first) unless ``force``; other keys already in
    ``authorized/`` are kept. The keys are written in a private temporary directory, so no secret is ever
    readable by others, and then renamed into place.
    """
    targets = [directory / name for name in GENERATED]
    existing = [path for path in targets if path.exists() or path.is_symlink()]
    if existing and not force:
        raise KeyFileError(f"{existing[0]}: already exists; refusing to overwrite keys (use --force to replace them)")
    _make_private_dir(directory)
    _make_private_dir(directory / AUTHORIZED)
    staging = Path(tempfile.mkdtemp(prefix=".keys-", dir=directory))
    try:
        for name in (SERVER, CLIENT):
            zmq.auth.create_certificates(staging, name)
        shutil.copyfile(staging / f"{CLIENT}{PUBLIC_SUFFIX}", staging / "allowed")
        staged = [staging / name for name in GENERATED[:4]] + [staging / "allowed"]
        for source, target in zip(staged, targets):
            os.chmod(source, 0o600)
            os.replace(source, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return targets


def _make_private_dir(path: Path) -> None:
    """Create ``path`` with mode 0700 (and its missing parents) unless it exists; it must be a directory."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
        os.chmod(path, 0o700)
    if not path.is_dir():
        raise KeyFileError(f"{path}: not a directory")


def load_server_keys(directory: Path) -> ServerKeys:
    """The daemon's keys from ``directory``: ``server.key_secret`` and every ``authorized/*.key``."""
    _check_dir(directory)
    public, secret = _read_keypair(directory / f"{SERVER}{SECRET_SUFFIX}")
    return ServerKeys(public, secret, _read_allow_list(directory / AUTHORIZED))


def load_client_keys(directory: Path) -> ClientKeys:
    """A client's keys from ``directory``: ``client.key_secret`` and the daemon's ``server.key``."""
    _check_dir(directory)
    public, secret = _read_keypair(directory / f"{CLIENT}{SECRET_SUFFIX}")
    server_public, _ = _read_certificate(directory / f"{SERVER}{PUBLIC_SUFFIX}")
    return ClientKeys(public, secret, server_public)


def _check_dir(directory: Path) -> None:
    if not directory.is_dir():
        why = "not a directory" if directory.exists() else "no such key directory"
        raise KeyFileError(f"{directory}: {why} ({_HINT})")


def _read_certificate(path: Path) -> tuple[bytes, bytes | None]:
    """(public, secret or None) from a pyzmq certificate file, each checked to be a 40-character Z85 key."""
    if not path.is_file():
        why = "not a file" if path.exists() else "no such key file"
        raise KeyFileError(f"{path}: {why} ({_HINT})")
    try:
        public, secret = zmq.auth.load_certificate(path)
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read ({e.strerror or e})") from None
    except (ValueError, IndexError):  # no public-key line, or a key line without "="
        raise KeyFileError(f"{path}: malformed key file (no public-key line)") from None
    for what, key in (("public-key", public), ("secret-key", secret)):
        if key is not None and not _Z85_KEY.match(key):
            raise KeyFileError(f"{path}: malformed key file ({what} is not 40 Z85 characters)")
    return public, secret


def _read_keypair(path: Path) -> tuple[bytes, bytes]:
    """(public, secret) from a secret certificate that only its owner may access, the two keys matching."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else 0
    if mode & 0o077:
        raise KeyFileError(f"{path}: secret key is accessible by group or others (mode {mode:04o}); "
                           f"refused (run: chmod 600 {path})")
    public, secret = _read_certificate(path)
    if secret is None:
        raise KeyFileError(f"{path}: malformed key file (no secret-key line)")
    if zmq.curve_public(secret) != public:
        raise KeyFileError(f"{path}: malformed key file (the secret key does not match the public key)")
    return public, secret


def _read_allow_list(directory: Path) -> frozenset[bytes]:
    """The public keys of ``directory/*.key``; the directory must exist, hold one key or more, and be
    writable by its owner only (anyone who can add a file there could let himself in)."""
    if not directory.is_dir():
        raise KeyFileError(f"{directory}: no such allow-list directory ({_HINT})")
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o022:
        raise KeyFileError(f"{directory}: allow-list writable by group or others (mode {mode:04o}); "
                           f"refused (run: chmod 700 {directory})")
    keys = frozenset(_read_certificate(path)[0] for path in sorted(directory.glob(f"*{PUBLIC_SUFFIX}")))
    if not keys:
        raise KeyFileError(f"{directory}: no client public keys (*{PUBLIC_SUFFIX}) in the allow-list")
    return keys


def apply_server_keys(sock: zmq.Socket, keys: ServerKeys) -> None:
    """Make ``sock`` (before it binds) a CURVE server with the daemon's keypair."""
    sock.curve_server = True
    sock.curve_secretkey = keys.secret
    sock.curve_publickey = keys.public


def apply_client_keys(sock: zmq.Socket, keys: ClientKeys) -> None:
    """Make ``sock`` (before it connects) a CURVE client of the daemon whose public key is in ``keys``."""
    sock.curve_secretkey = keys.secret
    sock.curve_publickey = keys.public
    sock.curve_serverkey = keys.server_public


class AllowList:
    """ZAP credentials provider: accepts exactly the allow-listed client keys; counts and logs the others
    (the 1st, 2nd, 4th, 8th... refusal, so a stranger cannot flood the log)."""

    def __init__(self, keys: frozenset[bytes]) -> None:
        self.keys = keys
        self.denied = 0

    def callback(self, domain: str, key: bytes) -> bool:
        """Whether the client with Z85 public ``key`` may connect (called by the ZAP authenticator)."""
        if key in self.keys:
            return True
        self.denied += 1
        if self.denied & (self.denied - 1) == 0:
            log.warning("bus: refused a client whose key %s is not in the allow-list (%d refused so far)",
                        key.decode("ascii", "replace"), self.denied)
        return False
