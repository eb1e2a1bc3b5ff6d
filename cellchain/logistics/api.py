"""JSON API of the logistics context."""

from ninja import Router

router = Router(tags=["logistics"])
