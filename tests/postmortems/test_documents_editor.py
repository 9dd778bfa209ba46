"""The one postmortem editor (issue 16, bugs 3 to 5): every section saved at once, nothing lost on a
refused or stale save, the reviewers chosen on the same form, reviewers told and given a queue."""

from __future__ import annotations

import pytest
from django.core import mail

from metrics_link.models import OutboxMessage
from postmortems.models.documents import Postmortem
from postmortems.selectors.documents import waiting_for_review
from postmortems.services import documents as svc
from postmortems.services.draft_conflicts import StaleDraft
from postmortems.services.publishing import notify_reviewers, reviewers_to_notify
from tests.factories import IncidentFactory, UserFactory
from tests.support.outbox import deliver_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def pm(incident, user):
    return svc.generate_draft(incident=incident, by=user)


def _url(incident, what=""):
    return f"/incidents/{incident.pk}/postmortem/{what}"


def _fresh(pm) -> Postmortem:
    return Postmortem.objects.get(pk=pm.pk)


# --- bug 3: one editor saves every section ----------------------------------------------------


def test_one_save_keeps_every_section_the_person_filled(client_for, incident, user, pm):
    response = client_for(user).post(
        _url(incident, "save/"),
        {
            "version": pm.version,
            "went_well": "The pager fired within a minute.",
            "went_poorly": "The runbook pointed at a retired dashboard.",
            "lessons": "Give every service a connection budget.",
        },
    )
    assert response.status_code == 302
    saved = _fresh(pm).sections
    assert saved["went_well"] == "The pager fired within a minute."
    assert saved["went_poorly"] == "The runbook pointed at a retired dashboard."
    assert saved["lessons"] == "Give every service a connection budget."
    page = client_for(user).get(_url(incident)).content.decode()
    assert "Saved: What went well, What went poorly, Lessons." in page
    for text in ("The pager fired within a minute.", "connection budget"):
        assert text in page


def test_the_editor_is_one_form_with_one_save_button(client_for, incident, user, pm):
    page = client_for(user).get(_url(incident)).content.decode()
    assert page.count('id="pm-editor"') == 1
    assert page.count('value="save"') == 1
    assert 'name="version" value="1"' in page
    assert "js/unsaved.js" in page
    assert "<script>" not in page.split("<body", 1)[1]  # CSP: no inline script


def test_a_form_without_a_section_never_clears_it(pm, user):
    pm, _ = svc.save_draft(
        postmortem=pm, sections={"lessons": "Keep me."}, expected_version=1, by=user
    )
    pm, changed = svc.save_draft(
        postmortem=pm, sections={"went_well": "New."}, expected_version=2, by=user
    )
    assert changed == ["went_well"]
    assert _fresh(pm).sections["lessons"] == "Keep me."


