from django.core.exceptions import ValidationError


class ServiceError(ValidationError):
    """A rule of the domain said no. Views show `messages` (or `message_dict`) and answer 4xx."""
