"""`{% signature_rows record %}`: signatures with printed name, meaning, time and whether still current."""

from __future__ import annotations

from typing import Any

from django import template

from cellchain.signatures.services import signature_is_current, signatures_of

register = template.Library()


@register.simple_tag
def signature_rows(record: Any) -> list[dict[str, Any]]:
    return [{"signature": s, "current": signature_is_current(s, record)} for s in signatures_of(record)]
