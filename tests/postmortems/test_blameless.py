"""Tests for the blameless-language checker (pure module, no database)."""

from __future__ import annotations

import pytest

from postmortems.blameless import (
    MESSAGES,
    SUGGESTIONS,
    Finding,
    check_blameless,
    has_high,
    highest_severity,
)

PEOPLE = ("Ned Stark", "ned", "nstark", "Arya Stark", "arya", "Jon van der Berg")

# (sentence, expected rule, exact flagged phrase)
MUST_WARN = [
    ("Ned didn't know the flag was still on.", "named_person", "Ned"),
    ("@ned forgot to rotate the certificate.", "named_person", "@ned"),
    ("Ned Stark pushed a bad config to production.", "named_person", "Ned Stark"),
    ("The deploy by ned broke checkout.", "named_person", "ned"),
    ("NSTARK overlooked the disk alert.", "named_person", "NSTARK"),
    ("Ned, the on-call engineer, missed the page.", "named_person", "Ned"),
    ("Arya's migration caused the lock contention.", "named_person", "Arya"),
    ("The outage was caused by Arya.", "named_person", "Arya"),
    ("Then @bran accidentally deleted the bucket.", "named_person", "@bran"),
    ("Ned did not check the replica lag before failing over.", "named_person", "Ned"),
    ("In the end it was Ned's fault.", "named_person", "Ned"),
    ("Berg messed up the rollout order.", "named_person", "Berg"),
    ("The root cause was human error.", "human_error", "human error"),
    ("Classic Operator Error during the maintenance window.", "human_error", "Operator Error"),
    ("Support called it user error.", "human_error", "user error"),
    ("We should have caught this in staging.", "should_have", "should have"),
    ("The reviewer should've noticed the missing index.", "should_have", "should've"),
    ("The reviewer should\u2019ve noticed the missing index.", "should_have", "should\u2019ve"),
    ("Someone ought to have paged the database team.", "should_have", "ought to have"),
    ("We shouldn't have deployed on a Friday.", "should_have", "shouldn't have"),
    ("The engineer failed to run the migration.", "failed_to", "failed to"),
    ("The health check failed to detect the stale replica.", "failed_to", "failed to"),
    ("It was a careless change.", "careless", "careless"),
    ("The config was edited carelessly.", "careless", "carelessly"),
    ("That was negligent.", "careless", "negligent"),
    ("This is gross negligence.", "careless", "negligence"),
    ("The handover was sloppy.", "careless", "sloppy"),
    ("A stupid mistake took the site down.", "careless", "stupid"),
    ("The vendor was incompetent.", "careless", "incompetent"),
    ("The reviewer was lazy.", "careless", "lazy"),
    ("If only we had run the load test.", "counterfactual", "If only"),
    ("A canary could have prevented this.", "counterfactual", "could have prevented"),
    (
        "The outage would have been avoided with a lock.",
        "counterfactual",
        "would have been avoided",
    ),
    ("Had we just waited, nothing would have broken.", "counterfactual", "Had we just"),
    ("Management blamed the database team.", "blame_verb", "blamed"),
    ("It was the fault of the release manager.", "blame_verb", "fault of"),
    ("The DBA is responsible for the outage.", "blame_verb", "responsible for the outage"),
    ("Honestly it was his fault.", "blame_verb", "his fault"),
    ("It was her fault.", "blame_verb", "her fault"),
    ("They said it was their fault.", "blame_verb", "their fault"),
    ("We blame the on-call rotation.", "blame_verb", "blame"),
]

MUST_NOT_WARN = [
    "The health check did not detect the stale replica.",
    "Ned led the response.",
    "The onboarding did not cover caching slow queries.",
    "thanks @ned for the quick rollback",
    "We failed over to the replica.",
    "Nedra forgot to renew the domain.",
    "Ned led the response after the deploy broke checkout.",
    "Thanks to Ned we never lost any data.",
    "Kudos to @arya, the rollback broke nothing.",
    "Ned didn't hesitate to roll back.",
    "We used git blame to find the commit.",
    "This is a blameless review.",
    "Nobody is to blame for this incident.",
    "Don't blame the network.",
    "The runbook should have a section on cache warming.",
    "On-call engineers should have access to the dashboards.",
    "If only one replica is healthy, writes are rejected.",
    "The queryset uses lazy loading for related rows.",
    "Ned reviewed the change that broke the cache.",
    "The deploy pipeline allowed an unvalidated config.",
    "Ned and Arya coordinated the failover.",
    "The ticket was assigned to nstark.",
    "Please email ned@example.com for access.",
    "The disk controller reported a fault on the primary.",
    "A retry storm exhausted the connection pool.",
]


@pytest.mark.parametrize(("text", "rule", "phrase"), MUST_WARN)
def test_must_warn(text: str, rule: str, phrase: str) -> None:
    findings = check_blameless(text, people=PEOPLE)
    matching = [f for f in findings if f.rule == rule]
    assert matching, f"expected {rule} in {text!r}, got {findings}"
    assert phrase in [text[f.start : f.end] for f in matching]


