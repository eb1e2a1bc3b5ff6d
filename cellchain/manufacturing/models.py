"""Models of the manufacturing context."""
