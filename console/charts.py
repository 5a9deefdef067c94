"""A week of traffic as a small bar chart, drawn on the server as SVG (no chart library,
no script): one group of bars per day, one bar per direction, with a text alternative."""

from __future__ import annotations

from datetime import date
from html import escape

# Two colours with at least 3:1 contrast against white and telling apart without colour
# (the legend names them and each bar has a title).
COLOURS = ("#1d4f91", "#b3541e", "#2f6b3a", "#6b2f6b")
WIDTH, HEIGHT, TOP, BOTTOM = 420, 190, 34, 28


def week_chart(series: dict[str, list[tuple[str, int]]], names: dict[str, str]) -> str:
    """``series``: per source community, seven (YYYY-MM-DD, count) oldest first."""
    days = [day for day, _ in next(iter(series.values()), [])]
    if not days:
        return ""
    highest = max([count for rows in series.values() for _, count in rows] + [1])
    group = WIDTH / len(days)
    bar = max(4.0, (group - 10) / max(1, len(series)))
    plot = HEIGHT - TOP - BOTTOM
    parts = []
    total = sum(count for rows in series.values() for _, count in rows)
    summary = "; ".join(f"from {names.get(c, c)}: {sum(n for _, n in rows)}" for c, rows in series.items())
    parts.append(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>Messages across in the last 7 days: {total} ({escape(summary)})'
        "</title>"
    )
    for i, day in enumerate(days):
        x0 = i * group + 5
        for j, (community, rows) in enumerate(series.items()):
            count = rows[i][1]
            height = plot * count / highest
            y = TOP + plot - height
            colour = COLOURS[j % len(COLOURS)]
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{y:.1f}" width="{bar - 1:.1f}" height="{height:.1f}" fill="{colour}">'
                f"<title>{escape(names.get(community, community))}, {day}: {count}</title></rect>"
            )
        label = date.fromisoformat(day).strftime("%a")
        parts.append(
            f'<text x="{x0 + group / 2 - 5:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="14" '
            f'fill="#222">{label}</text>'
        )
    baseline = TOP + plot
    parts.append(f'<line x1="0" y1="{baseline}" x2="{WIDTH}" y2="{baseline}" stroke="#6b7280" stroke-width="1"/>')
    parts.append(
        f'<text x="{WIDTH - 4}" y="{TOP - 4}" text-anchor="end" font-size="12" fill="#222">max {highest}</text>'
    )
    # The legend: a square of each colour and the community the messages came from.
    x = 0.0
    for j, community in enumerate(series):
        name = escape(f"from {names.get(community, community)}")
        parts.append(f'<rect x="{x:.1f}" y="4" width="12" height="12" fill="{COLOURS[j % len(COLOURS)]}"/>')
        parts.append(f'<text x="{x + 16:.1f}" y="15" font-size="13" fill="#222">{name}</text>')
        x += 24 + 7.5 * len(name)
    parts.append("</svg>")
    return "".join(parts)
