"""Server-side SVG charts: a time-series line chart and a grouped/stacked bar chart.

The output is a standalone SVG document meant to be inlined in HTML pages, printed and
embedded in HTML e-mail, so it only uses what those media render reliably:

* presentation attributes with explicit colours (no CSS classes, no ``style`` attributes,
  which a strict Content-Security-Policy would block), no JavaScript, no web fonts;
* a ``<title>`` and a one-sentence ``<desc>`` summarising the data (min / max / last), referenced
  by ``aria-labelledby`` so screen readers and text-only mail clients get the gist;
* every piece of caller-supplied text is XML-escaped;
* numbers rounded to one decimal, and output that depends only on the input (same input,
  same string; element ids are derived from a hash of the content).

Neither function raises on odd data: no points, no bars, or only non-finite values give a
chart that says "No data".

Both return ``SafeString`` (``django.utils.safestring.mark_safe``), which is compatible with
``markupsafe.Markup`` and can be printed in templates without ``|safe``. Importing this module
does not need Django settings.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape

from django.utils.safestring import SafeString, mark_safe

__all__ = ["Bar", "Series", "bar_chart", "format_value", "line_chart"]

FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
TITLE_COLOR = "#0f172a"
TEXT_COLOR = "#334155"
AXIS_TEXT_COLOR = "#475569"
GRID_COLOR = "#e2e8f0"
AXIS_COLOR = "#94a3b8"
BACKGROUND = "#ffffff"
DEFAULT_SERIES_COLOR = "#2563eb"
COMPARISON_COLOR = "#64748b"
WINDOW_FILL = "#fef3c7"
WINDOW_STROKE = "#f59e0b"
WINDOW_TEXT = "#92400e"
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#475569")

_TITLE_SIZE = 13
_TEXT_SIZE = 12
_TICK_SIZE = 11
_CHAR_WIDTH = 0.6  # average glyph width of a sans-serif face, as a fraction of the font size
_MARGIN_RIGHT = 12
_MARGIN_BOTTOM = 22
_PLOT_TOP = 44  # below the title row (y=17) and the legend row (y=34)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
_TIME_STEPS = (
    *(timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30)),
    *(timedelta(hours=h) for h in (1, 2, 3, 6, 12)),
    *(timedelta(days=d) for d in (1, 2, 3, 7, 14, 28, 56, 91, 182, 364)),
)


@dataclass(frozen=True)
class Series:
    """A labelled time series; ``points`` are ``(datetime, value)`` pairs sorted by time."""

    label: str
    points: Sequence[tuple[datetime, float]]
    color: str = DEFAULT_SERIES_COLOR
    dashed: bool = False


@dataclass(frozen=True)
class Bar:
    """One x category (e.g. ``"W45"``) with one value per series."""

    label: str
    values: Sequence[float]


# --------------------------------------------------------------------------- formatting


def _text(value: object) -> str:
    """XML-escape text for element content and attribute values (quotes included)."""
    return escape(_XML_INVALID.sub("", str(value)), quote=True)


def _num(value: float) -> str:
    """A coordinate rounded to one decimal, without a trailing ``.0``."""
    out = f"{value:.1f}"
    if out.endswith(".0"):
        out = out[:-2]
    return "0" if out == "-0" else out


def _decimals_needed(value: float) -> int:
    for digits in range(7):
        if abs(round(value, digits) - value) <= 1e-9 * max(1.0, abs(value)):
            return digits
    return 6


def _trim(number: str) -> str:
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number


def format_value(value: float, unit: str = "", *, step: float | None = None) -> str:
    """Format a number compactly: ``1200 -> "1.2k"``, ``3_400_000 -> "3.4M"``.

    Without ``step`` the value is rounded to three significant digits. With ``step`` (an axis
    tick interval) as many decimals are kept as the step needs, so ticks 1k, 1.25k, 1.5k stay
    distinct. ``unit`` ``"$"`` or ``"USD"`` becomes a ``$`` prefix; any other unit is a suffix,
    separated by a space when it is a word (``"12%"``, ``"1.2k ms"``).
    """
    if not math.isfinite(value):
        return "n/a"
    if step is None and value != 0:
        value = float(f"{value:.3g}")
    magnitude = abs(value)
    scale, suffix = 1.0, ""
    for limit, letter in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            scale, suffix = limit, letter
            break
    scaled = magnitude / scale
    if step is not None:
        digits = _decimals_needed(abs(step) / scale) if step else 0
    elif scaled == 0:
        digits = 0
    else:
        digits = max(0, 2 - math.floor(math.log10(scaled)))
    body = _trim(f"{scaled:.{digits}f}") + suffix
    sign = "-" if value < 0 and body.strip("0.") not in ("", suffix) else ""
    if unit in ("$", "USD"):
        return f"{sign}${body}"
    if unit[:1].isalpha():
        return f"{sign}{body} {unit}"
    return f"{sign}{body}{unit}"


def _nice_ticks(low: float, high: float) -> list[float]:
    """3-5 evenly spaced round ticks (step 1, 2, 2.5 or 5 x 10^n) covering ``[low, high]``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 0.5, 1.0]
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    exponent = math.floor(math.log10(high - low))
    fallback: list[float] | None = None
    for power in range(exponent - 1, exponent + 2):
        for mantissa in (1.0, 2.0, 2.5, 5.0):
            step = mantissa * 10.0**power
            first = math.floor(low / step + 1e-9)
            last = math.ceil(high / step - 1e-9)
            count = last - first + 1
            if count > 5:
                continue
            ticks = [round(k * step, 12) for k in range(first, last + 1)]
            if count >= 3:
                return ticks
            fallback = fallback or ticks
    return fallback or [low, high]