def test_a_validation_error_saves_nothing_and_keeps_the_persons_text(
    client_for, incident, user, pm
):
    before = _fresh(pm)
    response = client_for(user).post(
        _url(incident, "save/"),
        {
            "version": pm.version,
            "went_well": "Alerts fired early; nobody had to guess.",
            "lessons": "x" * (svc.MAX_SECTION_CHARS + 1),
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Alerts fired early; nobody had to guess." in body
    assert "Nothing was saved" in body
    assert "data-unsaved" in body  # the leave-page warning knows the text is not saved
    after = _fresh(pm)
    assert after.sections == before.sections
    assert after.version == before.version


def test_a_stale_save_overwrites_nothing_and_shows_both_texts(client_for, incident, user, pm):
    colleague = UserFactory(first_name="Cora", last_name="Colleague")
    incident.responders.add(colleague)  # one of its people, so they may edit the draft
    # Both open the editor at version 1; the colleague saves first.
    svc.save_draft(
        postmortem=pm,
        sections={"lessons": "Budget connections per service."},
        expected_version=1,
        by=colleague,
    )
    response = client_for(user).post(
        _url(incident, "save/"),
        {"version": "1", "lessons": "Alert on pool saturation, not on errors."},
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Cora Colleague saved this postmortem" in body
    assert "Budget connections per service." in body  # theirs, newer
    assert "Alert on pool saturation, not on errors." in body  # yours, kept
    assert 'name="version" value="2"' in body  # the next save names the version shown
    assert _fresh(pm).sections["lessons"] == "Budget connections per service."
    assert _fresh(pm).version == 2


def test_after_merging_a_stale_save_the_next_save_goes_through(client_for, incident, user, pm):
    svc.save_draft(postmortem=pm, sections={"lessons": "Theirs."}, expected_version=1, by=user)
    client = client_for(user)
    assert (
        client.post(_url(incident, "save/"), {"version": "1", "lessons": "Mine."}).status_code
        == 409
    )
    response = client.post(_url(incident, "save/"), {"version": "2", "lessons": "Theirs. Mine."})
    assert response.status_code == 302
    assert _fresh(pm).sections["lessons"] == "Theirs. Mine."


def test_a_stale_save_merges_sections_only_one_side_changed(pm, user, other_user):
    pm.incident.responders.add(other_user)
    svc.save_draft(
        postmortem=pm, sections={"lessons": "Theirs."}, expected_version=1, by=other_user
    )
    with pytest.raises(StaleDraft) as caught:
        svc.save_draft(
            postmortem=pm,
            sections={"lessons": "", "went_well": "Mine."},
            expected_version=1,
            by=user,
        )
    stale = caught.value
    assert stale.merged == {"lessons": "Theirs.", "went_well": "Mine."}
    assert stale.conflicts == []
    assert stale.current_version == 2
    assert "went_well" not in _fresh(pm).sections or not _fresh(pm).sections["went_well"]


def test_every_save_is_kept_in_history(pm, user):
    svc.save_draft(postmortem=pm, sections={"lessons": "One."}, expected_version=1, by=user)
    svc.save_draft(postmortem=pm, sections={"lessons": "Two."}, expected_version=2, by=user)
    texts = [h.sections.get("lessons") for h in pm.history.order_by("history_date", "history_id")]
    assert texts[-2:] == ["One.", "Two."]
    assert [h.version for h in pm.history.order_by("history_date", "history_id")][-2:] == [2, 3]


def test_saving_unchanged_text_is_not_a_new_version(pm, user):
    svc.save_draft(postmortem=pm, sections={"lessons": "Same."}, expected_version=1, by=user)
    _, changed = svc.save_draft(
        postmortem=pm, sections={"lessons": "Same.\r\n"}, expected_version=2, by=user
    )
    assert changed == []
    assert _fresh(pm).version == 2


def test_saving_while_in_review_is_refused_and_changes_nothing(
    client_for, incident, user, other_user, pm
):
    svc.submit_for_review(postmortem=pm, by=user, reviewers=[other_user])
    before = _fresh(pm)
    response = client_for(user).post(
        _url(incident, "save/"), {"version": before.version, "lessons": "Sneaky edit."}
    )
    assert response.status_code == 400
    assert "in review" in response.content.decode()
    assert _fresh(pm).sections == before.sections


def test_regenerate_saves_what_was_typed_first(client_for, incident, user, pm):
    response = client_for(user).post(
        _url(incident, "save/"),
        {"version": "1", "lessons": "Typed before regenerating.", "action": "regenerate:timeline"},
    )
    assert response.status_code == 302
    assert _fresh(pm).sections["lessons"] == "Typed before regenerating."


# --- bug 5: the reviewer choice travels with "Submit for review" -----------------------------


def test_submit_carries_the_reviewers_chosen_on_the_same_form(client_for, incident, user, pm):
    first, second = UserFactory(), UserFactory()
    response = client_for(user).post(
        _url(incident, "submit/"),
        {
            "version": "1",
            "reviewers": [first.pk, second.pk],
            "reviewers_shown": "on",
            "lessons": "Written and submitted in one go.",
        },
    )
    assert response.status_code == 302
    pm = _fresh(pm)
    assert pm.status == Postmortem.Status.IN_REVIEW
    assert set(pm.reviewers.all()) == {first, second}
    assert pm.sections["lessons"] == "Written and submitted in one go."


def test_a_refused_submit_changes_nothing_and_keeps_the_choice_on_screen(
    client_for, incident, user, pm
):
    reviewer = UserFactory(first_name="Rhea", last_name="Reviewer")
    UserFactory(username="ned", first_name="Ned", last_name="Stark")
    response = client_for(user).post(
        _url(incident, "submit/"),
        {
            "version": "1",
            "reviewers": [reviewer.pk],
            "reviewers_shown": "on",
            "went_poorly": "Ned Stark was careless and broke prod.",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Ned Stark was careless" in body
    assert 'id="override_reason"' in body  # the reason asked for is on screen
    assert f'value="{reviewer.pk}" selected' in body
    pm = _fresh(pm)
    assert pm.status == Postmortem.Status.DRAFT
    assert pm.reviewers.count() == 0
    assert pm.sections["went_poorly"] == ""
    assert pm.version == 1


# --- bug 4: reviewers are told and have a queue -----------------------------------------------


def test_submitting_mails_each_named_reviewer_a_link_after_commit(
    incident, user, pm, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://pm.example.com"
    first = UserFactory(email="first@example.com")
    second = UserFactory(email="second@example.com")
    with django_capture_on_commit_callbacks():
        svc.submit_for_review(postmortem=pm, by=user, reviewers=[first, second, user])
    assert mail.outbox == []  # nothing leaves inside the transaction: outbox rows, sent after
    assert OutboxMessage.objects.filter(channel="mail").count() == 2
    assert deliver_outbox() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["first@example.com", "second@example.com"]
    link = f"https://pm.example.com/incidents/{incident.pk}/postmortem/#review"
    for message in mail.outbox:
        assert incident.title in message.subject
        assert link in message.body
        assert link in message.alternatives[0][0]


def test_slack_hears_of_a_review_request_when_configured(incident, user, pm, settings, monkeypatch):
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/T/B/x"
    svc.submit_for_review(postmortem=pm, by=user, reviewers=[UserFactory()])
    notify_reviewers(postmortem_id=pm.pk)  # a repeat queues nothing new
    posted = OutboxMessage.objects.filter(channel="slack")
    assert posted.count() == 1
    assert incident.title in posted.get().payload["text"]


def test_a_restricted_review_request_reaches_only_people_who_can_see_it(
    user, settings, monkeypatch
):
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/T/B/x"
    responder = UserFactory(email="responder@example.com")
    named = UserFactory(email="named@example.com")
    incident = IncidentFactory(restricted=True, commander=user, responders=[responder])
    pm = svc.generate_draft(incident=incident, by=user)
    # Naming a reviewer on a restricted incident makes them one of its people (ARCHITECTURE).
    svc.submit_for_review(postmortem=pm, by=user, reviewers=[responder, named])
    deliver_outbox()
    assert sorted(m.to[0] for m in mail.outbox) == ["named@example.com", "responder@example.com"]
    assert not OutboxMessage.objects.filter(channel="slack").exists()  # never Slack
    # Someone taken off the incident since is not told again.
    incident.responders.remove(named)
    assert reviewers_to_notify(pm) == [responder]


def test_no_mail_once_the_postmortem_left_review(incident, user, other_user, pm):
    svc.submit_for_review(postmortem=pm, by=user, reviewers=[other_user])
    queued = OutboxMessage.objects.count()
    svc.request_changes(postmortem=pm, by=other_user, comment="More numbers.")
    assert notify_reviewers(postmortem_id=pm.pk) == 0
    assert OutboxMessage.objects.count() == queued


def test_home_lists_what_waits_for_my_review_until_i_approve(
    client_for, incident, user, other_user, pm
):
    svc.submit_for_review(postmortem=pm, by=user, reviewers=[other_user])
    home = client_for(other_user).get("/").content.decode()
    assert "Waiting for my review" in home
    assert f"Postmortem of #{incident.pk} {incident.title}" in home
    assert f'href="/incidents/{incident.pk}/postmortem/#review"' in home
    assert f"Postmortem of #{incident.pk}" not in client_for(user).get("/").content.decode()
    svc.approve(postmortem=pm, by=other_user)
    home = client_for(other_user).get("/").content.decode()
    assert f"Postmortem of #{incident.pk}" not in home
    assert "Nothing waits for your review." in home


def test_a_restricted_postmortem_waits_only_for_reviewers_who_can_see_it(user):
    responder, named = UserFactory(), UserFactory()
    incident = IncidentFactory(restricted=True, commander=user, responders=[responder])
    pm = svc.generate_draft(incident=incident, by=user)
    svc.submit_for_review(postmortem=pm, by=user, reviewers=[responder, named])
    assert list(waiting_for_review(named)) == [pm]  # named: now one of its people
    incident.responders.remove(named)  # taken off the incident: it no longer waits for them
    assert list(waiting_for_review(responder)) == [pm]
    assert list(waiting_for_review(named)) == []


# --- the API follows the same rule: If-Match / ETag ------------------------------------------


def test_the_api_reads_the_draft_with_its_etag(api_client_for, incident, user, pm):
    response = api_client_for(user).get(f"/api/postmortems/{incident.pk}/draft/")
    assert response.status_code == 200
    assert response["ETag"] == f'"{incident.pk}-1"'
    assert response.json()["version"] == 1
    assert set(response.json()["sections"]) >= {"summary", "lessons"}


def test_an_api_save_without_if_match_is_428_and_changes_nothing(
    api_client_for, incident, user, pm
):
    response = api_client_for(user).patch(
        f"/api/postmortems/{incident.pk}/draft/", {"sections": {"lessons": "X"}}, format="json"
    )
    assert response.status_code == 428
    assert _fresh(pm).sections["lessons"] == ""


def test_a_stale_api_save_is_412_with_both_texts_and_changes_nothing(
    api_client_for, incident, user, other_user, pm
):
    incident.responders.add(other_user)
    svc.save_draft(
        postmortem=pm, sections={"lessons": "Theirs."}, expected_version=1, by=other_user
    )
    response = api_client_for(user).patch(
        f"/api/postmortems/{incident.pk}/draft/",
        {"sections": {"lessons": "Mine."}},
        format="json",
        HTTP_IF_MATCH=f'"{incident.pk}-1"',
    )
    assert response.status_code == 412
    body = response.json()
    assert body["current_version"] == 2
    assert body["etag"] == response["ETag"] == f'"{incident.pk}-2"'
    assert body["conflicts"] == [{"section": "lessons", "theirs": "Theirs.", "yours": "Mine."}]
    assert _fresh(pm).sections["lessons"] == "Theirs."


def test_an_api_save_with_the_current_etag_saves_sections_and_reviewers(
    api_client_for, incident, user, other_user, pm
):
    response = api_client_for(user).patch(
        f"/api/postmortems/{incident.pk}/draft/",
        {
            "sections": {"lessons": "Budgets.", "went_well": "Paging."},
            "reviewers": [other_user.username],
        },
        format="json",
        HTTP_IF_MATCH=f'"{incident.pk}-1"',
    )
    assert response.status_code == 200
    assert response["ETag"] == f'"{incident.pk}-2"'
    pm = _fresh(pm)
    assert (pm.sections["lessons"], pm.sections["went_well"]) == ("Budgets.", "Paging.")
    assert list(pm.reviewers.all()) == [other_user]


def test_an_unknown_section_or_reviewer_is_400_over_the_api(api_client_for, incident, user, pm):
    api = api_client_for(user)
    url = f"/api/postmortems/{incident.pk}/draft/"
    tag = f'"{incident.pk}-1"'
    assert (
        api.patch(url, {"sections": {"nope": "x"}}, format="json", HTTP_IF_MATCH=tag).status_code
        == 400
    )
    response = api.patch(url, {"reviewers": ["ghost"]}, format="json", HTTP_IF_MATCH=tag)
    assert response.status_code == 400
    assert "ghost" in response.json()["reviewers"][0]
    assert _fresh(pm).version == 1


def test_submitting_over_the_api_carries_the_reviewers(
    api_client_for, incident, user, other_user, pm
):
    response = api_client_for(user).post(
        f"/api/postmortems/{incident.pk}/submit/",
        {"reviewers": [other_user.username]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "in_review"
    assert response.json()["reviewers"] == [other_user.username]
