"""The secrets of the exchange: the token we present to each partner (a file), the hash of theirs (issue 12
item 1; decision 0017).

The token we present is kept like the ledger's private key: one file per partner under
`CELLCHAIN_EXCHANGE_DIR` (default `<VAR_DIR>/exchange/`), named by the partner's log id, mode 0600, never in
the database (so a database dump or a ledger bundle never carries it) and never in the repository. Of the
token a partner presents to us only the SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

from django.conf import settings

LOG_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MIN_TOKEN_LENGTH = 32


def exchange_dir() -> Path:
    """Where the partner token files live."""
    configured = getattr(settings, "CELLCHAIN_EXCHANGE_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "exchange"


def token_path(log_id: str) -> Path:
    """The file of the token we present to the partner with that log id."""
    if not LOG_ID.fullmatch(log_id):
        raise ValueError(f"log id {log_id!r} is not 1-100 letters, digits, '.', '_' or '-'")
    return exchange_dir() / f"{log_id}.token"


def token_write(log_id: str, token: str) -> Path:
    """Write (or replace) the token we present to `log_id`, mode 0600, atomically."""
    path = token_path(log_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def token_read(log_id: str) -> str | None:
    """The token we present to `log_id`, or None when its file is missing."""
    try:
        return token_path(log_id).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def token_new() -> str:
    """A fresh token (256 bits, URL-safe) for a partner to present to us."""
    return "ccx_" + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    """What we store of a token a partner presents."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
