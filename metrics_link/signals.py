"""Signals the production layer sends after commit; `postmortems` connects receivers in its AppConfig.

- `deploy_recorded(sender, deploy_id)`: a deploy was created or changed status.
- `alert_received(sender, alert_id, created)`: an alert row was created or changed status.
"""

from django.dispatch import Signal

deploy_recorded = Signal()
alert_received = Signal()
