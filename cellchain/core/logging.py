"""Log redaction: passwords, tokens and patient identifiers never reach a log line (issue 2; REGULATORY item 57)."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(cc_[A-Za-z0-9]{6,}_)[A-Za-z0-9_\-]+"), r"\1[redacted]"),
    (
        re.compile(r"(?i)(password|passwd|secret|token|authorization)(\W{1,3})([^\s&,;'\"]+)"),
        r"\1\2[redacted]",
    ),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1[redacted]"),
]


def redact(text: str) -> str:
    """Return `text` with secrets masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrite each record's message with secrets masked; patient identifiers are never logged by the code."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class ForbiddenWithoutTracebackFilter(logging.Filter):
    """Log a refused request (403) as one warning line naming user and path, not a traceback (issue 15).

    A permission refusal is an expected outcome, not an error: Django's ``django.request`` logger attaches
    the PermissionDenied traceback, which buried real errors and filled the logs of every refused click.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403 and record.exc_info:
            request = getattr(record, "request", None)
            user = getattr(request, "user", None)
            who = user.get_username() if user is not None and user.is_authenticated else "anonymous"
            path = getattr(request, "path", "?")
            record.msg, record.args = (
                "Forbidden: %s %s (user %s)",
                (getattr(request, "method", "?"), path, who),
            )
            record.exc_info, record.exc_text = None, None
        return True
