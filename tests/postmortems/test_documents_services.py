"""Rules of the postmortem workflow, at the service level."""

from __future__ import annotations

import pytest
from django.core import mail

from metrics_link.models import OutboxMessage
from metrics_link.services import outbox
from postmortems.models.documents import Postmortem, PostmortemEvent, PostmortemVersion
from postmortems.permissions import NotAllowed
from postmortems.selectors import drafts
from postmortems.services import documents as svc
from postmortems.services.errors import ServiceError
from postmortems.services.publishing import queue_publication_slack
from tests.factories import (
    ActionItemFactory,
    IncidentFactory,
    TimelineEntryFactory,
    UserFactory,
    WhyNodeFactory,
    publish_postmortem,
)
from tests.support.outbox import deliver_outbox

pytestmark = pytest.mark.django_db


def _draft(incident, by):
    return svc.generate_draft(incident=incident, by=by)


def _in_review(incident, by, reviewers):
    pm = _draft(incident, by)
    svc.set_reviewers(postmortem=pm, reviewers=reviewers, by=by)
    return svc.submit_for_review(postmortem=pm, by=by)


# --- generation -----------------------------------------------------------------------------


def test_the_draft_is_generated_from_the_incidents_data(incident, user):
    TimelineEntryFactory(incident=incident, body="Later ordinary note", starred=False)
    TimelineEntryFactory(
        incident=incident,
        body="Rolled back the release",
        starred=True,
        at=incident.started_at,
    )
    root = WhyNodeFactory(incident=incident, answer="The pool was exhausted", category="code")
    WhyNodeFactory(
        incident=incident, parent=root, answer="No limit per service", category="process"
    )
    WhyNodeFactory(incident=incident, answer="Deleted cause", is_deleted=True)
    owner = UserFactory(first_name="Rita", last_name="Owner")
    ActionItemFactory(incident=incident, title="Add a pool limit", owner=owner)

    pm = _draft(incident, user)

    assert pm.title == incident.title
    assert "Time to detect | 5m" in pm.sections["impact"]
    timeline = pm.sections["timeline"]
    assert timeline.index("Rolled back the release") < timeline.index("Later ordinary note")
    assert timeline.startswith("**Key moments**")
    whys = pm.sections["whys"]
    assert "- **Why 1:** The pool was exhausted _(code)_" in whys
    assert "  - **Why 2:** No limit per service _(process)_" in whys
    assert "Deleted cause" not in whys
    assert "| Add a pool limit | Prevent | P2 | Rita Owner |" in pm.sections["actions"]
    assert pm.sections["lessons"] == ""
    assert PostmortemEvent.objects.filter(postmortem=pm, kind="created", by=user).exists()


def test_generating_twice_returns_the_same_postmortem(incident, user):
    assert _draft(incident, user).pk == _draft(incident, user).pk
    assert Postmortem.objects.count() == 1


def test_impact_lines_from_business_metrics_are_listed(incident, user, monkeypatch):
    monkeypatch.setattr(drafts, "impact_lines", lambda i: ["≈ 1,240 fewer logins"])
    pm = _draft(incident, user)
    assert "- ≈ 1,240 fewer logins" in pm.sections["impact"]


# --- regeneration never overwrites team text -------------------------------------------------


def test_regenerating_a_section_the_team_edited_is_refused(incident, user):
    pm = _draft(incident, user)
    pm = svc.edit_section(postmortem=pm, key="summary", text="Our own words.", by=user)
    assert "summary" in pm.edited_sections
    with pytest.raises(ServiceError, match="regenerating would overwrite"):
        svc.regenerate_section(postmortem=pm, key="summary", by=user)
    pm.refresh_from_db()
    assert pm.sections["summary"] == "Our own words."


def test_regenerating_the_draft_keeps_team_text_and_refreshes_the_rest(incident, user):
    pm = _draft(incident, user)
    pm = svc.edit_section(postmortem=pm, key="whys", text="Team tree.", by=user)
    WhyNodeFactory(incident=incident, answer="A brand new cause")
    ActionItemFactory(incident=incident, title="A brand new action")

    pm, kept = svc.regenerate_draft(postmortem=pm, by=user)

    assert kept == ["whys"]
    assert pm.sections["whys"] == "Team tree."
    assert "A brand new action" in pm.sections["actions"]


