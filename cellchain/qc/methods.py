"""The QC method master read as domain methods (Q-2-c).

Its own module so that manufacturing (a product's specification names its methods) and QC's selectors both
read it without importing each other (issue 15 item 1).
"""

from __future__ import annotations

from cellchain.domain import specification as specs
from cellchain.qc.models import AnalyticalMethod


def method_to_domain(method: AnalyticalMethod, standing: str | None = None) -> specs.Method:
    """A method master row as the domain method; `standing` is the one recorded with a result."""
    return specs.Method(
        method.code, method.name_en, specs.MethodStatus(standing or method.standing), method.rapid
    )


def method_catalogue() -> dict[str, specs.Method]:
    """Every method of the method master by code (Q-2-c)."""
    return {m.code: method_to_domain(m) for m in AnalyticalMethod.objects.filter(voided_at__isnull=True)}
