from datetime import timedelta

import pytest

from postmortems.durations import human_duration


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (-5, "—"),
        (0, "under a minute"),
        (20, "under a minute"),
        (90, "2m"),
        (timedelta(minutes=52), "52m"),
        (timedelta(hours=2, minutes=10), "2h 10m"),
        (72 * 60, "1h 12m"),
        (timedelta(days=3), "3d 0h"),
    ],
)
def test_human_duration_reads_the_same_everywhere(value, text):
    assert human_duration(value) == text
