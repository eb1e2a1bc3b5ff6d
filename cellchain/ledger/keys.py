"""The private half of the log's Ed25519 signing key: one file, never in the database (decision 0008).

The active key's private key lives at `CELLCHAIN_LEDGER_KEY_PATH` (default `var/ledger-ed25519.key`, PEM
PKCS#8, mode 0600). It is created on first use, when the key history is still empty. A rotation
(`rotation.signing_key_rotate`) first writes the successor next to it (`<path>.next-<key id>`), commits the
handover, then moves the successor over the old file; a process that finds the history naming a key the file
does not hold completes that move itself, so a crash between the commit and the move loses nothing.

Every process rereads the file when it changes (inode, size, modification time), so an application server
picks up a rotation made by `cellchain ledger rotate-key` without a restart.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.utils.translation import gettext as _

from cellchain.core.errors import Conflict
from cellchain.domain.treehead import key_id
from cellchain.verifier import signing

_cache: dict[str, tuple[tuple[int, int, int], Ed25519PrivateKey]] = {}
_cache_lock = threading.Lock()


def key_path() -> Path:
    """Where the active private key lives."""
    return Path(settings.CELLCHAIN_LEDGER_KEY_PATH)


def pending_path(new_key_id: str) -> Path:
    """Where a rotation puts the successor's private key until the handover is committed."""
    path = key_path()
    return path.with_name(f"{path.name}.next-{new_key_id[:16]}")


def private_key_id(key: Ed25519PrivateKey) -> str:
    """The key id (SHA-256 of the raw public key, hex) of a private key."""
    return key_id(signing.public_key_bytes(key))


def _read(path: Path) -> Ed25519PrivateKey | None:
    """The key in `path`, or None when there is no such file; reread only when the file changed."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    signature = (status.st_ino, status.st_size, status.st_mtime_ns)
    with _cache_lock:
        cached = _cache.get(str(path))
    if cached is not None and cached[0] == signature:
        return cached[1]
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path} does not hold an Ed25519 private key")
    with _cache_lock:
        _cache[str(path)] = (signature, key)
    return key


def cache_clear() -> None:
    """Forget every key read (tests that point `CELLCHAIN_LEDGER_KEY_PATH` elsewhere)."""
    with _cache_lock:
        _cache.clear()


def _fsync_directory(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform opens directories
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write `key` to a new file `path` with mode 0600 (refuses to overwrite), flushed to disk."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_directory(path.parent)


def signing_key() -> Ed25519PrivateKey:
    """The key in the key file, created (mode 0600) when there is none: only for the log's first key.

    Signing code asks `private_key_for(active key id)` instead, which never creates a key.
    """
    path = key_path()
    key = _read(path)
    if key is not None:
        return key
    key = Ed25519PrivateKey.generate()
    try:
        write_private_key(path, key)
    except FileExistsError:
        # Another process created it first: use that one.
        existing = _read(path)
        if existing is None:
            raise
        return existing
    return key


def public_key_bytes() -> bytes:
    """The raw 32-byte public key of the key file's key."""
    return signing.public_key_bytes(signing_key())


def install_pending(new_key_id: str) -> bool:
    """Move the successor's private key over the key file, if it is still pending; True when the file now
    holds `new_key_id`. The old private key is gone from the key path afterwards (decision 0008)."""
    path, pending = key_path(), pending_path(new_key_id)
    candidate = _read(pending)
    if candidate is not None and private_key_id(candidate) == new_key_id:
        os.replace(pending, path)
        _fsync_directory(path.parent)
    current = _read(path)
    return current is not None and private_key_id(current) == new_key_id


def discard_pending(new_key_id: str) -> None:
    """Remove a successor key whose rotation did not commit."""
    with contextlib.suppress(FileNotFoundError):
        pending_path(new_key_id).unlink()


def private_key_for(wanted_key_id: str) -> Ed25519PrivateKey:
    """The private key of `wanted_key_id` (the key history's active key), from the key file, completing a
    rotation whose successor is still pending. `Conflict` when this installation does not hold it: heads are
    then not signed rather than signed with a key the history does not name."""
    key = _read(key_path())
    if key is not None and private_key_id(key) == wanted_key_id:
        return key
    if install_pending(wanted_key_id):
        key = _read(key_path())
        if key is not None:
            return key
    found = private_key_id(key) if key is not None else None
    raise Conflict(
        _(
            "The ledger's active signing key %(wanted)s is not in the key file %(path)s (it holds %(found)s). "
            "Restore the key file from the backup taken with the database; heads are not signed meanwhile."
        )
        % {"wanted": wanted_key_id[:16], "path": key_path(), "found": found[:16] if found else _("no key")}
    )
