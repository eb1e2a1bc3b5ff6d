"""Models of the logistics context."""
