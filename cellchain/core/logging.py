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
