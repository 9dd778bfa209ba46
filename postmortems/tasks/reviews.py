"""Celery tasks of the reviews feature."""

__all__: list[str] = []
