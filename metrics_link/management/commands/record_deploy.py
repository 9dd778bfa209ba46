"""`python manage.py record_deploy --service web --version v1.2.3 --sha abc1234 ...` for plain CI scripts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from ...links import absolute_url
from ...models import Deploy
from ...services.deploys import record_deploy


class Command(BaseCommand):
    help = "Record a deploy (prints its id and page URL). Commits are those pushed since the previous deploy."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version` is the deploy's version here, not Django's: let ours replace it.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument(
            "--service", required=True, help="Service slug (created unclaimed if new)."
        )
        parser.add_argument("--version", required=True, dest="deploy_version")
        parser.add_argument("--sha", required=True, help="The deployed commit sha.")
        parser.add_argument(
            "--repository", default="", help='"owner/name"; defaults to the service\'s first.'
        )
        parser.add_argument("--status", default="success", choices=Deploy.Status.values)
        parser.add_argument("--environment", default="production")
        parser.add_argument("--deployer", default="")
        parser.add_argument("--url", default="")
        parser.add_argument(
            "--external-id", default="", help="Makes a retry of this command a no-op."
        )
        parser.add_argument("--finished-at", default="", help="ISO 8601 with a zone; default now.")

    def handle(self, *args, **o):
        finished_at = None
        if o["finished_at"]:
            finished_at = parse_datetime(o["finished_at"])
            if finished_at is None or finished_at.tzinfo is None:
                raise CommandError("--finished-at must be ISO 8601 with a time zone.")
        try:
            result = record_deploy(
                service=o["service"],
                repository=o["repository"],
                environment=o["environment"],
                sha=o["sha"],
                version=o["deploy_version"],
                status=o["status"],
                finished_at=finished_at,
                deployer=o["deployer"],
                url=o["url"],
                provider=Deploy.Provider.CLI,
                external_id=o["external_id"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        deploy = result.deploy
        verb = "Recorded" if result.created else "Already recorded"
        self.stdout.write(
            f"{verb} deploy {deploy.pk}: {deploy.service.slug} {deploy.version} → "
            f"{deploy.environment} ({deploy.deploy_commits.count()} commits)\n"
            f"{absolute_url(deploy.get_absolute_url())}"
        )
