"""The SVG chart helper: valid standalone XML, honest geometry, escaping, downsampling."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from metrics_link.charts import Bar, Series, bar_chart, format_value, line_chart

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2024, 11, 12, 6, 0, tzinfo=UTC)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - parsing our own output, not untrusted input
    assert root.tag == f"{SVG}svg"
    return root


def series(values: list[float], *, step: timedelta = timedelta(minutes=5), **kwargs) -> Series:
    return Series(
        label=kwargs.pop("label", "Errors"),
        points=[(T0 + i * step, v) for i, v in enumerate(values)],
        **kwargs,
    )


def polyline(root: ET.Element, role: str = "series") -> ET.Element:
    (line,) = [el for el in root.iter(f"{SVG}polyline") if el.get("data-role") == role]
    return line


def vertices(line: ET.Element) -> list[tuple[float, float]]:
    pairs = line.get("points", "").split()
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in pairs)]


def grid(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter(f"{SVG}line") if el.get("stroke") == "#e2e8f0"]


def plot_box(root: ET.Element) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) of the plot, read from the horizontal grid lines."""
    lines = grid(root)
    ys = [float(el.get("y1")) for el in lines]
    return float(lines[0].get("x1")), float(lines[0].get("x2")), min(ys), max(ys)


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def bar_rects(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter(f"{SVG}rect") if el.get("data-value") is not None]


def desc(root: ET.Element) -> str:
    return root.find(f"{SVG}desc").text


# --------------------------------------------------------------------------- document shape


def test_line_chart_is_a_standalone_accessible_svg_document():
    svg = line_chart(series([1, 2, 3]), title="Error rate", width=500, height=180)
    root = parse(svg)

    assert hasattr(svg, "__html__")
    assert root.get("viewBox") == "0 0 500 180"
    assert (root.get("width"), root.get("height"), root.get("role")) == ("500", "180", "img")
    title, description = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Error rate"
    assert root.get("aria-labelledby") == f"{title.get('id')} {description.get('id')}"
    assert "min 1, max 3, last 3" in description.text
    assert "system-ui" in root.get("font-family")
    assert "<script" not in svg
    assert "class=" not in svg
    assert "style=" not in svg


def test_same_input_gives_the_same_string():
    def make():
        return line_chart(series([5, 1, 4]), comparison=series([2, 2, 2]), title="t")

    assert make() == make()
    assert bar_chart([Bar("W1", [1])], series_labels=["a"], title="t") == bar_chart(
        [Bar("W1", [1])], series_labels=["a"], title="t"
    )


def test_different_charts_get_different_element_ids():
    first = parse(line_chart(series([1, 2]), title="a"))
    second = parse(line_chart(series([1, 3]), title="a"))

    assert first.find(f"{SVG}title").get("id") != second.find(f"{SVG}title").get("id")


def test_coordinates_are_rounded_to_one_decimal():
    svg = line_chart(series([math.pi * i for i in range(7)]), title="pi", width=333)

    for x, y in vertices(polyline(parse(svg))):
        assert round(x, 1) == x
        assert round(y, 1) == y


# --------------------------------------------------------------------------- line chart


def test_line_chart_draws_one_vertex_per_point_when_small():
    values = [float(i % 7) for i in range(50)]

    root = parse(line_chart(series(values), title="small"))

    assert len(vertices(polyline(root))) == 50


def test_line_chart_vertices_are_ordered_in_time_and_inside_the_plot():
    root = parse(line_chart(series([3, 9, 1, 4]), title="t"))
    left, right, top, bottom = plot_box(root)

    points = vertices(polyline(root))

    assert [x for x, _ in points] == sorted(x for x, _ in points)
    assert points[0][0] == left
    assert points[-1][0] == right
    assert all(top <= y <= bottom for _, y in points)