def _tick_step(ticks: Sequence[float]) -> float:
    return ticks[1] - ticks[0] if len(ticks) > 1 else 0.0


def _text_width(text: str, size: float) -> float:
    return len(text) * size * _CHAR_WIDTH


# --------------------------------------------------------------------------- time helpers


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _clean_points(points: Sequence[tuple[datetime, float]]) -> list[tuple[float, float]]:
    """``(timestamp, value)`` pairs, sorted by time, without None / NaN / infinite values."""
    cleaned: list[tuple[float, float]] = []
    for moment, value in points:
        if moment is None or value is None:
            continue
        number = float(value)
        if math.isfinite(number):
            cleaned.append((_aware(moment).timestamp(), number))
    cleaned.sort(key=lambda pair: pair[0])
    return cleaned


def _format_tick_time(moment: datetime, span: timedelta) -> str:
    """``HH:MM`` between midnights, the day at midnight: ``Mon 12`` up to 14 days, else ``12 Nov``."""
    if moment.second or span < 2 * _MINUTE:
        return f"{moment:%H:%M:%S}"
    if moment.hour or moment.minute:
        return f"{moment:%H:%M}"
    if span <= 14 * _DAY:
        return f"{_DAYS[moment.weekday()]} {moment.day}"
    return f"{moment.day} {_MONTHS[moment.month - 1]}"


def _format_moment(moment: datetime) -> str:
    zone = moment.tzname() or ""
    text = f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year} {moment:%H:%M}"
    return f"{text} {zone}".strip()


def _time_ticks(start: float, end: float, zone: tzinfo) -> list[datetime]:
    """3-6 ticks on round local times (minutes, hours, midnights, Mondays) within the span.

    The first step (finest first; days first for spans of 2 days or more) giving 3-6 ticks wins;
    failing that, the tick count closest to 4-5; spans under 2 minutes get their two ends.
    """
    first = datetime.fromtimestamp(start, zone)
    last = datetime.fromtimestamp(end, zone)
    seconds = end - start
    if seconds < 120:
        return [first] if seconds == 0 else [first, last]
    candidates: list[list[datetime]] = []
    steps = _TIME_STEPS
    if seconds >= 2 * _DAY.total_seconds():  # prefer midnights, fall back to hours
        steps = tuple(s for s in _TIME_STEPS if s >= _DAY) + tuple(
            s for s in _TIME_STEPS if s < _DAY
        )
    for step in steps:
        if seconds / step.total_seconds() > 7:
            continue
        anchor = first.replace(hour=0, minute=0, second=0, microsecond=0)
        if step >= 7 * _DAY:
            anchor -= timedelta(days=anchor.weekday())
        # Same-tzinfo arithmetic is wall-clock arithmetic, so ticks stay on round local times.
        index = math.ceil((first - anchor) / step - 1e-9)
        ticks: list[datetime] = []
        while len(ticks) < 8:
            tick = anchor + index * step
            if tick.timestamp() > end + 1e-6:
                break
            if tick.timestamp() >= start - 1e-6:
                ticks.append(tick)
            index += 1
        if 3 <= len(ticks) <= 6:
            return ticks
        if len(ticks) >= 2:
            candidates.append(ticks)
    if candidates:
        return min(candidates, key=lambda ticks: abs(len(ticks) - 4.5))
    return [first, last]


