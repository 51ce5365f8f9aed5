"""Server-side SVG charts for the steering-group reports (issue 9). Pure Python: no Flask, no Peewee.

Each chart is an inline <svg role="img"> whose <title> and <desc> say what it shows and list its
values, so a screen reader hears the figures; the page puts the same figures in a table under the
chart. The SVG is built with ElementTree, which escapes every text and attribute value (agency
names are typed by the coordinator), and uses presentation attributes only: the CSP allows no
style attributes. Colours are from the GOV.UK palette, with at least 3:1 contrast against white.
"""
import math
import xml.etree.ElementTree as ET  # noqa: S405 - we build and serialise SVG here, we never parse input
from dataclasses import dataclass

from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
BLUE = "#1d70b8"
BLACK = "#0b0c0c"
GREY = "#505a5f"
LIGHT_GREY = "#b1b4b6"
GREEN = "#00703c"
GREEN_TINT = "#cce2d8"
FONT = '"GDS Transport", arial, sans-serif'
MAX_LABEL = 32  # characters of an agency name shown beside a bar (the table has the full name)


@dataclass(frozen=True)
class Point:
    """One bar: its label, its value (None: nothing to show), and the text printed by the bar."""

    label: str
    value: float | None
    text: str = ""

    @property
    def shown(self) -> str:
        if self.text:
            return self.text
        if self.value is None:
            return "no data"
        return _number(self.value)


@dataclass(frozen=True)
class Band:
    """A shaded range across a column chart (the national repeat rate, 29-33%)."""

    low: float
    high: float
    label: str


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def nice_step(value: float, intervals: int = 4) -> int:
    """A whole 1, 2, 2.5 or 5 times a power of ten, so that `intervals` steps of it reach value."""
    raw = max(value, 1) / intervals
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw and step >= 1 and float(step).is_integer():
            return int(step)
    return max(int(10 * power), 1)


def ticks(value: float, intervals: int = 4) -> list[int]:
    """Whole axis values from 0 up to the first step at or above value (counts never show 2.5)."""
    step = nice_step(value, intervals)
    top = step * max(math.ceil(value / step), 1)
    return list(range(0, top + 1, step))


def _svg(width: int, height: int, chart_id: str, title: str, desc: str) -> ET.Element:
    svg = ET.Element("svg", {
        "xmlns": SVG_NS, "viewBox": f"0 0 {width} {height}", "role": "img", "focusable": "false",
        "width": "100%", "font-family": FONT,
        "aria-labelledby": f"{chart_id}-title {chart_id}-desc", "class": "marac-chart", "id": chart_id,
    })
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = desc
    return svg


def _text(parent, x, y, text, anchor="middle", size=13, fill=BLACK, weight=None, cls=None) -> ET.Element:
    attrs = {"x": f"{x:.1f}", "y": f"{y:.1f}", "text-anchor": anchor, "font-size": str(size), "fill": fill}
    if weight:
        attrs["font-weight"] = weight
    if cls:
        attrs["class"] = cls
    el = ET.SubElement(parent, "text", attrs)
    el.text = text
    return el


def _line(parent, x1, y1, x2, y2, stroke=LIGHT_GREY, width=1, dash=None) -> None:
    attrs = {"x1": f"{x1:.1f}", "y1": f"{y1:.1f}", "x2": f"{x2:.1f}", "y2": f"{y2:.1f}", "stroke": stroke,
             "stroke-width": str(width)}
    if dash:
        attrs["stroke-dasharray"] = dash
    ET.SubElement(parent, "line", attrs)


def _serialise(svg: ET.Element) -> Markup:
    # ElementTree escapes every text node and attribute value, so the markup is safe to inline.
    return Markup(ET.tostring(svg, encoding="unicode", short_empty_elements=True))  # noqa: S704  # nosec B704


def describe(points: list[Point], unit: str = "") -> str:
    """The values as one sentence, for the chart's <desc>."""
    return "; ".join(f"{p.label}: {p.shown}{unit if p.value is not None and not p.text else ''}" for p in points)


