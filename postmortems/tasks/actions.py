"""Celery tasks of the actions feature."""

__all__: list[str] = []
