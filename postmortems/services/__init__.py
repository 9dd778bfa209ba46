"""Every write of the learning layer. Verb-first, keyword-only, atomic; tasks enqueued on commit.

One module per feature: incidents, suspects, whys, actions, documents (postmortems), reviews.
Rule violations raise `ServiceError` (a ValidationError) with messages meant for people.
"""

from .errors import ServiceError

__all__ = ["ServiceError"]