@pytest.mark.parametrize("text", MUST_NOT_WARN)
def test_must_not_warn(text: str) -> None:
    findings = check_blameless(text, people=PEOPLE)
    assert findings == [], [(f.rule, text[f.start : f.end]) for f in findings]


def test_table_sizes() -> None:
    assert len(MUST_WARN) >= 25
    assert len(MUST_NOT_WARN) >= 15
    assert {rule for _, rule, _ in MUST_WARN} == set(MESSAGES)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Ned failed to renew the certificate.", "failed to"),
        ("The rollout failed to reach half the hosts.", "failed to"),
    ],
)
def test_exact_span(text: str, phrase: str) -> None:
    [finding] = [f for f in check_blameless(text) if f.rule == "failed_to"]
    assert text[finding.start : finding.end] == phrase
    assert finding.start == text.index(phrase)


def test_named_person_span_is_the_name_and_overlaps_allowed() -> None:
    text = "Ned failed to renew the certificate."
    findings = check_blameless(text, people=["ned"])
    assert [(f.rule, text[f.start : f.end]) for f in findings] == [
        ("named_person", "Ned"),
        ("failed_to", "failed to"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Nedra forgot to renew.",
        "Ned_b forgot to renew.",
        "Planned work forgot nothing.",
        "ned2 forgot",
    ],
)
def test_people_whole_word_only(text: str) -> None:
    assert not [f for f in check_blameless(text, people=["ned"]) if f.rule == "named_person"]


@pytest.mark.parametrize("name", ["NED", "ned", "Ned", "nEd"])
def test_people_case_insensitive(name: str) -> None:
    text = f"{name} forgot to renew the certificate."
    findings = [f for f in check_blameless(text, people=["Ned"]) if f.rule == "named_person"]
    assert [(f.start, f.end) for f in findings] == [(0, len(name))]


def test_full_name_wins_over_parts() -> None:
    text = "Ned Stark pushed a bad config."
    findings = check_blameless(text, people=["Ned Stark"])
    assert [(f.rule, text[f.start : f.end]) for f in findings] == [("named_person", "Ned Stark")]


def test_name_parts_need_three_letters_and_skip_particles() -> None:
    people = ["Al Yu", "Jon van der Berg"]
    assert check_blameless("Yu forgot the flag.", people=people) == []
    assert check_blameless("Van forgot the flag.", people=people) == []
    assert check_blameless("Al Yu forgot the flag.", people=people)[0].rule == "named_person"
    assert check_blameless("Berg forgot the flag.", people=people)[0].rule == "named_person"


def test_unknown_names_are_not_flagged_but_mentions_are() -> None:
    assert check_blameless("Robb forgot to renew the certificate.") == []
    text = "@robb forgot to renew the certificate."
    [finding] = check_blameless(text)
    assert (finding.rule, text[finding.start : finding.end]) == ("named_person", "@robb")


def test_email_is_not_a_mention() -> None:
    assert check_blameless("ned@example.com forgot nothing, the cron broke.") == []


def test_sorted_and_no_duplicates() -> None:
    text = "Human error: we should have known. If only we had tested, it was sloppy; human error."
    findings = check_blameless(text, people=PEOPLE)
    starts = [f.start for f in findings]
    assert starts == sorted(starts)
    keys = [(f.rule, f.start, f.end) for f in findings]
    assert len(keys) == len(set(keys))
    assert [f.rule for f in findings] == [
        "human_error",
        "should_have",
        "counterfactual",
        "careless",
        "human_error",
    ]


def test_duplicate_people_entries_do_not_duplicate_findings() -> None:
    text = "Ned forgot the flag."
    findings = check_blameless(text, people=["ned", "Ned", "NED", "@ned"])
    assert len(findings) == 1


def test_finding_fields() -> None:
    [finding] = check_blameless("It was human error.")
    assert isinstance(finding, Finding)
    assert finding.severity == "high"
    assert finding.message == MESSAGES["human_error"]
    assert finding.suggestion == SUGGESTIONS["human_error"]
    with pytest.raises(AttributeError):
        finding.start = 0  # type: ignore[misc]


def test_severities() -> None:
    assert highest_severity([]) is None
    assert has_high([]) is False
    warn_only = check_blameless("We should have tested it.")
    assert highest_severity(warn_only) == "warn"
    assert has_high(warn_only) is False
    mixed = check_blameless("We should have tested it; it was careless.")
    assert highest_severity(mixed) == "high"
    assert has_high(mixed) is True


def test_empty_text() -> None:
    assert check_blameless("") == []
    assert check_blameless("   ", people=PEOPLE) == []


def test_messages_and_suggestions_cover_every_rule() -> None:
    assert set(MESSAGES) == set(SUGGESTIONS)
    for rule in MESSAGES:
        assert MESSAGES[rule].endswith(".")
        assert SUGGESTIONS[rule]