# --------------------------------------------------------------------------- downsampling


def _downsample(
    points: list[tuple[float, float]], start: float, end: float, buckets: int
) -> list[tuple[float, float]]:
    """Keep the minimum and the maximum of each pixel column, in time order.

    Only applies when there are more points than ``buckets`` (pixel columns of the plot); the
    result then has at most ``2 * buckets`` points and still shows every dip and spike.
    """
    if len(points) <= buckets or buckets < 1 or end <= start:
        return points
    kept: list[tuple[float, float]] = []
    current = -1
    low_i = high_i = 0
    for i, (moment, value) in enumerate(points):
        bucket = min(buckets - 1, int((moment - start) / (end - start) * buckets))
        if bucket != current:
            if current >= 0:
                kept.extend(points[j] for j in sorted({low_i, high_i}))
            current, low_i, high_i = bucket, i, i
            continue
        if value < points[low_i][1]:
            low_i = i
        if value > points[high_i][1]:
            high_i = i
    kept.extend(points[j] for j in sorted({low_i, high_i}))
    return kept


# --------------------------------------------------------------------------- SVG assembly


def _document(width: int, height: int, title: str, desc: str, body: list[str]) -> SafeString:
    content = "".join(body)
    digest = hashlib.sha256(f"{width}x{height}|{title}|{desc}|{content}".encode()).hexdigest()
    ident = f"chart-{digest[:10]}"
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="{FONT_FAMILY}">'
        f'<title id="{ident}-title">{_text(title)}</title>'
        f'<desc id="{ident}-desc">{_text(desc)}</desc>'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="{BACKGROUND}"/>'
        f"{content}</svg>"
    )
    return mark_safe(svg)


def _title_element(title: str) -> str:
    return (
        f'<text x="8" y="17" font-size="{_TITLE_SIZE}" font-weight="600" '
        f'fill="{TITLE_COLOR}">{_text(title)}</text>'
    )


def _no_data(title: str, width: int, height: int) -> SafeString:
    body = [
        _title_element(title),
        f'<text x="{_num(width / 2)}" y="{_num(height / 2 + 8)}" text-anchor="middle" '
        f'font-size="{_TEXT_SIZE}" fill="{AXIS_TEXT_COLOR}">No data</text>',
    ]
    return _document(width, height, title, f"{title}: no data.", body)


def _legend(entries: list[tuple[str, str]], left: float) -> list[str]:
    """Legend row under the title; each entry is ``(swatch_svg_for_x, label)``."""
    parts: list[str] = []
    x = left
    for swatch, label in entries:
        parts.append(swatch.replace("{x}", _num(x)).replace("{x2}", _num(x + 16)))
        parts.append(
            f'<text x="{_num(x + 21)}" y="38" font-size="{_TEXT_SIZE}" '
            f'fill="{TEXT_COLOR}">{_text(label)}</text>'
        )
        x += 21 + _text_width(label, _TEXT_SIZE) + 16
    return parts


def _y_axis(
    ticks: list[float], unit: str, left: float, right: float, y_of: Callable[[float], float]
) -> list[str]:
    step = _tick_step(ticks)
    parts: list[str] = []
    for tick in ticks:
        y = _num(y_of(tick))
        parts.append(
            f'<line x1="{_num(left)}" y1="{y}" x2="{_num(right)}" y2="{y}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_num(left - 6)}" y="{y}" dy="4" text-anchor="end" '
            f'font-size="{_TICK_SIZE}" fill="{AXIS_TEXT_COLOR}">'
            f"{_text(format_value(tick, unit, step=step))}</text>"
        )
    return parts


