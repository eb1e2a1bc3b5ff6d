"""JSON API of the qc context."""

from ninja import Router

router = Router(tags=["qc"])