def test_saving_a_generated_section_empty_hands_it_back_to_the_generator(incident, user):
    pm = _draft(incident, user)
    pm = svc.edit_section(postmortem=pm, key="impact", text="Mine", by=user)
    pm = svc.edit_section(postmortem=pm, key="impact", text="", by=user)
    assert "impact" not in pm.edited_sections
    assert "Time to detect" in pm.sections["impact"]


def test_written_sections_cannot_be_regenerated(incident, user):
    pm = _draft(incident, user)
    with pytest.raises(ServiceError, match="written by the team"):
        svc.regenerate_section(postmortem=pm, key="lessons", by=user)


def test_an_unknown_section_is_refused(incident, user):
    pm = _draft(incident, user)
    with pytest.raises(ServiceError, match="no section"):
        svc.edit_section(postmortem=pm, key="nope", text="x", by=user)


# --- submit and the blameless check ----------------------------------------------------------


def test_submitting_with_high_blameless_findings_needs_a_recorded_override(incident, user):
    UserFactory(username="ned", first_name="Ned", last_name="Stark")
    reviewer = UserFactory()
    pm = _draft(incident, user)
    pm = svc.edit_section(
        postmortem=pm, key="went_poorly", text="Ned forgot to run the migration.", by=user
    )
    svc.set_reviewers(postmortem=pm, reviewers=[reviewer], by=user)

    with pytest.raises(ServiceError) as err:
        svc.submit_for_review(postmortem=pm, by=user)
    assert "override_reason" in err.value.message_dict

    pm = svc.submit_for_review(postmortem=pm, by=user, override_reason="Quoting a chat log.")
    assert pm.status == "in_review"
    assert pm.blameless_override_reason == "Quoting a chat log."
    event = PostmortemEvent.objects.get(postmortem=pm, kind="override")
    assert (event.by, event.comment) == (user, "Quoting a chat log.")


def test_warnings_alone_do_not_block_submitting(incident, user):
    pm = _draft(incident, user)
    pm = svc.edit_section(
        postmortem=pm, key="went_poorly", text="The check failed to detect it.", by=user
    )
    svc.set_reviewers(postmortem=pm, reviewers=[UserFactory()], by=user)
    assert svc.submit_for_review(postmortem=pm, by=user).status == "in_review"


def test_submitting_needs_as_many_reviewers_as_approvals_required(user):
    incident = IncidentFactory(severity="sev1", commander=user)
    pm = _draft(incident, user)
    svc.set_reviewers(postmortem=pm, reviewers=[UserFactory()], by=user)
    with pytest.raises(ServiceError, match="at least 2 reviewers"):
        svc.submit_for_review(postmortem=pm, by=user)


def test_only_a_draft_can_be_submitted(incident, user):
    pm = _in_review(incident, user, [UserFactory()])
    with pytest.raises(ServiceError, match="Only a draft"):
        svc.submit_for_review(postmortem=pm, by=user)


def test_a_postmortem_in_review_cannot_be_edited(incident, user):
    pm = _in_review(incident, user, [UserFactory()])
    with pytest.raises(ServiceError, match="in review"):
        svc.edit_section(postmortem=pm, key="lessons", text="x", by=user)


# --- approvals per severity -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "needed"), [("sev1", 2), ("sev2", 1), ("sev3", 1), ("sev4", 0)]
)
def test_publishing_needs_the_approvals_the_severity_requires(user, severity, needed):
    incident = IncidentFactory(severity=severity, commander=user)
    reviewers = [UserFactory() for _ in range(max(needed, 1))]
    pm = _in_review(incident, user, reviewers)
    for reviewer in reviewers[: needed - 1] if needed else []:
        svc.approve(postmortem=pm, by=reviewer)
    if needed:
        with pytest.raises(ServiceError, match=f"needs {needed} approval"):
            svc.publish(postmortem=pm, by=user)
        svc.approve(postmortem=pm, by=reviewers[needed - 1])
    version = svc.publish(postmortem=pm, by=user)
    assert version.number == 1
    assert Postmortem.objects.get(pk=pm.pk).status == "published"