def test_comparison_is_drawn_dashed_and_grey_by_default():
    root = parse(
        line_chart(
            series([1, 2, 3], label="This week"),
            comparison=series([2, 2, 2], label="Last week"),
            title="t",
        )
    )

    comparison, main = polyline(root, "comparison"), polyline(root, "series")
    assert comparison.get("stroke-dasharray")
    assert comparison.get("stroke") == "#64748b"
    assert main.get("stroke-dasharray") is None
    assert main.get("stroke") == "#2563eb"
    assert len(vertices(comparison)) == 3


def test_comparison_keeps_an_explicit_colour():
    root = parse(line_chart(series([1, 2]), comparison=series([2, 1], color="#b91c1c"), title="t"))

    assert polyline(root, "comparison").get("stroke") == "#b91c1c"


def test_legend_names_both_series():
    root = parse(
        line_chart(
            series([1, 2], label="This week"),
            comparison=series([1, 1], label="Same window last week"),
            title="t",
        )
    )

    assert "This week" in texts(root)
    assert "Same window last week" in texts(root)
    assert "Same window last week" in desc(root)


def test_window_is_a_shaded_rect_between_its_start_and_end_inside_the_plot():
    hourly = series([float(i) for i in range(11)], step=timedelta(hours=1))
    window = (T0 + timedelta(hours=2), T0 + timedelta(hours=4))

    root = parse(line_chart(hourly, window=window, window_label="INC-42", title="t"))

    left, right, top, bottom = plot_box(root)
    (rect,) = [el for el in root.iter(f"{SVG}rect") if el.get("data-role") == "window"]
    x, width = float(rect.get("x")), float(rect.get("width"))
    assert x == pytest.approx(left + 0.2 * (right - left), abs=0.1)
    assert x + width == pytest.approx(left + 0.4 * (right - left), abs=0.2)
    assert float(rect.get("y")) == pytest.approx(top, abs=0.1)
    assert float(rect.get("y")) + float(rect.get("height")) == pytest.approx(bottom, abs=0.1)
    assert rect.get("fill").startswith("#")
    assert "INC-42" in texts(root)
    assert "shaded INC-42" in desc(root)


def test_window_is_clipped_to_the_data_span():
    hourly = series([1.0] * 5, step=timedelta(hours=1))
    window = (T0 + timedelta(hours=3), T0 + timedelta(hours=30))

    root = parse(line_chart(hourly, window=window, title="t"))

    _, right, _, _ = plot_box(root)
    (rect,) = [el for el in root.iter(f"{SVG}rect") if el.get("data-role") == "window"]
    assert float(rect.get("x")) + float(rect.get("width")) == pytest.approx(right, abs=0.2)


def test_an_x_range_wider_than_the_data_keeps_the_whole_window_band():
    """An incident still open: data stop at 10:00, the band runs to 12:00 (now), the axis too."""
    hourly = series([1.0] * 5, step=timedelta(hours=1))  # 06:00 … 10:00
    window = (T0 + timedelta(hours=3), T0 + timedelta(hours=6))

    root = parse(
        line_chart(hourly, window=window, x_range=(T0, T0 + timedelta(hours=6)), title="t")
    )

    left, right, _, _ = plot_box(root)
    (rect,) = [el for el in root.iter(f"{SVG}rect") if el.get("data-role") == "window"]
    x, width = float(rect.get("x")), float(rect.get("width"))
    assert x == pytest.approx(left + 0.5 * (right - left), abs=0.2)
    assert x + width == pytest.approx(right, abs=0.2)
    last_x = max(px for px, _ in vertices(polyline(root)))
    assert last_x == pytest.approx(left + 4 / 6 * (right - left), abs=0.2)  # the line stops early


def test_downsampling_bounds_the_vertices_by_twice_the_plot_width():
    five_minute_points_over_three_weeks = [50 + 10 * math.sin(i / 30) for i in range(12 * 24 * 21)]

    svg = line_chart(series(five_minute_points_over_three_weeks), title="t", width=640)

    left, right, _, _ = plot_box(parse(svg))
    drawn = vertices(polyline(parse(svg)))
    assert len(drawn) <= 2 * int(right - left) <= 2 * 640
    assert len(svg) < 40_000


