"""Models of the clinic context."""
