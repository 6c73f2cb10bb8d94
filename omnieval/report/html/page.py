"""report.html: one self-contained, offline page per run.

Leaderboard along the benchmark's tree with intervals and the failed / unsupported / scoring-
error counts; the wiring probe; inline SVG charts; temporal acuity; human ratings; and a
per-sample browser (filters, media players, prompt, raw output, extraction with provenance,
score). No CDN and no network at view time: CSS, JavaScript and the data are inlined; media
files are referenced by path relative to the report, or embedded (`embed_media`).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from omnieval.report.coverage import coverage_tables
from omnieval.report.html import charts
from omnieval.report.html.browser import (
    COLUMNS,
    BrowserIndex,
    MediaUrl,
    browser_rows,
    embedded_url,
    read_sample_rows,
    relative_url,
)
from omnieval.report.leaderboard import (
    CHANCE,
    NODE_HEADER,
    acuity_lines,
    group_table,
    main_header,
    main_rows,
    model_summary,
    node_rows,
)
from omnieval.report.results import RunResults
from omnieval.runner import rundir
from omnieval.types import Sample

REPORT = "report.html"


def _asset(name: str) -> str:
    return resources.files("omnieval.report.html").joinpath("assets", name).read_text("utf-8")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], table_id: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        css = "chance" if row and row[0] == CHANCE else ""
        cells = "".join(
            f'<td class="{"num" if _numeric(c) else ""}">{html.escape(str(c))}</td>' for c in row
        )
        body.append(f'<tr class="{css}">{cells}</tr>')
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _numeric(cell: object) -> bool:
    text = str(cell).strip().lstrip("+-[").replace(".", "", 1)
    return bool(text) and text[:1].isdigit()


def _json_script(data: Any) -> str:
    """JSON for a <script> element: valid (no NaN: scores never hold one, anything else that
    does is cleaned to null) and unable to close the element early."""
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        text = json.dumps(_clean(data), ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("</", "<\\/")


def _clean(value: Any) -> Any:
    """NaN and infinities as null, so the embedded JSON is valid."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def render_report(
    results: RunResults,
    browser: Mapping[str, Any] | None,
    ratings: Sequence[Mapping[str, Any]] = (),
    rating: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> str:
    """The page's HTML (see the module docstring); `rating` turns on the rating form."""
    head, tail = _page_around_data(results, browser is not None, ratings, title)
    data = {"run": results.run, "browser": browser}
    if rating is not None:
        data["rating"] = dict(rating)
    return head + _json_script(data) + tail


def _page_around_data(
    results: RunResults,
    with_browser: bool,
    ratings: Sequence[Mapping[str, Any]],
    title: str | None,
) -> tuple[str, str]:
    """The page's HTML before and after the text of its embedded data (a JSON object)."""
    totals = results.totals
    sections: list[tuple[str, str, str]] = []
    board = [_table(main_header(results), main_rows(results), "leaderboard-table")]
    nodes = node_rows(results)
    if nodes:
        board += ["<h3>Aggregates (the benchmark's tree)</h3>", _table(NODE_HEADER, nodes)]
    for title, cov_header, cov_rows in coverage_tables(results):
        board += [f"<h3>{html.escape(title)}</h3>"]
        board.append(_table(cov_header, cov_rows))
    header, groups = group_table(results)
    if groups:
        board += ["<h3>By category</h3>", _table(header, groups)]
    models = "".join(
        f"<li><code>{html.escape(alias)}</code>: {html.escape(model_summary(fp))}</li>"
        for alias, fp in results.models.items()
    )
    board.append(f"<h3>Models</h3><ul>{models}</ul>")
    sections.append(("leaderboard", "Leaderboard", "".join(board)))
    if results.probe:
        rows = [
            (
                alias,
                str(r.get("path")),
                str(r.get("declared")),
                str(r.get("sent")),
                f"{r.get('correct')}/{r.get('n')} (chance {float(r.get('chance', 0)):.2f})",
                str(r.get("verdict")) + (f": {r['why']}" if r.get("why") else ""),
            )
            for alias, paths in results.probe.items()
            for r in paths
        ]
        header_probe = ("model", "path", "declared", "sent", "correct", "verdict")
        sections.append(("probe", "Wiring probe", _table(header_probe, rows, "probe-table")))
    plots = (
        charts.score_bars(results)
        + charts.ablation_deltas(results)
        + charts.tree_radar(results)
        + charts.aa_acr(results)
    )
    if plots:
        sections.append(("plots", "Plots", f'<div class="charts">{"".join(plots)}</div>'))
    if results.acuity:
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in acuity_lines(results))
        curves = "".join(charts.acuity_curves(results.acuity))
        sections.append(
            (
                "acuity",
                "Temporal acuity",
                f"<ul>{lines}</ul><div class='charts'>{curves}</div><p>PSS: the point of "
                "subjective simultaneity; JND: the half-width of the fitted simultaneity window "
                "(95% bootstrap intervals).</p>",
            )
        )
    if ratings:
        header_r = ("rater", "model", "task", "condition", "mean rating (1-5)", "n")
        rows_r = [
            (
                str(r["rater"]),
                str(r["model"]),
                str(r["task"]),
                str(r["condition"]),
                f"{r['mean']:.2f}",
                str(r["n"]),
            )
            for r in ratings
        ]
        sections.append(("ratings", "Human ratings", _table(header_r, rows_r, "ratings-table")))
    if with_browser:
        sections.append(("browser", "Samples", _samples_section()))
    nav = "".join(f'<a href="#{ident}">{html.escape(name)}</a>' for ident, name, _ in sections)
    body = "".join(
        f'<section id="{ident}"><h2>{html.escape(name)}</h2>{content}</section>'
        for ident, name, content in sections
    )
    meta = (
        f"{totals.trials} trials · {totals.answered} answered · {totals.failed} failed · "
        f"{totals.unsupported} unsupported · {totals.scoring_errors} scoring errors"
    )
    name = title or f"omnieval: {results.run}"
    head = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(name)}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{_asset('report.css')}</style></head><body>"
        f"<header><h1>{html.escape(name)}</h1><div class='meta'>{html.escape(meta)}</div></header>"
        f"<nav>{nav}</nav>{body}"
        '<script type="application/json" id="omnieval-data">'
    )
    return head, f"</script><script>{_asset('report.js')}</script></body></html>\n"


