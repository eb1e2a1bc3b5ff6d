"""Models of the qc context."""