def test_the_approvals_table_is_a_setting(settings, user):
    settings.POSTMORTEM_APPROVALS_REQUIRED = {"sev2": 0}
    incident = IncidentFactory(severity="sev2", commander=user)
    pm = _in_review(incident, user, [])
    assert svc.publish(postmortem=pm, by=user).number == 1


def test_only_named_reviewers_approve(incident, user):
    pm = _in_review(incident, user, [UserFactory()])
    with pytest.raises(NotAllowed, match="named reviewers"):
        svc.approve(postmortem=pm, by=UserFactory())


def test_the_same_reviewer_approving_twice_counts_once(user):
    incident = IncidentFactory(severity="sev1", commander=user)
    a, b = UserFactory(), UserFactory()
    pm = _in_review(incident, user, [a, b])
    svc.approve(postmortem=pm, by=a)
    svc.approve(postmortem=pm, by=a)
    with pytest.raises(ServiceError, match="it has 1"):
        svc.publish(postmortem=pm, by=user)


def test_requesting_changes_needs_a_comment_and_sends_the_draft_back(incident, user):
    reviewer = UserFactory()
    pm = _in_review(incident, user, [reviewer])
    with pytest.raises(ServiceError) as err:
        svc.request_changes(postmortem=pm, by=reviewer, comment=" ")
    assert "comment" in err.value.message_dict
    pm = svc.request_changes(postmortem=pm, by=reviewer, comment="Name the limit, please.")
    assert pm.status == "draft"
    event = PostmortemEvent.objects.get(postmortem=pm, kind="changes_requested")
    assert (event.by, event.comment) == (reviewer, "Name the limit, please.")


def test_approvals_before_changes_were_requested_do_not_count_after_resubmitting(user):
    incident = IncidentFactory(severity="sev1", commander=user)
    a, b = UserFactory(), UserFactory()
    pm = _in_review(incident, user, [a, b])
    svc.approve(postmortem=pm, by=a)
    svc.request_changes(postmortem=pm, by=b, comment="Fix the timeline.")
    pm = svc.submit_for_review(postmortem=pm, by=user)
    svc.approve(postmortem=pm, by=b)
    with pytest.raises(ServiceError, match="it has 1"):
        svc.publish(postmortem=pm, by=user)


def test_publishing_needs_the_review_step(incident, user):
    pm = _draft(incident, user)
    with pytest.raises(ServiceError, match="Submit"):
        svc.publish(postmortem=pm, by=user)


# --- snapshots --------------------------------------------------------------------------------


def test_a_published_version_is_frozen_and_later_edits_make_a_new_draft(incident, user):
    version = publish_postmortem(incident, by=user, sections={"lessons": "First lesson."})
    text, html = version.markdown, version.html
    pm = Postmortem.objects.get(pk=version.postmortem_id)

    pm = svc.edit_section(postmortem=pm, key="lessons", text="Second lesson.", by=user)

    assert pm.status == "draft"
    assert pm.round == 2
    assert pm.latest_version_id == version.pk  # readers still see version 1
    version.refresh_from_db()
    assert (version.markdown, version.html) == (text, html)
    assert "First lesson." in version.markdown
    assert PostmortemEvent.objects.filter(postmortem=pm, kind="reopened", by=user).exists()


def test_publishing_again_adds_version_two_and_keeps_version_one(incident, user):
    v1 = publish_postmortem(incident, by=user, sections={"lessons": "First lesson."})
    pm = Postmortem.objects.get(pk=v1.postmortem_id)
    pm = svc.edit_section(postmortem=pm, key="lessons", text="Second lesson.", by=user)
    reviewer = UserFactory()
    svc.set_reviewers(postmortem=pm, reviewers=[reviewer], by=user)
    pm = svc.submit_for_review(postmortem=pm, by=user)
    svc.approve(postmortem=pm, by=reviewer)
    v2 = svc.publish(postmortem=pm, by=user)

    assert (v1.number, v2.number) == (1, 2)
    assert Postmortem.objects.get(pk=pm.pk).latest_version == v2
    assert "First lesson." in PostmortemVersion.objects.get(pk=v1.pk).markdown
    assert "Second lesson." in v2.markdown


