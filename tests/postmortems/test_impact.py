"""The Impact section: business metrics against the same window a week earlier."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from metrics_link.models import MetricPoint
from postmortems.selectors.impact import impact_lines, impact_section, series_impacts
from tests.factories import IncidentFactory, MetricSeriesFactory, ServiceFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
MITIGATED = START + timedelta(minutes=30)  # window: 14:00, 14:05 … 14:25 (6 points)
WEEK = timedelta(days=7)
STEP = timedelta(minutes=5)
SVG = "{http://www.w3.org/2000/svg}"


def fill(series, *, start, end, value, dips=None, shift=timedelta(0)):
    """Points every 5 minutes in [start, end]; `dips` maps a time to the value to use there."""
    rows, moment = [], start
    while moment <= end:
        rows.append(
            MetricPoint(series=series, ts=moment - shift, value=(dips or {}).get(moment, value))
        )
        moment += STEP
    MetricPoint.objects.bulk_create(rows)


@pytest.fixture
def incident(user):
    accounts = ServiceFactory(slug="accounts")
    return IncidentFactory(
        services=[accounts],
        commander=user,
        started_at=START,
        detected_at=START,
        mitigated_at=MITIGATED,
        status="mitigated",
    )


@pytest.fixture
def known_dip(incident):
    """Logins of accounts and company-wide revenue, both with a dip during the window."""
    logins = MetricSeriesFactory(
        name="logins", label="Logins", unit="logins", service=incident.services.get()
    )
    revenue = MetricSeriesFactory(name="revenue", label="Revenue", unit="$")
    low, high = START - timedelta(hours=2), MITIGATED + timedelta(hours=2)
    # Logins: 300 every 5 minutes; this week 200, 210, 205, 207, 211, 210 fewer in the window.
    losses = [200, 210, 205, 207, 211, 210]  # sum 1,243 → "≈ 1,240"
    fill(logins, start=low, end=high, value=300, shift=WEEK)
    fill(
        logins,
        start=low,
        end=high,
        value=300,
        dips={START + i * STEP: 300 - loss for i, loss in enumerate(losses)},
    )
    # Revenue: $1,000 a point last week, $450 in the window this week: 6 x 550 = $3,300 less.
    fill(revenue, start=low, end=high, value=1000, shift=WEEK)
    fill(revenue, start=low, end=high, value=1000, dips={START + i * STEP: 450 for i in range(6)})
    return logins, revenue


def test_the_difference_is_summed_over_the_window_against_the_week_before(incident, known_dip):
    _window, impacts = series_impacts(incident)
    by_name = {impact.series.name: impact for impact in impacts}

    assert by_name["logins"].difference == -1243
    assert by_name["logins"].matched == 6
    assert by_name["revenue"].difference == -3300
    assert impact_lines(incident) == [
        "≈ 1,240 fewer logins than the week before.",
        "≈ $3,300 less revenue than the week before.",
    ]


def test_series_of_other_services_and_system_series_are_left_out(incident, known_dip):
    other = MetricSeriesFactory(name="search-queries", service=ServiceFactory(slug="search"))
    system = MetricSeriesFactory(name="db-connections", kind="system")
    fill(other, start=START, end=MITIGATED, value=5)
    fill(system, start=START, end=MITIGATED, value=5)

    names = [impact.series.name for impact in series_impacts(incident)[1]]
    assert names == ["logins", "revenue"]  # the incident's services first, then company-wide


def test_no_change_reads_as_about_the_same(incident):
    series = MetricSeriesFactory(name="registrations", label="Registrations", unit="registrations")
    fill(series, start=START, end=MITIGATED, value=40, shift=WEEK)
    fill(series, start=START, end=MITIGATED, value=40)
    assert impact_lines(incident) == ["Registrations about the same as the week before."]


def test_a_series_without_last_weeks_points_gives_no_sentence(incident):
    series = MetricSeriesFactory(name="new-metric")
    fill(series, start=START, end=MITIGATED, value=40)
    assert impact_lines(incident) == []


def test_each_chart_is_valid_svg_with_one_vertex_per_point_and_the_window_marked(
    incident, known_dip, user
):
    ctx = impact_section(incident, user)
    assert [row["sentence"] for row in ctx["rows"]] == impact_lines(incident)
    # Window 30 minutes, margins 30 minutes each side: 13:30 … 15:00 is 19 five-minute points.
    for row in ctx["rows"]:
        root = ET.fromstring(str(row["chart"]))  # noqa: S314 (our own output)
        assert root.tag == f"{SVG}svg"
        lines = {p.get("data-role"): p.get("points").split() for p in root.iter(f"{SVG}polyline")}
        assert len(lines["series"]) == 19
        assert len(lines["comparison"]) == 19
        assert len(list(root.iter(f"{SVG}rect"))) >= 2  # background + the incident window
        assert any(r.get("data-role") == "window" for r in root.iter(f"{SVG}rect"))


def test_the_section_is_hidden_without_metrics_or_alerts(incident, user):
    assert impact_section(incident, user) is None


@pytest.mark.parametrize("points_per_hour", [1, 50])
def test_the_section_reads_every_series_in_a_constant_number_of_queries(
    incident, user, django_assert_num_queries, points_per_hour
):
    """3 queries: the series, ALL their points (one query), the incident's alerts."""
    step = timedelta(hours=1) / points_per_hour
    for name in ("logins", "revenue", "registrations"):
        series = MetricSeriesFactory(name=name, unit="$")
        rows = []
        for shift in (timedelta(0), WEEK):
            moment = START - timedelta(minutes=30)
            while moment <= MITIGATED + timedelta(minutes=30):
                rows.append(MetricPoint(series=series, ts=moment - shift, value=10))
                moment += step
        MetricPoint.objects.bulk_create(rows)
    with django_assert_num_queries(3):
        ctx = impact_section(incident, user)
    assert len(ctx["rows"]) == 3


