"""JSON API of the manufacturing context."""

from ninja import Router

router = Router(tags=["manufacturing"])