def column_chart(chart_id: str, title: str, points: list[Point], *, unit: str = "", y_max: float | None = None,
                 band: Band | None = None, axis_label: str = "") -> Markup:
    """Vertical bars, one per point (months of a trend), optionally with a shaded band."""
    width, height = 720, 340 if band else 320
    left, right, top, bottom = 60, 16, 24, 64 if band else 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.value for p in points if p.value is not None]
    highest = max(values + ([band.high] if band else []) + [0])
    axis = ticks(y_max if y_max is not None else highest)
    y_top = axis[-1]
    desc = describe(points, unit)
    if band:
        desc += f". {band.label}"
    svg = _svg(width, height, chart_id, title, desc)

    def y(v: float) -> float:
        return top + plot_h - (min(v, y_top) / y_top) * plot_h

    if band:
        ET.SubElement(svg, "rect", {"x": str(left), "y": f"{y(band.high):.1f}", "width": str(plot_w),
                                    "height": f"{max(y(band.low) - y(band.high), 1):.1f}", "fill": GREEN_TINT})
        # The key, under the month labels: a swatch of the band and its name.
        key_y = height - 18
        ET.SubElement(svg, "rect", {"x": str(left), "y": f"{key_y - 10}", "width": "24", "height": "12",
                                    "fill": GREEN_TINT, "stroke": GREEN, "stroke-dasharray": "4 3"})
        _text(svg, left + 32, key_y, band.label, anchor="start", size=13, fill=GREEN, weight="bold")
    for v in axis:
        _line(svg, left, y(v), left + plot_w, y(v))
        _text(svg, left - 8, y(v) + 4, _number(v) + unit, anchor="end", size=12, fill=GREY)
    if axis_label:
        label = _text(svg, 14, top + plot_h / 2, axis_label, size=12, fill=GREY)
        label.set("transform", f"rotate(-90 14 {top + plot_h / 2:.1f})")
    slot = plot_w / max(len(points), 1)
    bar_w = min(slot * 0.6, 48)
    for i, p in enumerate(points):
        cx = left + slot * i + slot / 2
        if p.value is not None and p.value > 0:
            ET.SubElement(svg, "rect", {"x": f"{cx - bar_w / 2:.1f}", "y": f"{y(p.value):.1f}",
                                        "width": f"{bar_w:.1f}", "height": f"{top + plot_h - y(p.value):.1f}",
                                        "fill": BLUE, "class": "marac-chart__bar"})
        value_y = (y(p.value) if p.value is not None else top + plot_h) - 6
        _text(svg, cx, value_y, _shown(p, unit), size=12, weight="bold" if p.value is not None else None)
        _text(svg, cx, top + plot_h + 20, p.label, size=12)
    if band:  # the band's edges drawn over the bars, so a bar's height can be read against them
        for v in (band.low, band.high):
            _line(svg, left, y(v), left + plot_w, y(v), stroke=GREEN, dash="6 4", width=2)
    _line(svg, left, top + plot_h, left + plot_w, top + plot_h, stroke=BLACK)
    return _serialise(svg)


def _shown(p: Point, unit: str) -> str:
    if p.value is None:
        return p.text or "-"
    return p.text or _number(p.value) + unit


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1].rstrip() + "\u2026"


def bar_chart(chart_id: str, title: str, points: list[Point], *, unit: str = "%", x_max: float = 100) -> Markup:
    """Horizontal bars, one per point (agencies), on a 0 to x_max scale (percentages by default)."""
    row_h, left, right, top, bottom = 30, 250, 150, 12, 30
    width = 760
    plot_w = width - left - right
    height = top + bottom + row_h * max(len(points), 1)
    svg = _svg(width, height, chart_id, title, describe(points, unit))

    def x(v: float) -> float:
        return left + (min(max(v, 0), x_max) / x_max) * plot_w

    for v in ticks(x_max):
        _line(svg, x(v), top, x(v), height - bottom)
        _text(svg, x(v), height - bottom + 18, _number(v) + unit, size=12, fill=GREY)
    for i, p in enumerate(points):
        mid = top + row_h * i + row_h / 2
        _text(svg, left - 8, mid + 4, _short(p.label), anchor="end", size=13)
        if p.value is not None and p.value > 0:
            ET.SubElement(svg, "rect", {"x": str(left), "y": f"{mid - 9:.1f}", "width": f"{x(p.value) - left:.1f}",
                                        "height": "18", "fill": BLUE, "class": "marac-chart__bar"})
        end = x(p.value) if p.value is not None else left
        _text(svg, end + 6, mid + 4, _shown(p, unit), anchor="start", size=12,
              weight="bold" if p.value is not None else None)
    _line(svg, left, top, left, height - bottom, stroke=BLACK)
    return _serialise(svg)