def test_an_ongoing_incident_is_measured_up_to_now(user):
    incident = IncidentFactory(commander=user)
    start, end = series_impacts(incident)[0]
    assert start == incident.started_at
    assert end > start


def test_a_new_incident_says_what_its_chart_shows_and_marks_the_incident_up_to_now(user):
    """The bug: "No registrations data" above a chart whose points before the start were labelled
    "During the incident", with no incident band. Now the sentence, legend and band agree."""
    from django.utils import timezone

    now = timezone.now().replace(second=0, microsecond=0)
    started = now - timedelta(minutes=4)
    incident = IncidentFactory(
        services=[ServiceFactory(slug="signup")], commander=user, started_at=started
    )
    series = MetricSeriesFactory(name="registrations", label="Registrations", unit="")
    # Points every 5 minutes up to 6 minutes ago: none yet since the start.
    fill(series, start=now - timedelta(minutes=56), end=now - timedelta(minutes=6), value=40)
    fill(
        series,
        start=now - timedelta(minutes=56),
        end=now - timedelta(minutes=6),
        value=40,
        shift=WEEK,
    )

    ctx = impact_section(incident, user)

    (row,) = ctx["rows"]
    local = timezone.localtime(started).strftime("%H:%M")
    assert row["sentence"] == f"No registrations data yet since the incident started at {local}."
    root = ET.fromstring(str(row["chart"]))  # noqa: S314 (our own output)
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "This week" in labels
    assert "During the incident" not in labels
    assert "Same time a week earlier" in labels
    (band,) = [r for r in root.iter(f"{SVG}rect") if r.get("data-role") == "window"]
    grid = [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke") == "#e2e8f0"]
    right = max(float(ln.get("x2")) for ln in grid)
    assert float(band.get("x")) + float(band.get("width")) == pytest.approx(right, abs=0.2)
    assert float(band.get("width")) > 1.0  # a real band, not a hairline at the last point


def test_a_series_without_any_data_gets_one_sentence_and_no_chart(client_for, user):
    incident = IncidentFactory(
        services=[ServiceFactory(slug="signup")],
        commander=user,
        started_at=START,
        mitigated_at=MITIGATED,
        status="mitigated",
    )
    MetricSeriesFactory(name="registrations", label="Registrations")
    MetricSeriesFactory(name="logins", label="Logins")

    ctx = impact_section(incident, user)
    assert ctx["rows"] == []
    assert ctx["no_data"] == ["Logins", "Registrations"]
    html = client_for(user).get(incident.get_absolute_url()).content.decode()
    section = html[html.index('id="impact"') :]
    section = section[: section.index("</section>")]
    assert "No logins, registrations data around this incident, so no chart." in section
    assert "<svg" not in section


def test_points_inside_the_window_without_last_week_say_there_is_nothing_to_compare(incident):
    series = MetricSeriesFactory(name="signups", label="Signups")
    fill(series, start=START, end=MITIGATED, value=40)
    (impact,) = series_impacts(incident)[1]
    assert impact.sentence() == "No signups data from a week earlier to compare with."
