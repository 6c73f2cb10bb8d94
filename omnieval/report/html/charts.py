"""Inline SVG charts for report.html (no JavaScript, no network): scores with intervals, ablation
deltas, the aggregation tree as a radar, AA against ACR, and the temporal-acuity curve."""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from omnieval.report.acuity import AcuityResult, window
from omnieval.report.results import RunResults

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def _esc(text: object) -> str:
    return html.escape(str(text))


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{_esc(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"{body}</svg>"
    )


def score_bars(results: RunResults) -> list[str]:
    """One horizontal bar chart per task: headline per model x condition, 95% whiskers."""
    charts = []
    by_task: dict[str, list[tuple[str, float, float | None, float | None]]] = defaultdict(list)
    for group in results.overall():
        metric = results.headline(group.task)
        value = group.metrics.get(metric)
        if value is None or value.value != value.value:
            continue
        label = f"{group.model} · {group.condition}"
        by_task[group.task].append((label, value.value, value.ci_low, value.ci_high))
    for task, bars in sorted(by_task.items()):
        metric = results.headline(task)
        top = max([1.0] + [b[3] or b[1] for b in bars])
        row, left, plot = 22, 220, 360
        height = row * len(bars) + 40
        body = [f'<text x="4" y="14" class="title">{_esc(task)}: {_esc(metric)}</text>']
        for i, (label, score, low, high) in enumerate(bars):
            y = 26 + i * row
            width = max(0.0, score / top * plot)
            colour = PALETTE[i % len(PALETTE)]
            body.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{_esc(label)}</text>')
            body.append(
                f'<rect x="{left}" y="{y + 2}" width="{width:.1f}" height="{row - 8}" '
                f'fill="{colour}" opacity="0.8"><title>{_esc(label)}: {score:.4g}</title></rect>'
            )
            if low is not None and high is not None:
                x0, x1 = left + low / top * plot, left + high / top * plot
                mid = y + row / 2 - 2
                body.append(
                    f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{mid}" y2="{mid}" class="whisker"/>'
                )
            body.append(f'<text x="{left + width + 4:.1f}" y="{y + 13}">{score:.3g}</text>')
        charts.append(_svg(left + plot + 60, height, "".join(body), f"scores for {task}"))
    return charts


def ablation_deltas(results: RunResults) -> list[str]:
    """Per task, each condition's headline minus the first condition's, per model."""
    if len(results.conditions) < 2:
        return []
    base = results.conditions[0]
    charts = []
    cells: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for group in results.overall():
        value = group.metrics.get(results.headline(group.task))
        if value is not None and value.value == value.value:
            cells[group.task][(group.model, group.condition)] = value.value
    for task, values in sorted(cells.items()):
        bars = [
            (f"{model} · {cond} − {base}", v - values[(model, base)])
            for (model, cond), v in sorted(values.items())
            if cond != base and (model, base) in values
        ]
        if not bars:
            continue
        row, left, half = 22, 240, 160
        body = [f'<text x="4" y="14" class="title">{_esc(task)}: change against {base}</text>']
        zero = left + half
        body.append(
            f'<line x1="{zero}" x2="{zero}" y1="20" y2="{26 + row * len(bars)}" class="axis"/>'
        )
        for i, (label, delta) in enumerate(bars):
            y = 26 + i * row
            width = min(1.0, abs(delta)) * half
            x = zero if delta >= 0 else zero - width
            colour = "#2ca02c" if delta >= 0 else "#d62728"
            body.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{_esc(label)}</text>')
            body.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{width:.1f}" height="{row - 8}" '
                f'fill="{colour}"><title>{delta:+.4f}</title></rect>'
            )
            body.append(f'<text x="{zero + half + 8}" y="{y + 13}">{delta:+.3f}</text>')
        charts.append(_svg(left + 2 * half + 70, 40 + row * len(bars), "".join(body), task))
    return charts


