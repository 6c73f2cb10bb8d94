"""compare.html: the comparison of two runs as one offline page."""

from __future__ import annotations

import html

from omnieval.report.compare import CompareReport

STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em;color:#1b1f24}table{border-collapse:collapse}"
    "td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}th{background:#f6f8fa}"
    ".gained{color:#1a7f37}.lost{color:#cf222e}"
)


def render_compare(report: CompareReport) -> str:
    head = ("task", "condition", "A", "B", "n", "unpaired", "mean A", "mean B", "B - A", "95% CI",
            "test", "p")  # fmt: skip
    rows = []
    for c in report.comparisons:
        interval = (
            f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}]"
            if c.ci_low is not None and c.ci_high is not None
            else "-"
        )
        cells = (c.task, c.condition, c.model_a, c.model_b, c.n, c.unpaired, f"{c.mean_a:.4f}",
                 f"{c.mean_b:.4f}", f"{c.diff:+.4f}", interval, c.test,
                 "-" if c.p_value is None else f"{c.p_value:.4g}")  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in cells) + "</tr>")
    flips = []
    for c in report.comparisons:
        if not c.flips:
            continue
        items = "".join(
            f'<li class="{f.direction}">{html.escape(f.sample_id)}: {f.a:g} → {f.b:g} '
            f"({f.direction})</li>"
            for f in c.flips
        )
        flips.append(
            f"<h3>{html.escape(c.task)} / {html.escape(c.condition)}: {len(c.flips)} "
            f"flipped</h3><ul>{items}</ul>"
        )
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>omnieval compare"
        f"</title><style>{STYLE}</style></head><body><h1>B - A</h1>"
        f"<p>A: {html.escape(report.run_a)}<br>B: {html.escape(report.run_b)}</p>"
        f"<table id='compare'><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody>"
        f"</table>{''.join(flips)}</body></html>\n"
    )
