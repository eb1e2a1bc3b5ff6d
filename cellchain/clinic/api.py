"""JSON API of the clinic context."""

from ninja import Router

router = Router(tags=["clinic"])
