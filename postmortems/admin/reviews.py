"""Admin of the reviews feature."""
