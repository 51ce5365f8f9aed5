"""Server-side SVG charts (marac.charts): well-formed, named for screen readers, escaped, no style."""
import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own output

from marac import charts

NS = {"svg": charts.SVG_NS}


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output


def bars(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter(f"{{{charts.SVG_NS}}}rect") if r.get("class") == "marac-chart__bar"]


def test_column_chart_is_an_image_with_its_values_in_title_and_desc():
    points = [charts.Point("Jan 26", 3), charts.Point("Feb 26", 0), charts.Point("Mar 26", 5)]
    svg = parse(charts.column_chart("c1", "Cases heard each month", points))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find("svg:title", NS).text == "Cases heard each month"
    assert svg.find("svg:desc", NS).text == "Jan 26: 3; Feb 26: 0; Mar 26: 5"
    heights = [float(b.get("height")) for b in bars(svg)]
    assert len(heights) == 2 and heights[1] > heights[0]  # no bar for 0; 5 taller than 3
    assert not any(el.get("style") for el in svg.iter())  # the CSP allows no style attributes


def test_axis_ticks_are_whole_numbers():
    assert charts.ticks(3) == [0, 1, 2, 3]
    assert charts.ticks(100) == [0, 25, 50, 75, 100]
    assert charts.ticks(977) == [0, 250, 500, 750, 1000]
    assert charts.ticks(0) == [0, 1]


def test_band_and_missing_values():
    points = [charts.Point("Jan 26", None), charts.Point("Feb 26", 31.5)]
    markup = str(charts.column_chart("c2", "Repeat rate", points, unit="%", y_max=100,
                                     band=charts.Band(29, 33, "National range 29-33%")))
    svg = parse(markup)
    assert svg.find("svg:desc", NS).text == "Jan 26: no data; Feb 26: 31.5%. National range 29-33%"
    texts = [t.text for t in svg.iter(f"{{{charts.SVG_NS}}}text")]
    assert "National range 29-33%" in texts and "31.5%" in texts and "-" in texts


def test_bar_chart_escapes_agency_names_and_shortens_long_ones():
    name = '<script>x</script> & Sons'
    long_name = "The Anytown Very Long Named Community Safety Partnership Service"
    markup = str(charts.bar_chart("c3", "On time", [charts.Point(name, 50.0), charts.Point(long_name, None,
                                                                                       "none due yet")]))
    assert "<script>" not in markup and "&lt;script&gt;" in markup and "&amp; Sons" in markup
    svg = parse(markup)
    labels = [t.text for t in svg.iter(f"{{{charts.SVG_NS}}}text")]
    assert name in labels  # as text, once parsed
    assert any(t.endswith("\u2026") and len(t) == charts.MAX_LABEL for t in labels)
    assert long_name in svg.find("svg:desc", NS).text  # the full name is in the description
    assert "none due yet" in labels
    assert len(bars(svg)) == 1
