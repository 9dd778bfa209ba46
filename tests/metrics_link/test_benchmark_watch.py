"""The judge's benchmark command runs and prints its figures (its goals are checked by a person)."""

from io import StringIO

import pytest
from django.core.management import call_command

from metrics_link.models import Deploy, MetricPoint, MetricSeries


@pytest.mark.django_db
def test_the_watch_benchmark_prints_detection_false_positives_and_speed():
    MetricSeries.objects.create(name="logins", watched=True)
    out = StringIO()
    call_command("benchmark_watch", "--end-to-end=12", stdout=out)
    text = out.getvalue()
    assert "regression 20%: caught" in text
    assert "healthy deploys flagged" in text and "p95" in text
    assert "verdict end to end (12 deploys" in text and "12 healthy" in text
    # The end-to-end part leaves the database as it found it.
    assert list(MetricSeries.objects.values_list("name", "watched")) == [("logins", True)]
    assert not Deploy.objects.exists() and not MetricPoint.objects.exists()