def test_a_single_point_dip_survives_downsampling():
    values = [100.0] * 10_000
    values[5_003] = 5.0

    root = parse(line_chart(series(values), title="t"))

    _, _, top, bottom = plot_box(root)
    ys = [y for _, y in vertices(polyline(root))]
    assert len(ys) < 10_000
    # Axis runs 0..100: the flat line sits at the top, the dip near the bottom.
    assert min(ys) == pytest.approx(top, abs=0.1)
    assert max(ys) == pytest.approx(bottom - 0.05 * (bottom - top), abs=0.2)
    assert "min 5," in desc(root)


def test_a_single_point_spike_survives_downsampling():
    values = [10.0] * 10_000
    values[17] = 1_000.0

    root = parse(line_chart(series(values), title="t"))

    _, _, top, bottom = plot_box(root)
    ys = [y for _, y in vertices(polyline(root))]
    assert min(ys) == pytest.approx(top, abs=0.1)
    assert max(ys) > bottom - 0.05 * (bottom - top)


@pytest.mark.parametrize("points", [[], [(T0, math.nan)], [(T0, math.inf), (T0, -math.inf)]])
def test_line_chart_without_data_says_no_data(points):
    root = parse(line_chart(Series("Errors", points), title="Empty <metric>"))

    assert "No data" in texts(root)
    assert root.find(f"{SVG}title").text == "Empty <metric>"
    assert list(root.iter(f"{SVG}polyline")) == []


def test_a_single_point_is_drawn_as_a_dot():
    root = parse(line_chart(series([42.0]), title="t"))

    assert len(vertices(polyline(root))) == 1
    assert len(list(root.iter(f"{SVG}circle"))) == 1


def test_y_ticks_are_three_to_five_round_values():
    root = parse(line_chart(series([0, 1200, 300]), title="t"))

    labels = [el.text for el in root.iter(f"{SVG}text") if el.get("text-anchor") == "end"]
    assert labels == ["0", "500", "1k", "1.5k"]


def test_y_ticks_use_a_dollar_prefix_for_money():
    for unit in ("$", "USD"):
        root = parse(line_chart(series([0, 1200, 300]), title="t", unit=unit))
        labels = [el.text for el in root.iter(f"{SVG}text") if el.get("text-anchor") == "end"]
        assert labels == ["$0", "$500", "$1k", "$1.5k"]
        assert "max $1.2k" in desc(root)


def test_hour_ticks_for_a_one_day_span_are_local_hh_mm():
    hourly = series([1.0] * 25, step=timedelta(hours=1))

    root = parse(line_chart(hourly, title="t", tz=ZoneInfo("Europe/Paris")))

    labels = [el.text for el in root.iter(f"{SVG}text") if el.get("text-anchor") == "middle"]
    assert 3 <= len(labels) <= 6
    # 06:00 UTC is 07:00 in Paris in November; ticks land on round local hours.
    assert labels[0] in ("07:00", "08:00", "09:00", "12:00")
    assert all(label[-2:] == "00" or label.startswith(("Wed", "Tue")) for label in labels)
    assert "Wed 13" in labels


def test_day_ticks_for_a_week_are_weekday_and_day():
    daily = series([1.0] * 8, step=timedelta(days=1))

    root = parse(line_chart(daily, title="t"))

    labels = [el.text for el in root.iter(f"{SVG}text") if el.get("text-anchor") == "middle"]
    assert 3 <= len(labels) <= 6
    assert all(
        label.split()[0] in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} for label in labels
    )


