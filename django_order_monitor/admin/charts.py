"""Bar charts as inline SVG, drawn on the server: the dashboard needs no JavaScript and no CDN.

In a right-to-left language (Arabic) the charts are mirrored as the page is: time runs from
right to left, the count axis and the legend sit on the right, and the texts are laid out
right to left (``direction="rtl"``, under which a text anchor's start is its right end).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _

from ..engine.stats import Bucket

#: (state, colour) of the stacked "ended per hour" bars, bottom to top.
ENDED_SERIES = (
    ("completed", "#2e7d32"),
    ("failed", "#c62828"),
    ("timed_out", "#ef6c00"),
    ("stopped", "#757575"),
)


def _axis(value: float) -> tuple[int, int]:
    """(step, top) of a count axis: whole, round steps (1, 2, 5 x 10^n), at most four of them."""
    rough = max(1.0, value / 4)
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(int(m * magnitude) for m in (1, 2, 5, 10) if m * magnitude >= rough)
    return step, step * max(1, math.ceil(value / step))


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
    *,
    title: str,
    width: int = 720,
    height: int = 240,
    label_every: int = 1,
    rtl: bool | None = None,
) -> SafeString:
    """Stacked bars: one per category, one colour per (name, colour, values) series.

    ``rtl`` (default: the active language's direction) mirrors the chart horizontally.
    """
    rtl = get_language_bidi() if rtl is None else rtl
    left, right, top, bottom = 44, 10, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for _name, _colour, values in series) for i in range(len(categories))]
    step, ymax = _axis(max(totals, default=0))
    slot = plot_w / max(1, len(categories))
    bar_w = max(2.0, slot * 0.7)

    def x(position: float, extent: float = 0.0) -> float:
        """``position`` measured from the left edge, as drawn: mirrored in RTL (``extent``: the shape's width).

        Texts need no such care: their anchors ("end" of an axis label, "start" of a legend
        entry) follow the text's direction, so they mirror with it.
        """
        return width - position - extent if rtl else position

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="om-chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" direction="{"rtl" if rtl else "ltr"}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    for value in range(0, ymax + 1, step):
        y = top + plot_h - plot_h * value / ymax
        parts.append(f'<line x1="{x(left):.1f}" x2="{x(width - right):.1f}" y1="{y:.1f}" y2="{y:.1f}" class="om-grid" stroke="#ddd"/>')
        parts.append(
            f'<text x="{x(left - 6):.1f}" y="{y + 4:.1f}" text-anchor="end" class="om-tick" fill="#555">{value}</text>'
        )
    for index, category in enumerate(categories):
        bar_x = left + slot * index + (slot - bar_w) / 2
        base: float = top + plot_h
        for name, colour, values in series:
            value = values[index]
            if not value:
                continue
            bar_h = plot_h * value / ymax
            base -= bar_h
            parts.append(
                f'<rect x="{x(bar_x, bar_w):.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
                f'fill="{colour}"><title>{escape(category)} — {escape(name)}: {value}</title></rect>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x(bar_x + bar_w / 2):.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="om-label" fill="#333">'
                f"{escape(category)}</text>"
            )
    legend_x = left
    if len(series) > 1:
        for name, colour, _values in series:
            parts.append(f'<rect x="{x(legend_x, 10):.1f}" y="8" width="10" height="10" fill="{colour}"/>')
            parts.append(
                f'<text x="{x(legend_x + 14):.1f}" y="17" text-anchor="start" class="om-label" fill="#333">{escape(name)}</text>'
            )
            legend_x += 24 + 7 * len(name)
    parts.append(
        f'<line x1="{x(left):.1f}" x2="{x(width - right):.1f}" y1="{top + plot_h}" y2="{top + plot_h}" class="om-baseline" stroke="#999"/></svg>'
    )
    return mark_safe("".join(parts))  # every text in it went through escape()


def ended_by_hour(hours: Sequence[dict]) -> SafeString:
    """Orders that ended in each of the last 24 hours, stacked by final state."""
    labels = [timezone.localtime(hour["hour"]).strftime("%H:00") for hour in hours]
    names = {
        "completed": _("completed"),
        "failed": _("failed"),
        "timed_out": _("timed out"),
        "stopped": _("stopped"),
    }
    series = [(names[state], colour, [hour[state] for hour in hours]) for state, colour in ENDED_SERIES]
    return bar_chart(labels, series, title=_("Orders ended per hour, last 24 hours"), label_every=3)


def delay_histogram(buckets: Sequence[Bucket]) -> SafeString:
    """How long completed orders took from dispatch to PIN (last 24 hours)."""
    return bar_chart(
        [bucket.label for bucket in buckets],
        [(_("orders"), "#1565c0", [bucket.count for bucket in buckets])],
        title=_("Time to PIN of orders completed in the last 24 hours"),
    )