def _left_margin(ticks: list[float], unit: str) -> float:
    step = _tick_step(ticks)
    longest = max(len(format_value(tick, unit, step=step)) for tick in ticks)
    return max(32.0, 12 + longest * _TICK_SIZE * _CHAR_WIDTH)


def _x_label(x: float, y: float, label: str, width: int) -> str:
    half = _text_width(label, _TICK_SIZE) / 2
    x = min(max(x, half + 2), width - half - 2)
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="middle" font-size="{_TICK_SIZE}" '
        f'fill="{AXIS_TEXT_COLOR}">{_text(label)}</text>'
    )


def _summary(values: list[float], unit: str) -> str:
    low, high = min(values), max(values)
    return (
        f"min {format_value(low, unit)}, max {format_value(high, unit)}, "
        f"last {format_value(values[-1], unit)}"
    )


# --------------------------------------------------------------------------- line chart


def line_chart(
    series: Series,
    *,
    comparison: Series | None = None,
    window: tuple[datetime, datetime] | None = None,
    window_label: str = "",
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 200,
    tz: tzinfo | None = None,
    x_range: tuple[datetime, datetime] | None = None,
) -> SafeString:
    """Render ``series`` (and an optional ``comparison``) as an SVG line chart.

    * ``comparison`` (e.g. the same window a week earlier, already shifted onto this time axis
      by the caller) is always drawn dashed; it is grey unless given a colour other than the
      default blue.
    * ``window`` (e.g. the incident) is a shaded band labelled ``window_label``, clipped to the
      data's time span. The x axis spans the points of both series, widened to ``x_range``
      when given (e.g. an incident still open: its window runs to now, past the last point).
    * x ticks: 3-6 round local times in ``tz`` (default: the data's own zone; naive datetimes
      are read as UTC). Spans under 2 days tick every few minutes or hours, labelled ``HH:MM``;
      longer spans tick on midnights (when that gives 3 ticks), labelled ``Mon 12`` up to 14 days
      and ``12 Nov`` beyond; a midnight tick is always labelled with its day. y ticks: 3-5 round values; the axis starts at 0 when the data are non-negative
      and their minimum is no further from 0 than their range.
    * Downsampling: when a series has more points than the plot has pixel columns, the points
      of each pixel column are reduced to that column's minimum and maximum (kept in time
      order), so at most ``2 x plot width`` vertices are drawn and single-point dips or spikes
      stay visible. Smaller series are drawn one vertex per point.
    * A series without finite points renders as "No data" (only the main series counts).
    """
    main = _clean_points(series.points)
    if not main:
        return _no_data(title, width, height)
    other = _clean_points(comparison.points) if comparison is not None else []
    given = (_aware(moment).tzinfo for moment, _ in series.points if moment is not None)
    zone = tz or next(given, None) or UTC

    start = min(main[0][0], other[0][0] if other else main[0][0])
    end = max(main[-1][0], other[-1][0] if other else main[-1][0])
    if x_range is not None:
        lo, hi = sorted(_aware(moment).timestamp() for moment in x_range)
        start, end = min(start, lo), max(end, hi)
    values = [value for _, value in main] + [value for _, value in other]
    low, high = min(values), max(values)
    if low >= 0 and low <= high - low:
        low = 0.0
    ticks = _nice_ticks(low, high)
    y_min, y_max = ticks[0], ticks[-1]

    left = _left_margin(ticks, unit)
    right = max(left + 1, width - _MARGIN_RIGHT)
    top = float(_PLOT_TOP)
    bottom = max(top + 1, height - _MARGIN_BOTTOM)
    plot_width = right - left

    def x_of(moment: float) -> float:
        if end == start:
            return left + plot_width / 2
        return left + (moment - start) / (end - start) * plot_width

    def y_of(value: float) -> float:
        return top + (y_max - value) / (y_max - y_min) * (bottom - top)

    body: list[str] = [_title_element(title)]
    legend: list[tuple[str, str]] = []
    desc = [
        f"{series.label} from {_format_moment(datetime.fromtimestamp(main[0][0], zone))} "
        f"to {_format_moment(datetime.fromtimestamp(main[-1][0], zone))}: "
        f"{_summary([value for _, value in main], unit)}"
    ]

    window_desc = ""
    if window is not None:
        w_start, w_end = sorted(_aware(moment).timestamp() for moment in window)
        window_desc = (
            f"shaded {window_label or 'window'}: "
            f"{_format_moment(datetime.fromtimestamp(w_start, zone))} to "
            f"{_format_moment(datetime.fromtimestamp(w_end, zone))}"
        )
        w_start, w_end = max(w_start, start), min(w_end, end)
        if w_start <= w_end and end > start:
            x1, x2 = x_of(w_start), x_of(w_end)
            body.append(
                f'<rect data-role="window" x="{_num(x1)}" y="{_num(top)}" '
                f'width="{_num(max(x2 - x1, 1.0))}" height="{_num(bottom - top)}" '
                f'fill="{WINDOW_FILL}" stroke="{WINDOW_STROKE}" stroke-width="0.5"/>'
            )
            if window_label:
                label_width = _text_width(window_label, _TICK_SIZE)
                label_x = max(left + 2, min(x1 + 4, right - label_width - 2))
                body.append(
                    f'<text x="{_num(label_x)}" y="{_num(top + 13)}" font-size="{_TICK_SIZE}" '
                    f'fill="{WINDOW_TEXT}">{_text(window_label)}</text>'
                )

    body.extend(_y_axis(ticks, unit, left, right, y_of))
    body.append(
        f'<line x1="{_num(left)}" y1="{_num(bottom)}" x2="{_num(right)}" y2="{_num(bottom)}" '
        f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
    )
    span = timedelta(seconds=end - start)
    for tick in _time_ticks(start, end, zone):
        x = x_of(tick.timestamp())
        body.append(
            f'<line x1="{_num(x)}" y1="{_num(bottom)}" x2="{_num(x)}" y2="{_num(bottom + 4)}" '
            f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
        )
        body.append(_x_label(x, bottom + 16, _format_tick_time(tick, span), width))

    def polyline(
        points: list[tuple[float, float]], color: str, dashed: bool, role: str, label: str
    ) -> None:
        drawn = _downsample(points, start, end, int(plot_width))
        coords = " ".join(f"{_num(x_of(t))},{_num(y_of(v))}" for t, v in drawn)
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        stroke_width = "1.5" if role == "comparison" else "2"
        body.append(
            f'<polyline data-role="{role}" points="{coords}" fill="none" '
            f'stroke="{_text(color)}" stroke-width="{stroke_width}"{dash} '
            f'stroke-linejoin="round" stroke-linecap="round"/>'
        )
        if len(drawn) == 1:
            t, v = drawn[0]
            body.append(
                f'<circle cx="{_num(x_of(t))}" cy="{_num(y_of(v))}" r="3" fill="{_text(color)}"/>'
            )
        swatch_dash = dash.replace('"5 4"', '"4 3"')
        legend.append(
            (
                f'<line x1="{{x}}" y1="34" x2="{{x2}}" y2="34" stroke="{_text(color)}" '
                f'stroke-width="{stroke_width}"{swatch_dash}/>',
                label,
            )
        )

    if comparison is not None and other:
        color = comparison.color
        if color == DEFAULT_SERIES_COLOR:
            color = COMPARISON_COLOR
        polyline(other, color, True, "comparison", comparison.label)
        desc.append(f"{comparison.label}: {_summary([value for _, value in other], unit)}")
    elif comparison is not None:
        desc.append(f"{comparison.label}: no data")
    polyline(main, series.color, series.dashed, "series", series.label)
    # Legend lists the main series first even though it is painted last (on top).
    legend.reverse()
    body.extend(_legend(legend, 8))
    if window is not None:
        desc.append(window_desc)
    return _document(width, height, title, "; ".join(desc) + ".", body)


