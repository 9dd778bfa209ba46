"""Models of the reviews feature."""

from __future__ import annotations
