"""Celery tasks of the documents feature."""

__all__: list[str] = []