# --------------------------------------------------------------------------- bar chart


def bar_chart(
    bars: Sequence[Bar],
    *,
    series_labels: Sequence[str],
    colors: Sequence[str] | None = None,
    stacked: bool = False,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 200,
) -> SafeString:
    """Render categories as grouped (default) or stacked bars, one ``<rect>`` per non-zero value.

    Series ``i`` uses ``colors[i]`` (cycled), else a built-in palette. Missing values count as
    0, values beyond ``series_labels`` get a generic "Series n" label. Stacked bars pile positive
    values up and negative values down from 0. Category labels are thinned (every k-th shown)
    when they would not fit under their bars. No bars, or no finite values, renders "No data".
    """
    count = max([len(series_labels)] + [len(bar.values) for bar in bars]) if bars else 0
    if not bars or count == 0:
        return _no_data(title, width, height)
    labels = [
        series_labels[i] if i < len(series_labels) else f"Series {i + 1}" for i in range(count)
    ]
    palette = list(colors) if colors else list(PALETTE)
    series_colors = [palette[i % len(palette)] for i in range(count)]

    def value(bar: Bar, index: int) -> float:
        raw = bar.values[index] if index < len(bar.values) else 0.0
        number = float(raw) if raw is not None else 0.0
        return number if math.isfinite(number) else 0.0

    table = [[value(bar, i) for i in range(count)] for bar in bars]
    if stacked:
        highs = [sum(v for v in row if v > 0) for row in table]
        lows = [sum(v for v in row if v < 0) for row in table]
    else:
        highs = [max(row) for row in table]
        lows = [min(row) for row in table]
    ticks = _nice_ticks(min(0.0, *lows), max(0.0, *highs))
    if ticks[0] == ticks[-1]:
        ticks = [0.0, 0.5, 1.0]
    y_min, y_max = ticks[0], ticks[-1]

    left = _left_margin(ticks, unit)
    right = max(left + 1, width - _MARGIN_RIGHT)
    top = float(_PLOT_TOP)
    bottom = max(top + 1, height - _MARGIN_BOTTOM)
    band = (right - left) / len(bars)

    def y_of(number: float) -> float:
        return top + (y_max - number) / (y_max - y_min) * (bottom - top)

    body: list[str] = [_title_element(title)]
    body.extend(_y_axis(ticks, unit, left, right, y_of))

    group = band * 0.8
    bar_width = group if stacked else group / count
    for position, (bar, row) in enumerate(zip(bars, table, strict=True)):
        x0 = left + position * band + (band - group) / 2
        up = down = 0.0
        for index, number in enumerate(row):
            if number == 0:
                continue
            if stacked:
                base = up if number > 0 else down
                tip = base + number
                if number > 0:
                    up = tip
                else:
                    down = tip
                x = x0
            else:
                base, tip = 0.0, number
                x = x0 + index * bar_width
            # Round the edges, not the height, so stacked segments abut exactly.
            y_top = round(y_of(max(base, tip)), 1)
            y_bottom = round(y_of(min(base, tip)), 1)
            body.append(
                f'<rect data-series="{index}" data-value="{_text(_trim(repr(number)))}" '
                f'x="{_num(x)}" y="{_num(y_top)}" width="{_num(max(bar_width - 1, 1.0))}" '
                f'height="{_num(max(y_bottom - y_top, 0.1))}" fill="{_text(series_colors[index])}">'
                f"<title>{_text(bar.label)} - {_text(labels[index])}: "
                f"{_text(format_value(number, unit))}</title></rect>"
            )

    zero = _num(y_of(0.0))
    body.append(
        f'<line x1="{_num(left)}" y1="{zero}" x2="{_num(right)}" y2="{zero}" '
        f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
    )
    widest = max(_text_width(bar.label, _TICK_SIZE) for bar in bars) + 8
    every = max(1, math.ceil(widest / band)) if band > 0 else len(bars)
    for position, bar in enumerate(bars):
        if position % every:
            continue
        x = left + (position + 0.5) * band
        body.append(_x_label(x, bottom + 16, bar.label, width))

    legend = [
        (
            f'<rect x="{{x}}" y="29" width="10" height="10" fill="{_text(series_colors[i])}"/>',
            labels[i],
        )
        for i in range(count)
    ]
    body.extend(_legend(legend, 8))

    totals = [sum(row) for row in table]
    desc = (
        (
            f"{len(bars)} categories from {bars[0].label} to {bars[-1].label}"
            if len(bars) > 1
            else f"1 category, {bars[0].label}"
        )
        + (" (stacked)" if stacked else "")
        + "; "
        + "; ".join(
            f"{labels[i]}: {_summary([row[i] for row in table], unit)}" for i in range(count)
        )
    )
    if stacked:
        desc += f"; total: {_summary(totals, unit)}"
    return _document(width, height, title, desc + ".", body)
