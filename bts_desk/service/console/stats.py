"""补录统计: enrollments per day and district, drawn as an SVG chart on the server.

``enrollments_per_day`` counts the enrollments the service received in the last ``days``
calendar days (China Standard Time, as the border counts days), per 关区 of the record.
``bar_chart_svg`` draws them as grouped bars with axes, gridlines and a legend: plain SVG text
put into the page, so the console needs no JavaScript at all. Every label is XML-escaped.
Blocking SQL: worker threads only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from xml.sax.saxutils import escape

from sqlalchemy import select

from bts_desk.service.database import ServiceDatabase
from bts_desk.service.models import ServerBorderer, ServerEnrollment

CST = dt.timezone(dt.timedelta(hours=8))
PALETTE = ("#1f6fb2", "#e07b1a", "#2e9e4f", "#c23b3b", "#7b52ab", "#8c6d31", "#d45fa8", "#5a5a5a")


@dataclass(frozen=True)
class DailyCounts:
    days: list[dt.date]
    districts: list[str]
    counts: dict[tuple[dt.date, str], int]

    def total(self) -> int:
        return sum(self.counts.values())

    def of_district(self, district: str) -> int:
        return sum(n for (_day, d), n in self.counts.items() if d == district)


def enrollments_per_day(db: ServiceDatabase, now: dt.datetime, days: int = 14) -> DailyCounts:
    today = now.astimezone(CST).date()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), CST).astimezone(dt.UTC)
    with db.read() as conn:
        rows = conn.execute(
            select(ServerEnrollment.received_at, ServerBorderer.customs_code)
            .join(ServerBorderer, ServerBorderer.id == ServerEnrollment.borderer_id)
            .where(ServerEnrollment.received_at >= since)
        ).all()
    counts: Counter[tuple[dt.date, str]] = Counter()
    for received_at, district in rows:
        aware = received_at if received_at.tzinfo else received_at.replace(tzinfo=dt.UTC)
        counts[(aware.astimezone(CST).date(), district)] += 1
    return DailyCounts(
        days=[first + dt.timedelta(days=i) for i in range(days)],
        districts=sorted({d for _day, d in counts}),
        counts=dict(counts),
    )


def _nice_max(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least ``value``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= max(value, 1):
                return step * factor
        step *= 10


def _tick_count(top_value: int) -> int:
    """Intervals of the value axis that land on whole numbers (0-5-10…, 0-5-…-20, 0-1-2)."""
    for n in (5, 4, 2):
        if top_value % n == 0:
            return n
    return 1


def bar_chart_svg(data: DailyCounts, width: int = 900, height: int = 320) -> str:
    """Grouped bars: one group per day, one bar per district; title and legend in Chinese."""
    left, right, top, bottom = 56, 16, 36, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max(data.counts.values(), default=0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="每日补录数量" '
        'font-family="Noto Sans CJK SC, sans-serif" font-size="12">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    ticks = _tick_count(top_value)
    for i in range(ticks + 1):  # gridlines and the value axis
        value = top_value * i / ticks
        y = top + plot_h - plot_h * i / ticks
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#dddddd"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#444">{value:g}</text>'
        )
    group_w = plot_w / max(len(data.days), 1)
    bar_w = group_w * 0.8 / max(len(data.districts), 1)
    for d_index, day in enumerate(data.days):
        x0 = left + d_index * group_w + group_w * 0.1
        for k, district in enumerate(data.districts):
            n = data.counts.get((day, district), 0)
            if n:
                h = plot_h * n / top_value
                parts.append(
                    f'<rect class="bar" x="{x0 + k * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                    f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" '
                    f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(district)} '
                    f"{day:%m-%d}: {n}</title></rect>"
                )
        parts.append(
            f'<text x="{x0 + group_w * 0.4:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'fill="#444">{day:%m-%d}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#444"/>'
    )
    parts.append(
        f'<text x="{left}" y="20" font-size="14" fill="#222">每日补录数量（按关区）</text>'
    )
    for k, district in enumerate(data.districts):  # legend, top right
        x = left + plot_w - (len(data.districts) - k) * 90
        parts.append(
            f'<rect x="{x}" y="10" width="12" height="12" fill="{PALETTE[k % len(PALETTE)]}"/>'
            f'<text x="{x + 16}" y="20" fill="#222">关区 {escape(district)}</text>'
        )
    if not data.counts:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" '
            'fill="#888">所选期间没有补录</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
