"""How people are named in pages, timelines, emails and feeds: full name, else username."""

from __future__ import annotations


def display_name(user, empty: str = "someone") -> str:
    """`user`'s full name, else username; `empty` when there is nobody (nullable owner, author)."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()
