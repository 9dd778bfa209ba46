"""The blameless checker's word lists (postmortems/blameless.py): failure phrases, the words
that end a clause, name particles. Data only; the rules live in blameless.py."""

from __future__ import annotations

from typing import Final

NAME_PARTICLES: Final = frozenset(
    {"van", "von", "der", "den", "del", "della", "des", "dos", "das", "bin", "ibn", "jr", "sr"}
)

# Failure verbs/phrases, as sequences of lower-cased words (apostrophes normalised).
FAILURE_PHRASES: Final[tuple[tuple[str, ...], ...]] = tuple(
    tuple(p.split())
    for p in (
        "didn't",
        "didnt",
        "did not",
        "never checked",
        "never tested",
        "never noticed",
        "never verified",
        "forgot",
        "forgets",
        "forgotten",
        "failed to",
        "failed at",
        "fails to",
        "missed",
        "misses",
        "broke",
        "breaks",
        "caused",
        "causes",
        "neglected",
        "neglects",
        "ignored",
        "ignores",
        "overlooked",
        "overlooks",
        "misconfigured",
        "misread",
        "botched",
        "fat-fingered",
        "fat fingered",
        "accidentally",
        "mistakenly",
        "wrongly",
        "incorrectly",
        "carelessly",
        "pushed a bad",
        "pushed bad",
        "pushed the bad",
        "pushed a broken",
        "pushed broken",
        "deployed a bad",
        "deployed bad",
        "deployed a broken",
        "shipped a bad",
        "shipped a broken",
        "merged a bad",
        "merged a broken",
        "should have",
        "should've",
        "shouldn't have",
        "should not have",
        "ought to have",
        "was careless",
        "was sloppy",
        "was negligent",
        "was lazy",
        "wasn't careful",
        "was not careful",
        "wasn't aware",
        "was not aware",
        "was unaware",
        "made a mistake",
        "made an error",
        "made the mistake",
        "made a bad",
        "messed up",
        "screwed up",
        "dropped the ball",
        "is to blame",
        "was to blame",
        "skipped",
    )
)

# "did not/didn't + these" is not a failure: "Ned didn't hesitate to roll back".
DID_NOT_EXEMPT: Final = frozenset({"hesitate", "need", "wait", "have", "stop", "give"})
DID_NOT_HEADS: Final = frozenset({("didn't",), ("didnt",), ("did", "not")})

# Words that end the clause the name is the subject of.
STOPPERS: Final = frozenset(
    {
        "and",
        "but",
        "or",
        "nor",
        "so",
        "after",
        "before",
        "when",
        "whenever",
        "while",
        "because",
        "since",
        "although",
        "though",
        "until",
        "unless",
        "once",
        "whereas",
        "where",
        "which",
        "that",
        "what",
        "why",
        "how",
        "who",
        "whom",
        "whose",
        "if",
        "whether",
        "thanks",
        "thank",
    }
)