def _has_media(row: Mapping[str, Any]) -> bool:
    parts = (row.get("request") or {}).get("parts") or []
    return any("kind" in part for part in parts)


def _samples_section() -> str:
    columns = ("model", "task", "sample", "condition", "outcome", "extraction", "rule", "scores")
    head = "".join(f"<th>{c}</th>" for c in columns)
    return (
        '<div id="filters"></div><div class="pager"><span id="sample-count"></span> '
        '<button id="prev-page" type="button">◀</button><span id="page-info"></span>'
        '<button id="next-page" type="button">▶</button></div>'
        f'<table id="samples"><thead><tr>{head}</tr></thead><tbody></tbody></table>'
        '<div id="detail" hidden></div>'
    )


SamplesSource = (
    Mapping[str, Mapping[str, Sample]] | Callable[[], Mapping[str, Mapping[str, Sample]]]
)


def write_report(
    run_dir: Path,
    results: RunResults,
    samples: SamplesSource,
    embed_media: bool = False,
    out: Path | None = None,
) -> Path:
    """Write report.html (or `out`) from the run's results and samples.jsonl. `samples` gives
    the media paths; a callable is only called when some trial had media.

    The page is the text `render_report` makes, written as it is made: samples.jsonl is read
    once, row by row, and each browser row goes to the file at once (the media lists, which
    follow the rows, are made at the end), so a run of any size needs memory for its prompts
    and media lists only, not for every row several times over."""
    target = out or run_dir / REPORT
    url: MediaUrl = embedded_url if embed_media else relative_url(target.parent.resolve())
    rows_path = run_dir / rundir.SAMPLES
    rows = _MediaSeen(read_sample_rows(rows_path) if rows_path.is_file() else ())
    head, tail = _page_around_data(results, True, results.human_ratings, None)
    index = BrowserIndex(url)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as page:
        page.write(head)
        page.write(f'{{"run":{_json_script(results.run)},"browser":{{"columns":')
        page.write(_json_script(list(COLUMNS)))
        page.write(',"rows":')
        _write_json_list(page, browser_rows(rows, run_dir.resolve(), url, index))
        if callable(samples):
            samples = samples() if rows.any_media else {}
        page.write(',"prompts":')
        _write_json_list(page, index.prompts)
        page.write(',"media":')
        _write_json_list(page, index.media(samples))
        page.write("}}")
        page.write(tail)
    os.replace(tmp, target)
    return target


class _MediaSeen:
    """Rows passed through, noting whether any sent media (`_has_media`)."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self._rows = rows
        self.any_media = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self._rows:
            if not self.any_media and _has_media(row):
                self.any_media = True
            yield row


def _write_json_list(out: TextIO, items: Iterable[Any]) -> None:
    """`_json_script(list(items))`, written item by item (the same text: JSON lists join their
    items with "," and no item's text begins or ends inside a "</")."""
    out.write("[")
    for i, item in enumerate(items):
        if i:
            out.write(",")
        out.write(_json_script(item))
    out.write("]")
