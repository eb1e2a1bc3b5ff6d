"""Typed environment helpers that fail loudly on bad values (STYLE habit 8, after Healthchecks' hc/settings.py)."""

from __future__ import annotations

import os
from pathlib import Path


class ConfigurationError(RuntimeError):
    """A setting in the environment is malformed; the message names the variable and the expected form."""


def envstr(name: str, default: str) -> str:
    """Return a string setting."""
    return os.environ.get(name, default)


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """Return a string setting that must be one of `choices` (the error lists them)."""
    value = os.environ.get(name) or default
    if value not in choices:
        raise ConfigurationError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def envbool(name: str, default: bool) -> bool:
    """Return a boolean setting; only the words true/false/1/0/yes/no are accepted."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name}={raw!r}: expected true or false")


def envint(name: str, default: int, *, minimum: int = 0) -> int:
    """Return an integer setting no smaller than `minimum`."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={value}: must be at least {minimum}")
    return value


def envsecret(name: str) -> str | None:
    """Return a secret from NAME or from the file named by NAME_FILE (never from the repository)."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(f"{name}_FILE={path!r}: cannot read ({exc.strerror})") from None
    return None


def envlist(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated list setting."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]
