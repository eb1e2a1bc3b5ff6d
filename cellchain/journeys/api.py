"""JSON API of the journeys context."""

from ninja import Router

router = Router(tags=["journeys"])
