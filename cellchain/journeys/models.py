"""Models of the journeys context."""
