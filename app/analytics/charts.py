"""Charts as server-side SVG (pygal): readable without JavaScript, scaled to the card's width, in the admin's
colours. pygal's own inline script (its tooltips' config) is left out: the admin serves no inline scripts of
ours, and the table beneath each chart carries the exact figures."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Sequence

import pygal
from pygal.style import Style

# pygal puts an import hook on sys.meta_path for its optional `pygal.maps.*` plugins (which we do not use); the
# hook only has the old `find_module` API, so every later import in the process warns (an error under pytest's
# `-W error`). Taking it out leaves pygal's charts as they are.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#303030",
    foreground_strong="#303030",
    foreground_subtle="#8a8a8a",
    font_family='-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Noto Sans Thai", sans-serif',
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=12,
    colors=("#2c6ecb", "#008060", "#d82c0d", "#b98900", "#8051ff", "#6d7175"),
    opacity=".85",
)
_COMMON = {
    "style": STYLE,
    "js": (),
    "disable_xml_declaration": True,
    "explicit_size": False,
    "width": 720,
    "height": 300,
    "legend_at_bottom": True,
    "legend_at_bottom_columns": 3,
    "truncate_legend": 24,
    "truncate_label": 18,
    "show_minor_x_labels": False,
    "x_labels_major_count": 7,
    "print_zeroes": False,
}


def _render(chart: pygal.graph.graph.Graph, title: str) -> str:
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    # a name for screen readers; the table beneath has the figures
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    percent: bool = False,
    no_data: str = "",
) -> str:
    return _line_chart(title, tuple(x_labels), _frozen(series), percent, no_data)


def bar_chart(
    title: str,
    x_labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    stacked: bool = False,
    no_data: str = "",
) -> str:
    return _bar_chart(title, tuple(x_labels), _frozen(series), stacked, no_data)


def _frozen(series: dict[str, Sequence[float | None]]) -> tuple[tuple[str, tuple[float | None, ...]], ...]:
    return tuple((name, tuple(None if v is None else float(v) for v in values)) for name, values in series.items())


# pygal spends tens of milliseconds on a chart; the same figures (a range looked at again, its rollups unchanged)
# give the same SVG, so each worker keeps the charts it drew last, keyed by everything that is drawn.
@functools.lru_cache(maxsize=256)
def _line_chart(title: str, x_labels: tuple[str, ...], series: tuple, percent: bool, no_data: str) -> str:
    chart = pygal.Line(
        **_COMMON,
        show_dots=len(x_labels) <= 31,
        dots_size=3,
        no_data_text=no_data,
        range=(0, 100) if percent else None,
        allow_interruptions=True,
    )
    chart.x_labels = list(x_labels)
    for name, values in series:
        chart.add(name, list(values))
    return _render(chart, title)


@functools.lru_cache(maxsize=256)
def _bar_chart(title: str, x_labels: tuple[str, ...], series: tuple, stacked: bool, no_data: str) -> str:
    kind = pygal.StackedBar if stacked else pygal.Bar
    chart = kind(
        **{**_COMMON, "show_minor_x_labels": True, "x_labels_major_count": None},
        no_data_text=no_data,
        x_label_rotation=0 if len(x_labels) <= 4 else 30,
    )
    chart.x_labels = list(x_labels)
    for name, values in series:
        chart.add(name, list(values))
    return _render(chart, title)
