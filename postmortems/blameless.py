"""Blameless-language checker for postmortem text and guided 5-whys answers.

Pure Python (no Django import) so it can run on every keystroke-debounced hint
request as well as when a postmortem document is saved or moved to review.

``check_blameless(text, people=...)`` returns a sorted list of :class:`Finding`.
Each finding points at an exact span (``text[start:end]``), carries a severity
(``"warn"`` or ``"high"``) and a warm, system-focused message and suggestion.

Rules (all case-insensitive, whole words):

* ``named_person`` (high): a known person (from ``people``) or any ``@mention``
  is the subject of a failure, e.g. "Ned didn't know", "@ned forgot to",
  "Ned Stark pushed a bad config", "the deploy by ned broke". The span is the
  name or mention only. A mere mention ("Ned led the response", "thanks @ned")
  is never flagged.
* ``human_error`` (high): "human error", "operator error", "user error".
* ``should_have`` (warn): "should have", "should've", "shouldn't have",
  "ought to have" -- but not forward-looking uses such as "the runbook should
  have a section on ..." (followed by a determiner, "to" or "access").
* ``failed_to`` (warn): "failed to" (stays a warning because it is common and
  fine about systems: "the health check failed to detect"). "failed over" is
  not matched.
* ``careless`` (high): careless(ly/ness), negligent(ly), negligence,
  sloppy/sloppily/sloppiness, stupid(ity), incompetent/incompetence,
  lazy/laziness -- "lazy" is ignored in technical phrases ("lazy loading",
  "lazy evaluation", "lazy-initialised", ...).
* ``counterfactual`` (warn): "if only" (when it introduces a wish: followed by
  a pronoun or a nearby "had/were/would/could/did", so "if only one replica is
  healthy" is fine), "could have prevented", "would have been avoided",
  "had we just" (and close variants).
* ``blame_verb`` (high): blame/blamed/blames/blaming, "fault of",
  "responsible for the outage/incident", "his/her/their/my/your fault".
  "git blame", "blameless", "blame-free" and negated uses ("nobody is to
  blame", "we don't blame individuals", "no-blame") are not flagged.

How ``people`` are matched (decision):

* Every entry is matched as given (whole word, case-insensitive), after
  stripping a leading ``@``; for e-mail-like entries the local part is used.
  Entries shorter than 2 characters are ignored.
* Multi-word entries ("Ned Stark") additionally contribute each name part of
  length >= 3 ("Ned", "Stark"), except name particles (van, von, der, ...).
* At a given position the longest entry wins, so "Ned Stark forgot" yields a
  single finding spanning "Ned Stark".
* Only names passed in are ever flagged: there is no guessing of capitalised
  words, so common words are safe unless someone's username *is* that word.

The failure detection is a deliberate heuristic, not a parser: after the name
(optionally followed by a possessive "'s" and an apposition between commas,
"Ned, the on-call engineer, forgot") we allow at most three words before a
failure verb/phrase, stopping at punctuation, conjunctions and relative
pronouns ("Ned led the response after the deploy broke" is not flagged).
A name that is the agent of a passive failure ("caused by ned",
"broken by @ned") is flagged as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from .blameless_words import (
    DID_NOT_EXEMPT,
    DID_NOT_HEADS,
    FAILURE_PHRASES,
    NAME_PARTICLES,
    STOPPERS,
)

__all__ = [
    "Finding",
    "check_blameless",
    "has_high",
    "highest_severity",
]

# ---------------------------------------------------------------------------
# Rule names, severities, messages and suggestions
# ---------------------------------------------------------------------------

NAMED_PERSON: Final = "named_person"
HUMAN_ERROR: Final = "human_error"
SHOULD_HAVE: Final = "should_have"
FAILED_TO: Final = "failed_to"
CARELESS: Final = "careless"
COUNTERFACTUAL: Final = "counterfactual"
BLAME_VERB: Final = "blame_verb"

WARN: Final = "warn"
HIGH: Final = "high"

SEVERITIES: Final[dict[str, str]] = {
    NAMED_PERSON: HIGH,
    HUMAN_ERROR: HIGH,
    SHOULD_HAVE: WARN,
    FAILED_TO: WARN,
    CARELESS: HIGH,
    COUNTERFACTUAL: WARN,
    BLAME_VERB: HIGH,
}

MESSAGES: Final[dict[str, str]] = {
    NAMED_PERSON: (
        "Naming a person as the one who failed points the review at an individual "
        "instead of at the conditions that made the outcome likely."
    ),
    HUMAN_ERROR: (
        '"Human error" is where the inquiry starts, not where it ends: people acted '
        "sensibly with what the system showed them at the time."
    ),
    SHOULD_HAVE: (
        '"Should have" judges a past decision with knowledge nobody had at the time, '
        "which hides why the choice made sense then."
    ),
    FAILED_TO: (
        '"Failed to" frames what happened as a shortfall; it is fine for systems, but '
        "for people it reads as a verdict rather than a description."
    ),
    CARELESS: (
        "Words about character make people defensive and tell us nothing about the "
        "gaps in tooling, process or context that we can actually fix."
    ),
    COUNTERFACTUAL: (
        "Counterfactuals describe a world that did not happen; the review learns more "
        "from what did happen and why it made sense."
    ),
    BLAME_VERB: (
        "Assigning blame or fault shuts down the candid accounts we need to understand "
        "how the system really behaved."
    ),
}

SUGGESTIONS: Final[dict[str, str]] = {
    NAMED_PERSON: (
        "Describe the role and what the system allowed: 'the on-call engineer had no "
        "alert for the stale replica' rather than who missed it."
    ),
    HUMAN_ERROR: (
        "Describe what the system allowed: 'the deploy tool accepted a config that "
        "failed validation in staging'."
    ),
    SHOULD_HAVE: (
        "Describe what was known and what made the path taken look right: 'the "
        "dashboard showed green, so the rollout continued'."
    ),
    FAILED_TO: (
        "Describe the gap in the system: 'the onboarding did not cover caching slow "
        "queries' or 'the alert did not fire'."
    ),
    CARELESS: (
        "Name the missing guardrail instead: 'the migration ran without a dry-run "
        "step because the pipeline did not require one'."
    ),
    COUNTERFACTUAL: (
        "State the contributing condition and the change that addresses it: 'the "
        "canary stage was skipped for config changes; we will add it'."
    ),
    BLAME_VERB: (
        "Describe the contributing factors and how they combined: 'a missing limit "
        "and a retry storm together exhausted the pool'."
    ),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    start: int
    end: int
    message: str
    suggestion: str


def _finding(rule: str, start: int, end: int) -> Finding:
    return Finding(
        rule=rule,
        severity=SEVERITIES[rule],
        start=start,
        end=end,
        message=MESSAGES[rule],
        suggestion=SUGGESTIONS[rule],
    )


# ---------------------------------------------------------------------------
# Phrase rules
# ---------------------------------------------------------------------------

_FLAGS: Final = re.IGNORECASE | re.UNICODE
_APOS: Final = "['\u2019]"  # straight or typographic apostrophe

# Forward-looking "should have": "the runbook should have a section", "on-call
# should have access to", "we should have to ..." are recommendations.
_NOT_HINDSIGHT: Final = (
    r"(?!\s+(?:a|an|the|to|some|any|more|fewer|less|no|enough|its|their|our|your|"
    r"this|that|these|those|each|every|access|at\s+least)\b)"
)

_LAZY_TECH: Final = (
    r"(?![\s-]+(?:load|loads|loaded|loading|loader|eval|evaluation|evaluated|init|"
    r"initiali[sz]ation|initiali[sz]ed|import|imports|iterator|iteration|query|queries|"
    r"queryset|computation|fetch|fetching|instantiation|property|properties|attribute|"
    r"sequence|list|stream|streams|value|values|static|mode|object|objects|relation|"
    r"relationship|translation|consumer|module|modules|route|routes|component|"
    r"components|image|images|hydration|binding|bindings|expansion)\b)"
)

_PHRASE_RULES: Final[list[tuple[str, re.Pattern[str]]]] = [
    (HUMAN_ERROR, re.compile(r"\b(?:human|operator|user)\s+error\b", _FLAGS)),
    (
        SHOULD_HAVE,
        re.compile(
            rf"\b(?:should(?:\s+not)?\s+have|should{_APOS}ve|shouldn{_APOS}t\s+have|"
            rf"ought\s+to\s+have|ought\s+not\s+to\s+have)\b{_NOT_HINDSIGHT}",
            _FLAGS,
        ),
    ),
    (FAILED_TO, re.compile(r"\bfailed\s+to\b", _FLAGS)),
    (
        CARELESS,
        re.compile(
            r"\b(?:careless|carelessly|carelessness|negligent|negligently|negligence|"
            r"sloppy|sloppily|sloppiness|stupid|stupidly|stupidity|incompetent|"
            r"incompetently|incompetence|laziness|lazily)\b",
            _FLAGS,
        ),
    ),
    (CARELESS, re.compile(rf"\blazy\b{_LAZY_TECH}", _FLAGS)),
    (
        COUNTERFACTUAL,
        re.compile(
            r"\bif\s+only\b(?=\s+(?:we|they|he|she|i|you|someone|somebody|anyone|"
            r"anybody|people|the\s+team)\b|(?:\s+[\w'\u2019-]+){0,4}?\s+(?:had|hadn't|"
            r"hadn\u2019t|were|would|could|did)\b)",
            _FLAGS,
        ),
    ),
    (
        COUNTERFACTUAL,
        re.compile(
            rf"\b(?:could|would|might)(?:\s+have|{_APOS}ve)\s+(?:easily\s+)?(?:been\s+)?"
            rf"(?:prevented|avoided)\b",
            _FLAGS,
        ),
    ),
    (
        COUNTERFACTUAL,
        re.compile(
            r"\bhad\s+(?:we|they|he|she|i|you|someone|somebody|anyone|the\s+team)\s+"
            r"(?:just|only|simply)\b",
            _FLAGS,
        ),
    ),
    (
        BLAME_VERB,
        re.compile(
            r"(?<!\bgit\s)(?<!\bgit-)\b(?:blame|blamed|blames|blaming)\b"
            r"(?!-(?:free|less|aware|ful))",
            _FLAGS,
        ),
    ),
    (BLAME_VERB, re.compile(r"\bfault\s+of\b", _FLAGS)),
    (
        BLAME_VERB,
        re.compile(
            r"\bresponsible\s+for\s+(?:the|this|that)\s+(?:outage|incident|downtime)\b",
            _FLAGS,
        ),
    ),
    (
        BLAME_VERB,
        re.compile(r"\b(?:his|her|their|my|your|our)\s+fault\b", _FLAGS),
    ),
]

# Negations that turn a blame word into blameless language:
# "nobody is to blame", "we do not blame", "a no-blame review", "without blame".
_NEGATION_BEFORE: Final = re.compile(
    r"(?:\b(?:no|not|without|never|nobody|noone|none|nor|don't|dont|doesn't|"
    r"didn't|isn't|aren't|wasn't|won't|cannot|can't)\b|\bno\s+one\b)"
    r"[\s\w'\u2019-]{0,16}$",
    _FLAGS,
)


def _negated(text: str, start: int) -> bool:
    window = text[max(0, start - 30) : start].replace("\u2019", "'")
    # stay inside the sentence
    cut = max(window.rfind("."), window.rfind("!"), window.rfind("?"), window.rfind("\n"))
    if cut >= 0:
        window = window[cut + 1 :]
    window = window.replace("-", " ")
    return bool(_NEGATION_BEFORE.search(window))


# ---------------------------------------------------------------------------
# Named-person rule
# ---------------------------------------------------------------------------

_MAX_GAP: Final = 3  # words allowed between the name and the failure phrase
_MAX_APPOSITION: Final = 8  # words allowed inside ", the on-call engineer,"

_TOKEN: Final = re.compile(
    r"(?P<word>[\w@][\w'\u2019.\-/]*[\w']|[\w@])|(?P<punct>[^\w\s])",
    re.UNICODE,
)
_SENTENCE_END: Final = re.compile(r"[.!?;:](?=\s|$)|\n|[\u2026]")

_MENTION: Final = re.compile(r"(?<![\w.@])@[A-Za-z0-9_](?:[\w.-]*\w)?", re.UNICODE)
_POSSESSIVE_FAULT: Final = re.compile(r"['\u2019]s?\s+fault\b(?![\s-]*toleran)", _FLAGS)
# "thanks to Ned we never lost data", "kudos to @ned, ..." credit, not blame.
_CREDIT_BEFORE: Final = re.compile(
    r"\b(?:thanks|thank\s+you|thx|kudos|props|credit|shout-?\s?outs?|grateful|"
    r"gratitude|cheers)(?:\s+(?:to|go\s+to|goes\s+to))?\s*,?\s*$",
    _FLAGS,
)
_PASSIVE_AGENT: Final = re.compile(
    r"\b(?:caused|broken|broke|triggered)\s+by\s+$|\b(?:mistake|error|fault)\s+(?:of|by)\s+$",
    _FLAGS,
)


def _people_variants(people: Iterable[str]) -> tuple[str, ...]:
    variants: set[str] = set()
    for raw in people:
        if not isinstance(raw, str):
            continue
        entry = " ".join(raw.strip().split())
        if entry.startswith("@"):
            entry = entry[1:]
        if "@" in entry:
            entry = entry.split("@", 1)[0]
        if len(entry) >= 2:
            variants.add(entry.casefold())
        parts = entry.split(" ")
        if len(parts) > 1:
            for part in parts:
                if len(part) >= 3 and part.casefold() not in NAME_PARTICLES:
                    variants.add(part.casefold())
    # longest first so the full name wins over its parts at the same position
    return tuple(sorted(variants, key=lambda v: (-len(v), v)))


@lru_cache(maxsize=64)
def _people_pattern(variants: tuple[str, ...]) -> re.Pattern[str] | None:
    if not variants:
        return None
    alternation = "|".join(r"\s+".join(re.escape(w) for w in v.split(" ")) for v in variants)
    return re.compile(rf"(?<![\w@])(?:{alternation})(?!\w)", _FLAGS)


def _words_after(text: str, pos: int) -> list[tuple[str, str]]:
    """Tokens (kind, lower-cased value) from ``pos`` to the end of the sentence."""
    end_match = _SENTENCE_END.search(text, pos)
    end = end_match.start() if end_match else len(text)
    tokens: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(text, pos, end):
        if m.group("word"):
            tokens.append(("word", m.group("word").replace("\u2019", "'").casefold()))
        else:
            tokens.append(("punct", m.group("punct")))
        if len(tokens) > _MAX_APPOSITION + _MAX_GAP + 8:
            break
    return tokens


def _failure_at(tokens: list[tuple[str, str]], i: int) -> bool:
    # only consider a contiguous run of words starting at i
    run: list[str] = []
    for kind, value in tokens[i : i + 4]:
        if kind != "word":
            break
        run.append(value)
    for phrase in FAILURE_PHRASES:
        n = len(phrase)
        if tuple(run[:n]) == phrase:
            # "didn't hesitate" is not a failure
            exempt = phrase in DID_NOT_HEADS and len(run) > n and run[n] in DID_NOT_EXEMPT
            return not exempt
    return False


def _is_failure_subject(text: str, name_end: int) -> bool:
    pos = name_end
    # possessive: "Ned's change broke ..."
    if _POSSESSIVE_FAULT.match(text, pos):  # "it was Ned's fault"
        return True
    m = re.match(r"['\u2019]s?(?!\w)", text[pos:])
    if m:
        pos += m.end()
    tokens = _words_after(text, pos)
    i = 0
    if tokens and tokens[0] == ("punct", ","):
        # apposition: ", the on-call engineer," -- skip it if it closes quickly
        close = None
        for j in range(1, min(len(tokens), _MAX_APPOSITION + 2)):
            if tokens[j] == ("punct", ","):
                close = j
                break
            if tokens[j][0] != "word":
                break
        if close is None or close == 1:
            return False
        i = close + 1
    gap = 0
    while i < len(tokens):
        if _failure_at(tokens, i):
            return True
        kind, value = tokens[i]
        if kind != "word" or value in STOPPERS:
            return False
        gap += 1
        if gap > _MAX_GAP:
            return False
        i += 1
    return False


def _is_credited(text: str, name_start: int) -> bool:
    window = text[max(0, name_start - 40) : name_start]
    return bool(_CREDIT_BEFORE.search(window))


def _is_passive_agent(text: str, name_start: int) -> bool:
    window = text[max(0, name_start - 40) : name_start]
    return bool(_PASSIVE_AGENT.search(window))


def _named_person_findings(text: str, people: Iterable[str]) -> list[Finding]:
    findings: list[Finding] = []
    spans: list[tuple[int, int]] = [(m.start(), m.end()) for m in _MENTION.finditer(text)]
    pattern = _people_pattern(_people_variants(people))
    if pattern is not None:
        mention_starts = {s for s, _ in spans}
        for m in pattern.finditer(text):
            if m.start() - 1 in mention_starts:  # already covered as "@name"
                continue
            spans.append((m.start(), m.end()))
    for start, end in spans:
        if _is_credited(text, start):
            continue
        if _is_failure_subject(text, end) or _is_passive_agent(text, start):
            findings.append(_finding(NAMED_PERSON, start, end))
    return findings


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def check_blameless(text: str, *, people: Iterable[str] = ()) -> list[Finding]:
    """Return blameless-language findings in ``text``, sorted by start offset."""
    if not text:
        return []
    found: dict[tuple[str, int, int], Finding] = {}
    for rule, pattern in _PHRASE_RULES:
        for m in pattern.finditer(text):
            if rule == BLAME_VERB and _negated(text, m.start()):
                continue
            key = (rule, m.start(), m.end())
            found.setdefault(key, _finding(rule, m.start(), m.end()))
    for f in _named_person_findings(text, people):
        found.setdefault((f.rule, f.start, f.end), f)
    return sorted(found.values(), key=lambda f: (f.start, f.end, f.rule))


def highest_severity(findings: Iterable[Finding]) -> str | None:
    """``"high"`` if any finding is high, else ``"warn"`` if any, else ``None``."""
    result: str | None = None
    for f in findings:
        if f.severity == HIGH:
            return HIGH
        result = WARN
    return result


def has_high(findings: Iterable[Finding]) -> bool:
    """True when at least one finding is high severity (needs an override reason)."""
    return any(f.severity == HIGH for f in findings)
