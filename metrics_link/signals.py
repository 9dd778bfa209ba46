"""Signals the production layer sends after commit; `postmortems` connects receivers in its AppConfig.

- `deploy_recorded(sender, deploy_id)`: a deploy was created or changed status.
- `alert_received(sender, alert_id, created)`: an alert row was created or changed status.
- `deploy_judged(sender, watch_id, status)`: the immune system decided a deploy's watch
  (`regressed` opens or joins an incident in postmortems).
"""

from django.dispatch import Signal

deploy_recorded = Signal()
alert_received = Signal()
deploy_judged = Signal()