def test_ticks_for_weeks_are_day_and_month():
    daily = series([1.0] * 60, step=timedelta(days=1))

    root = parse(line_chart(daily, title="t"))

    labels = [el.text for el in root.iter(f"{SVG}text") if el.get("text-anchor") == "middle"]
    assert 3 <= len(labels) <= 6
    assert all(label.split()[1] in {"Nov", "Dec", "Jan"} for label in labels)


@pytest.mark.parametrize(
    "span",
    [
        timedelta(seconds=40),
        timedelta(minutes=3),
        timedelta(hours=1),
        timedelta(hours=50),
        timedelta(days=5),
        timedelta(days=15),
        timedelta(days=90),
    ],
)
def test_x_tick_labels_differ_from_their_neighbours_and_number_three_to_six(span):
    root = parse(line_chart(Series("x", [(T0, 1.0), (T0 + span, 2.0)]), title="t"))

    labels = [el.text for el in root.iter(f"{SVG}text") if el.get("text-anchor") == "middle"]
    # Beyond 2 days hours can repeat ("12:00", "Wed 13", "12:00"), but never side by side.
    assert all(a != b for a, b in pairwise(labels))
    assert (2 if span < timedelta(minutes=2) else 3) <= len(labels) <= 6


def test_naive_datetimes_are_read_as_utc():
    naive = Series(
        "x", [(datetime(2024, 11, 12, 6, 0) + timedelta(hours=i), 1.0) for i in range(3)]
    )

    assert line_chart(naive, title="t") == line_chart(
        Series("x", [(T0 + timedelta(hours=i), 1.0) for i in range(3)]), title="t"
    )


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("nasty", ["<script>alert(1)</script>", "\"&'", "]]><x/>", "bell\x07"])
def test_every_label_is_xml_escaped(nasty):
    line = line_chart(
        series([1, 2], label=nasty),
        comparison=series([1, 1], label=nasty),
        window=(T0, T0 + timedelta(minutes=5)),
        window_label=nasty,
        title=nasty,
        unit=nasty,
    )
    bars = bar_chart(
        [Bar(nasty, [1, 2])], series_labels=[nasty, nasty], colors=[nasty], title=nasty
    )

    for svg in (line, bars):
        root = parse(svg)
        assert "<script>" not in svg
        assert root.find(f"{SVG}title").text == nasty.replace("\x07", "")
        assert all(child.tag.startswith(SVG) for child in root.iter())


def test_quotes_and_ampersands_become_entities():
    svg = line_chart(series([1, 2], label="\"&'"), title="<b>")

    assert "&lt;b&gt;" in svg
    assert "&quot;&amp;&#x27;" in svg


# --------------------------------------------------------------------------- bar chart


def test_grouped_bars_draw_one_rect_per_non_zero_value():
    bars = [Bar("W44", [3, 0, 1]), Bar("W45", [0, 0, 0]), Bar("W46", [2, 5, -1])]

    root = parse(bar_chart(bars, series_labels=["Opened", "Closed", "Overdue"], title="Items"))

    rects = bar_rects(root)
    assert len(rects) == 5
    assert [r.get("data-value") for r in rects] == ["3", "1", "2", "5", "-1"]
    assert {"Opened", "Closed", "Overdue", "W44", "W45", "W46"} <= set(texts(root))


def test_grouped_bars_are_side_by_side_and_scaled_to_their_value():
    root = parse(bar_chart([Bar("W1", [2, 4])], series_labels=["a", "b"], title="t"))

    small, large = bar_rects(root)
    assert float(small.get("x")) + float(small.get("width")) <= float(large.get("x"))
    assert float(large.get("height")) == pytest.approx(2 * float(small.get("height")), abs=0.2)
    assert float(small.get("y")) + float(small.get("height")) == pytest.approx(
        float(large.get("y")) + float(large.get("height")), abs=0.1
    )


