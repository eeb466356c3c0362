"""Charts for the organizer pages, drawn on the server as inline SVG.

The pages' Content-Security-Policy allows no scripts and no inline styles, so a chart
is plain SVG markup styled only with presentation attributes (fill=, stroke=,
font-size=), never style= or a <style> element. Each chart is an image for assistive
technology (role="img", with a <title> and a <desc> summing it up); the page shows the
same numbers in a table as well, for anyone who needs them exactly.

Colors are the Okabe-Ito palette, which stays distinguishable with color blindness, and
lines also differ by dash pattern, so no series is told apart by color alone.
"""

import hashlib
import html
import math
import re
from datetime import date
from typing import Callable, List, Mapping, Optional, Sequence, Tuple, Union

Number = Union[int, float]
Day = Union[date, str]

COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
TEXT_COLOR = "#1a1a1a"
GRID_COLOR = "#d0d0d0"
MAX_LABEL_CHARS = 24

# Characters XML 1.0 does not allow: a label with one would make the page's SVG invalid.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _number(value: Number) -> str:
    """1234 -> "1,234", 0.25 -> "0.25"."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def bar_chart(
    title: str,
    items: Sequence[Tuple[str, Number]],
    *,
    description: Optional[str] = None,
    width: int = 640,
    value_format: Callable[[Number], str] = _number,
) -> str:
    """A horizontal bar chart, one bar per (label, value), in the order given."""
    label_width, value_width, bar_height, gap, top = 190, 70, 20, 8, 8
    height = top * 2 + max(len(items), 1) * (bar_height + gap)
    largest = max((max(value, 0) for _, value in items), default=0)
    plot_width = width - label_width - value_width
    if description is None:
        description = _bar_summary(items, value_format)
    chart_id = _chart_id("bar", title, repr(list(items)))
    parts = [_open(chart_id, title, description, width, height)]
    if not items:
        parts.append(_no_data(width, height))
    for row, (label, value) in enumerate(items):
        y = top + row * (bar_height + gap)
        length = plot_width * max(value, 0) / largest if largest else 0
        shown = value_format(value)
        parts.append(
            f'<g><title>{_text(label)}: {_text(shown)}</title>'
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.72:.1f}" text-anchor="end" font-size="13" '
            f'fill="{TEXT_COLOR}">{_text(_shorten(label))}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" fill="{COLORS[0]}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + bar_height * 0.72:.1f}" font-size="13" '
            f'fill="{TEXT_COLOR}">{_text(shown)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    title: str,
    series: Mapping[str, Sequence[Tuple[Day, Number]]],
    *,
    description: Optional[str] = None,
    width: int = 640,
    height: int = 260,
    value_format: Callable[[Number], str] = _number,
) -> str:
    """A line chart of series over days: label -> [(day, value), ...], one line each.

    Days are dates (or strings that sort in order); a series may lack some days.
    """
    left, right, top, bottom = 56, 16, 12, 36
    legend_rows = math.ceil(len(series) / 3)
    total_height = height + legend_rows * 20
    plot_width, plot_height = width - left - right, height - top - bottom
    days = sorted({day for points in series.values() for day, _ in points})
    values = [value for points in series.values() for _, value in points]
    step, ceiling = _scale(max(values, default=0), whole=all(isinstance(value, int) for value in values))
    if description is None:
        description = _line_summary(series, days)
    chart_id = _chart_id("line", title, repr(sorted((label, list(points)) for label, points in series.items())))
    parts = [_open(chart_id, title, description, width, total_height)]
    if not days:
        parts.append(_no_data(width, total_height))
        parts.append("</svg>")
        return "".join(parts)

    position = {day: index for index, day in enumerate(days)}

    def x_of(day: Day) -> float:
        if len(days) == 1:
            return left + plot_width / 2
        return left + plot_width * position[day] / (len(days) - 1)

    def y_of(value: Number) -> float:
        return top + plot_height * (1 - max(value, 0) / ceiling)

    parts.append("<g>")
    for tick in range(round(ceiling / step) + 1):
        y = y_of(tick * step)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID_COLOR}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{TEXT_COLOR}">'
            f"{_text(value_format(tick * step))}</text>"
        )
    for day in _spread(days, 6):
        parts.append(
            f'<text x="{x_of(day):.1f}" y="{top + plot_height + 18}" text-anchor="middle" font-size="11" '
            f'fill="{TEXT_COLOR}">{_text(_day_label(day))}</text>'
        )
    parts.append("</g>")
    for number, (label, points) in enumerate(series.items()):
        color, dash = COLORS[number % len(COLORS)], DASHES[number // len(COLORS) % len(DASHES)]
        dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
        ordered = sorted(points)
        coordinates = " ".join(f"{x_of(day):.1f},{y_of(value):.1f}" for day, value in ordered)
        parts.append(
            f'<g><polyline points="{coordinates}" fill="none" stroke="{color}" stroke-width="2"{dash_attribute}/>'
        )
        for day, value in ordered:
            parts.append(
                f'<circle cx="{x_of(day):.1f}" cy="{y_of(value):.1f}" r="2.5" fill="{color}">'
                f"<title>{_text(label)}, {_text(_day_label(day))}: {_text(value_format(value))}</title></circle>"
            )
        legend_x = left + (number % 3) * (plot_width / 3)
        legend_y = height + (number // 3) * 20
        parts.append(
            f'<line x1="{legend_x:.1f}" y1="{legend_y - 4}" x2="{legend_x + 22:.1f}" y2="{legend_y - 4}" '
            f'stroke="{color}" stroke-width="2"{dash_attribute}/>'
            f'<text x="{legend_x + 28:.1f}" y="{legend_y}" font-size="12" fill="{TEXT_COLOR}">'
            f"{_text(_shorten(label))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="{_text(FONT)}">'
        f'<title id="{chart_id}-title">{_text(title)}</title>'
        f'<desc id="{chart_id}-desc">{_text(description)}</desc>'
    )


def _no_data(width: int, height: int) -> str:
    return (
        f'<text x="{width / 2:.1f}" y="{height / 2:.1f}" text-anchor="middle" font-size="13" '
        f'fill="{TEXT_COLOR}">No data</text>'
    )


def _chart_id(kind: str, title: str, data: str) -> str:
    """An id from the chart's content: stable across renders, distinct between charts on a page."""
    return f"chart-{kind}-" + hashlib.sha256(f"{title}\n{data}".encode("utf-8")).hexdigest()[:12]


