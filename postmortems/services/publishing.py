"""The messages of the postmortem documents feature: the mail and Slack message that announce a
published version, and the review requests mailed to the named reviewers. Each is an outbox row
written in the caller's transaction (metrics_link sends them), once per version or submission.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from metrics_link.links import absolute_url, absolutize_html, absolutize_markdown

from ..display import display_name
from ..models import Incident
from ..models.documents import Postmortem, PostmortemVersion
from ..selectors.drafts import approvals_required
from . import slack
from .mail import queue_mail, templated_email


def _version_url(version: PostmortemVersion) -> str:
    return absolute_url(version.postmortem.get_absolute_url())


def publication_recipients(incident: Incident) -> list[str]:
    """All staff for a public incident; only its own people for a restricted one."""
    if not incident.is_restricted:
        return [settings.ALL_STAFF_EMAIL]
    emails = (
        get_user_model()
        .objects.filter(pk__in=incident.people_ids(), is_active=True)
        .values_list("email", flat=True)
    )
    return sorted({e for e in emails if e})


def queue_publication_email(*, version_id: int) -> int:
    """Queue the mail of a published version (text + HTML) in the outbox, once per version.
    Returns the number of messages queued (0 or 1)."""
    version = (
        PostmortemVersion.objects.select_related("postmortem__incident", "published_by")
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        return 0
    incident = version.postmortem.incident
    if incident.is_deleted:
        return 0
    recipients = publication_recipients(incident)
    if not recipients:
        return 0
    ctx = {
        "version": version,
        "incident": incident,
        "url": _version_url(version),
        "by": display_name(version.published_by),
        # The document's own links are site paths: made absolute, they work from a mailbox.
        "markdown": absolutize_markdown(version.markdown),
        "body_html": absolutize_html(version.html),
    }
    subject = f"Postmortem published: {version.title}"
    if version.number > 1:
        subject += f" (version {version.number})"
    message = templated_email(
        subject=subject,
        template="postmortems/email/published",
        context=ctx,
        to=recipients if not incident.is_restricted else [],
        bcc=recipients if incident.is_restricted else [],
    )
    queue_mail(message, dedupe_key=f"postmortem-version:{version.pk}:mail")
    return 1


def reviewers_to_notify(pm: Postmortem) -> list[User]:
    """Named reviewers who can read the incident and have an address; not the one who submitted."""
    return [
        user
        for user in pm.reviewers.filter(is_active=True).exclude(email="").order_by("pk")
        if user.pk != pm.submitted_by_id
        and Incident.objects.visible_to(user).filter(pk=pm.incident_id).exists()
    ]


def notify_reviewers(*, postmortem_id: int) -> int:
    """Tell each named reviewer that a postmortem waits for their review: one mail each, with a
    link to it, and a Slack message for public incidents when SLACK_WEBHOOK_URL is set. The
    messages are outbox rows written in the caller's transaction, once per submission (a repeat
    queues nothing new). Returns the number of reviewers told; 0 once it has left review."""
    pm = (
        Postmortem.objects.select_related("incident", "submitted_by")
        .filter(pk=postmortem_id)
        .first()
    )
    if pm is None or pm.status != Postmortem.Status.IN_REVIEW or pm.incident.is_deleted:
        return 0
    incident = pm.incident
    url = absolute_url(pm.editor_url() + "#review")
    submission = f"postmortem:{pm.pk}:review:{pm.submitted_at:%Y%m%dT%H%M%S.%f}"
    subject = f"Review requested: postmortem of #{incident.pk} {pm.title}"
    sent = 0
    for reviewer in reviewers_to_notify(pm):
        context = {
            "postmortem": pm,
            "incident": incident,
            "reviewer": display_name(reviewer),
            "by": display_name(pm.submitted_by),
            "url": url,
            "approvals_needed": approvals_required(incident.severity),
        }
        message = templated_email(
            subject=subject,
            template="postmortems/email/review_requested",
            context=context,
            to=[reviewer.email],
        )
        queue_mail(message, dedupe_key=f"{submission}:reviewer:{reviewer.pk}")
        sent += 1
    if not incident.is_restricted:
        names = ", ".join(display_name(u) for u in pm.reviewers.order_by("first_name", "username"))
        slack.queue_slack(
            f"Postmortem waiting for review by {names}: <{url}|#{incident.pk} {pm.title}>",
            dedupe_key=f"{submission}:slack",
        )
    return sent


def queue_publication_slack(*, version_id: int) -> bool:
    """Queue a short Slack message about a published version (public incidents only, when
    SLACK_WEBHOOK_URL is set). Returns whether one was queued."""
    version = (
        PostmortemVersion.objects.select_related("postmortem__incident")
        .filter(pk=version_id)
        .first()
    )
    if version is None or version.postmortem.incident.is_restricted:
        return False
    text = f"Postmortem published: <{_version_url(version)}|{version.title}>" + (
        f" (version {version.number})" if version.number > 1 else ""
    )
    return slack.queue_slack(text, dedupe_key=f"postmortem-version:{version.pk}:slack") is not None
