from .catalog import Service, Team
from .deploys import Commit, Deploy, DeployCommit, IdempotencyKey
from .outbox import OutboxMessage
from .signals_data import Alert, MetricPoint, MetricSeries
from .watch import DeployWatch
from .webhooks import WebhookDelivery

__all__ = [
    "Alert",
    "Commit",
    "Deploy",
    "DeployCommit",
    "DeployWatch",
    "IdempotencyKey",
    "MetricPoint",
    "MetricSeries",
    "OutboxMessage",
    "Service",
    "Team",
    "WebhookDelivery",
]