def _text(value: object) -> str:
    """Text safe in SVG markup, as element content or attribute value."""
    return html.escape(_NOT_XML.sub("", str(value)), quote=True)


def _shorten(label: str) -> str:
    # The full label stays in the element's <title> and in the page's table.
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def _day_label(day: Day) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


def _scale(largest: Number, whole: bool) -> Tuple[float, float]:
    """A round tick step and the axis top: 0.3 -> (0.1, 0.3), 173 -> (50, 200).

    Counts (`whole`) get whole-number steps: no "2.5 turns" on the axis.
    """
    if largest <= 0:
        return 1.0, 1.0
    raw = largest / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    factors = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(factor * magnitude for factor in factors if raw <= factor * magnitude * (1 + 1e-9))
    if whole:
        step = max(1.0, step)
    return step, step * math.ceil(largest / step - 1e-9)


def _spread(days: List[Day], count: int) -> List[Day]:
    """At most `count` days, evenly spaced, first and last included."""
    if len(days) <= count:
        return days
    return [days[round(i * (len(days) - 1) / (count - 1))] for i in range(count)]


def _bar_summary(items: Sequence[Tuple[str, Number]], value_format: Callable[[Number], str]) -> str:
    if not items:
        return "No data."
    label, value = max(items, key=lambda item: item[1])
    return f"Bar chart of {len(items)} items. Largest: {label}, {value_format(value)}."


def _line_summary(series: Mapping[str, Sequence[Tuple[Day, Number]]], days: List[Day]) -> str:
    if not days:
        return "No data."
    return (
        f"Line chart of {len(series)} series ({', '.join(series)}) "
        f"from {_day_label(days[0])} to {_day_label(days[-1])}."
    )

