"""Models of the documents feature."""

from __future__ import annotations
