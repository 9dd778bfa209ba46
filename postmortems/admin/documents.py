"""Admin of the documents feature."""