def tree_radar(results: RunResults) -> list[str]:
    """A radar of the aggregation tree's nodes (≥ 3 of them) per model and condition."""
    values: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for node in results.nodes:
        if node.value.value == node.value.value:
            values[(node.model, node.condition)][node.node] = node.value.value
    names = sorted({n for cell in values.values() for n in cell})
    if len(names) < 3:
        return []
    size, radius = 360, 130
    cx = cy = size / 2
    body = []
    for k, name in enumerate(names):
        angle = 2 * math.pi * k / len(names) - math.pi / 2
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        body.append(f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" class="axis"/>')
        lx, ly = cx + (radius + 18) * math.cos(angle), cy + (radius + 18) * math.sin(angle)
        body.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle">{_esc(name)}</text>')
    legend = []
    for i, ((model, condition), cell) in enumerate(sorted(values.items())):
        colour = PALETTE[i % len(PALETTE)]
        points = []
        for k, name in enumerate(names):
            angle = 2 * math.pi * k / len(names) - math.pi / 2
            r = radius * max(0.0, min(1.0, cell.get(name, 0.0)))
            points.append(f"{cx + r * math.cos(angle):.1f},{cy + r * math.sin(angle):.1f}")
        body.append(
            f'<polygon points="{" ".join(points)}" fill="{colour}" fill-opacity="0.12" '
            f'stroke="{colour}"><title>{_esc(model)} · {_esc(condition)}</title></polygon>'
        )
        legend.append(
            f'<text x="{size + 10}" y="{20 + 18 * i}" fill="{colour}">'
            f"{_esc(model)} · {_esc(condition)}</text>"
        )
    return [_svg(size + 220, size, "".join(body + legend), "aggregation tree")]


def aa_acr(results: RunResults) -> list[str]:
    """AA against ACR for replicated (circular) tasks: one point per model x condition x task."""
    points = []
    for group in results.overall():
        info = results.tasks.get(group.task)
        if info is None or not info.replicated or len(info.display) < 2:
            continue
        aa, acr = (group.metrics.get(name) for name in info.display[:2])
        if aa is not None and acr is not None:
            points.append(
                (f"{group.model} · {group.condition} · {group.task}", aa.value, acr.value)
            )
    if not points:
        return []
    size, pad = 300, 40
    body = [
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" class="axis"/>',
        f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle">AA</text>',
        f'<text x="12" y="{size / 2}" transform="rotate(-90 12 {size / 2})" '
        'text-anchor="middle">ACR</text>',
    ]
    span = size - 2 * pad
    for i, (label, aa_value, acr_value) in enumerate(points):
        x, y = pad + aa_value * span, size - pad - acr_value * span
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{PALETTE[i % len(PALETTE)]}">'
            f"<title>{_esc(label)}: AA {aa_value:.3f}, ACR {acr_value:.3f}</title></circle>"
        )
    return [_svg(size, size, "".join(body), "AA against ACR")]


def acuity_curves(results: Sequence[AcuityResult]) -> list[str]:
    """The psychometric curve per task: points and the fitted window per model x condition."""
    by_task: dict[str, list[AcuityResult]] = defaultdict(list)
    for result in results:
        by_task[result.task].append(result)
    charts = []
    width, height, pad = 520, 260, 44

    def sy(y: float) -> float:
        return height - pad - y * (height - 2 * pad)

    for task, found in sorted(by_task.items()):
        offsets = [p.offset_ms for r in found for p in r.points]
        low, high = min(offsets), max(offsets)
        span = (high - low) or 1.0

        def sx(x: float, low: float = low, span: float = span) -> float:
            return pad + (x - low) / span * (width - 2 * pad)

        body = [
            f'<text x="4" y="14" class="title">{_esc(task)}: share answered "in sync"</text>',
            f'<line x1="{pad}" y1="{sy(0)}" x2="{width - pad}" y2="{sy(0)}" class="axis"/>',
            f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle">'
            "audio offset (ms, + = audio late)</text>",
        ]
        for tick in (low, (low + high) / 2, high):
            body.append(
                f'<text x="{sx(tick):.1f}" y="{sy(0) + 14}" text-anchor="middle">{tick:+.0f}</text>'
            )
        for i, result in enumerate(found):
            colour = PALETTE[i % len(PALETTE)]
            for point in result.points:
                body.append(
                    f'<circle cx="{sx(point.offset_ms):.1f}" cy="{sy(point.share):.1f}" r="4" '
                    f'fill="{colour}"><title>{point.offset_ms:+.0f} ms: {point.in_sync}/'
                    f"{point.n}</title></circle>"
                )
            if result.fit is not None:
                xs = np.linspace(low, high, 120)
                ys = window(xs, *result.fit)
                path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True))
                body.append(f'<polyline points="{path}" fill="none" stroke="{colour}"/>')
            pss = "n/a" if result.pss_ms is None else f"{result.pss_ms:+.0f}"
            jnd = "n/a" if result.jnd_ms is None else f"{result.jnd_ms:.0f}"
            body.append(
                f'<text x="{width - pad}" y="{30 + 16 * i}" text-anchor="end" fill="{colour}">'
                f"{_esc(result.model)} · {_esc(result.condition)}: PSS {pss} ms, JND {jnd} ms"
                "</text>"
            )
        charts.append(_svg(width, height, "".join(body), f"temporal acuity {task}"))
    return charts