def test_a_version_refuses_to_be_saved_again(incident, user):
    version = publish_postmortem(incident, by=user)
    version.markdown = "tampered"
    with pytest.raises(ValueError, match="immutable"):
        version.save()


# --- publishing to all staff ------------------------------------------------------------------


def publication_mails():
    """The mails sent about a publication (not the review requests sent before it)."""
    return [m for m in mail.outbox if not m.subject.startswith("Review requested")]


def test_publishing_a_public_postmortem_mails_all_staff_on_commit(
    incident, user, settings, django_capture_on_commit_callbacks
):
    settings.ALL_STAFF_EMAIL = "everyone@example.com"
    with django_capture_on_commit_callbacks() as callbacks:
        version = publish_postmortem(
            incident, by=user, sections={"lessons": "Budgets."}, notify=True
        )
    assert len(callbacks) == OutboxMessage.objects.count()  # one send per row, after commit
    assert mail.outbox == []  # nothing is sent inside the transaction
    # The mail is a row, committed with the publication (no Slack URL configured: no Slack row).
    row = OutboxMessage.objects.get(dedupe_key__startswith="postmortem-version:")
    assert row.dedupe_key == f"postmortem-version:{version.pk}:mail"
    assert deliver_outbox() >= 1
    assert deliver_outbox() == 0  # sent once
    [message] = publication_mails()
    assert message.to == ["everyone@example.com"]
    assert version.title in message.subject
    assert "Budgets." in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html"
    assert "<li>" in html or "<p>" in html


def test_a_restricted_postmortem_is_mailed_to_its_people_never_to_all_staff(
    user, other_user, settings, django_capture_on_commit_callbacks
):
    settings.ALL_STAFF_EMAIL = "everyone@example.com"
    responder = UserFactory()
    incident = IncidentFactory(restricted=True, commander=user, responders=[responder])
    with django_capture_on_commit_callbacks() as callbacks:
        publish_postmortem(incident, by=user, notify=True)
    assert len(callbacks) == OutboxMessage.objects.count()
    deliver_outbox()
    [message] = publication_mails()
    recipients = message.to + message.cc + message.bcc
    assert "everyone@example.com" not in recipients
    # Its reviewers became its people when they were named (ARCHITECTURE).
    reviewers = [r.email for r in incident.postmortem.reviewers.all()]
    assert sorted(recipients) == sorted({user.email, responder.email, *reviewers})
    assert other_user.email not in recipients


def test_slack_is_posted_for_public_postmortems_when_configured(
    incident, user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/T/B/x"
    sent = []

    class FakeResponse:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def fake_urlopen(request, timeout):
        sent.append((request.full_url, request.data))
        return FakeResponse()

    monkeypatch.setattr(outbox.urllib.request, "urlopen", fake_urlopen)
    with django_capture_on_commit_callbacks() as callbacks:
        publish_postmortem(incident, by=user, notify=True)
    assert len(callbacks) == OutboxMessage.objects.count()
    published = OutboxMessage.objects.filter(dedupe_key__startswith="postmortem-version:")
    assert sorted(published.values_list("channel", flat=True)) == ["mail", "slack"]
    deliver_outbox()
    posts = [body for url, body in sent if b"waiting for review" not in body]
    assert len(posts) == 1  # the publication (the review request was posted before it)
    assert all(url == "https://hooks.slack.example/T/B/x" for url, _ in sent)
    assert incident.title.encode() in posts[0]


def test_slack_never_hears_of_a_restricted_postmortem(
    user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/T/B/x"
    monkeypatch.setattr(
        outbox.urllib.request, "urlopen", lambda *a, **k: pytest.fail("Slack was called")
    )
    incident = IncidentFactory(restricted=True, commander=user)
    with django_capture_on_commit_callbacks() as callbacks:
        version = publish_postmortem(incident, by=user, notify=True)
    assert len(callbacks) == OutboxMessage.objects.count()  # mails to its people only
    assert queue_publication_slack(version_id=version.pk) is False
    assert not OutboxMessage.objects.filter(channel=OutboxMessage.Channel.SLACK).exists()
    deliver_outbox()
