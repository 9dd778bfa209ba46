"""The action-item CSV export never hands a spreadsheet a formula to run."""

from __future__ import annotations

import csv
import io

import pytest

from postmortems.csvsafe import safe_cell
from tests.factories import ActionItemFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def export(client) -> list[dict]:
    response = client.get("/actions/?scope=all&status=any&format=csv")
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize(
    "title",
    [
        '=HYPERLINK("https://evil.example","click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_title_that_starts_like_a_formula_is_exported_as_text(client_for, user, title):
    ActionItemFactory(owner=user, title=title)
    (row,) = export(client_for(user))
    assert row["title"] == "'" + title


def test_an_incident_title_that_starts_like_a_formula_is_exported_as_text(
    client_for, user, service
):
    incident = IncidentFactory(
        services=[service], commander=user, reporter=user, title="=cmd|'/c calc'!A1"
    )
    ActionItemFactory(owner=user, incident=incident, title="Fix it")
    (row,) = export(client_for(user))
    assert row["incident"] == f"#{incident.pk} =cmd|'/c calc'!A1"  # not at the cell start: safe
    assert row["title"] == "Fix it"


def test_ordinary_cells_and_numbers_are_unchanged():
    assert safe_cell("Add a retry") == "Add a retry"
    assert safe_cell(-3) == -3
    assert safe_cell("") == ""