def test_stacked_bars_heights_add_up():
    bars = [Bar("W1", [3, 2, 5]), Bar("W2", [1, 0, 2])]

    root = parse(bar_chart(bars, series_labels=["a", "b", "c"], stacked=True, title="Stacked"))

    rects = bar_rects(root)
    assert len(rects) == 5
    by_category: dict[str, list[ET.Element]] = {}
    for rect in rects:
        by_category.setdefault(rect.get("x"), []).append(rect)
    first, second = (
        sorted(group, key=lambda r: float(r.get("y"))) for group in by_category.values()
    )
    # Segments abut: each one's top is the next one's bottom, and they sit on the same baseline.
    for stack in (first, second):
        for upper, lower in pairwise(stack):
            assert float(upper.get("y")) + float(upper.get("height")) == pytest.approx(
                float(lower.get("y")), abs=0.05
            )
    baseline = [float(s[-1].get("y")) + float(s[-1].get("height")) for s in (first, second)]
    assert baseline[0] == pytest.approx(baseline[1], abs=0.05)
    heights = [sum(float(r.get("height")) for r in stack) for stack in (first, second)]
    assert heights[0] / heights[1] == pytest.approx(10 / 3, rel=0.01)
    assert "total: min 3, max 10, last 3" in desc(root)


def test_stacked_bar_axis_covers_the_total_not_the_largest_segment():
    root = parse(bar_chart([Bar("W1", [6, 6])], series_labels=["a", "b"], stacked=True, title="t"))

    labels = [el.text for el in root.iter(f"{SVG}text") if el.get("text-anchor") == "end"]
    assert float(labels[-1]) >= 12


def test_bar_colours_follow_the_given_colours():
    root = parse(
        bar_chart(
            [Bar("W1", [1, 2])], series_labels=["a", "b"], colors=["#111111", "#222222"], title="t"
        )
    )

    assert [r.get("fill") for r in bar_rects(root)] == ["#111111", "#222222"]


def test_category_labels_are_thinned_when_there_are_many():
    bars = [Bar(f"2024-W{i:02d}", [i]) for i in range(1, 53)]

    root = parse(bar_chart(bars, series_labels=["Incidents"], title="t", width=640))

    shown = [label for label in texts(root) if label.startswith("2024-W")]
    assert 3 <= len(shown) < 52
    assert shown[0] == "2024-W01"
    assert len(bar_rects(root)) == 52


@pytest.mark.parametrize("bars", [[], [Bar("W1", [])]])
def test_bar_chart_without_data_says_no_data(bars):
    root = parse(bar_chart(bars, series_labels=[], title="Empty"))

    assert "No data" in texts(root)
    assert bar_rects(root) == []


def test_all_zero_bars_draw_axes_but_no_rects():
    root = parse(bar_chart([Bar("W1", [0, 0])], series_labels=["a", "b"], title="t"))

    assert bar_rects(root) == []
    assert len(grid(root)) >= 3


# --------------------------------------------------------------------------- value formatting


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1200, "", "1.2k"),
        (1000, "", "1k"),
        (3_400_000, "", "3.4M"),
        (2_500_000_000, "", "2.5B"),
        (999.7, "", "1k"),
        (0, "", "0"),
        (42, "", "42"),
        (0.125, "", "0.125"),
        (-1500, "", "-1.5k"),
        (1200, "$", "$1.2k"),
        (1200, "USD", "$1.2k"),
        (-1200, "$", "-$1.2k"),
        (12.5, "%", "12.5%"),
        (340, "ms", "340 ms"),
        (math.nan, "", "n/a"),
    ],
)
def test_values_are_formatted_compactly(value, unit, expected):
    assert format_value(value, unit) == expected


def test_tick_values_keep_the_decimals_their_step_needs():
    assert [format_value(v, step=250) for v in (1000, 1250, 1500)] == ["1k", "1.25k", "1.5k"]
    assert [format_value(v, step=0.25) for v in (0, 0.25, 0.5)] == ["0", "0.25", "0.5"]
