"""The court's figures as one self-contained HTML page a court leader reads at a glance: the court-wide figures
with their definitions, a bar per tribunal for each figure, the weekly trend, and every case (sortable). Charts are
SVG drawn here; the page needs nothing from the network. Every figure shown carries `data-figure` (where it is in
the JSON report) and `data-value`, so what the page shows can be checked against the JSON.
"""
from __future__ import annotations

import json
from html import escape

from dossier.figures import DEFINITIONS, FIGURES

BAR_W, BAR_GAP, CHART_H = 28, 10, 160
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach((th, column) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], rows = Array.from(body.rows);
  const key = r => { const c = r.cells[column]; return c.dataset.value !== undefined ? parseFloat(c.dataset.value)
                                                                                     : c.textContent; };
  const up = th.dataset.order !== "up"; th.dataset.order = up ? "up" : "down";
  rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (up ? 1 : -1));
  rows.forEach(r => body.appendChild(r));
}));
document.body.dataset.ready = "yes";
"""
STYLE = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
.cards { display: flex; flex-wrap: wrap; gap: 1em; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: .8em 1em; width: 15em; }
.card .value { font-size: 2em; font-weight: bold; } .card .parts { color: #666; }
.card .definition { font-size: .8em; color: #555; }
table { border-collapse: collapse; font-size: .9em; } td, th { border: 1px solid #ddd; padding: .2em .5em; }
th { background: #f3f3f3; cursor: pointer; } td.num { text-align: right; }
.charts { display: flex; flex-wrap: wrap; gap: 2em; } svg text { font-size: 10px; }
"""


def render(data: dict, title: str) -> str:
    period = data["period"]
    head = (f"<h1>{escape(title)}</h1><p>period {escape(str(period['from'] or 'start'))} to "
            f"{escape(str(period['to']))}" + (f", tribunal {escape(data['tribunal'])}" if data["tribunal"] else "")
            + f" · {data['court']['cases']} cases</p>")
    parts = [head, "<h2>Court-wide</h2>", figure_cards(data["court"]["figures"]),
             "<h2>Per tribunal</h2>", _tribunal_table(data["tribunals"]),
             '<div class="charts">', *(tribunal_chart(data["tribunals"], name) for name in FIGURES), "</div>",
             "<h2>Weekly trend (cases by the week they were opened)</h2>", trend_chart(data["weeks"]),
             "<h2>Cases</h2>", _case_table(data["cases"])]
    return ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>" + "".join(parts)
            + f'<script type="application/json" id="report-data">{_embedded(data)}</script>'
            + f"<script>{SORT_SCRIPT}</script></body></html>")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


def _figure(path: str, ratio: dict, tag: str = "span", cls: str = "value") -> str:
    value = "" if ratio["value"] is None else repr(ratio["value"])
    return (f'<{tag} class="{cls}" data-figure="{escape(path)}" data-value="{value}">'
            f"{percent(ratio['value'])}</{tag}>")


def figure_cards(figures: dict) -> str:
    cards = []
    for name in FIGURES:
        title, definition = DEFINITIONS[name]
        ratio = figures[name]
        cards.append(f'<div class="card"><div>{escape(title)}</div>{_figure(f"court.{name}", ratio)}'
                     f'<div class="parts">{ratio["numerator"]} ÷ {ratio["denominator"]}</div>'
                     f'<div class="definition">{escape(definition)}</div></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _tribunal_table(tribunals: list[dict]) -> str:
    rows = [(f"<td>{escape(block['tribunal'] or '(none)')}</td><td class=\"num\" data-value=\"{block['cases']}\">"
             f"{block['cases']}</td>", f"tribunals.{index}", block["figures"]) for index, block in enumerate(tribunals)]
    return _figure_table("tribunals", ("tribunal", "cases"), rows)


def _figure_table(table_id: str, leading: tuple[str, ...], rows: list[tuple[str, str, dict]]) -> str:
    """A sortable table: its leading columns, then one column per figure; rows are (leading cells, where the row's
    figures are in the JSON report, its figures)."""
    head = "".join(f"<th>{escape(name)}</th>" for name in leading) + \
        "".join(f"<th>{escape(DEFINITIONS[n][0])}</th>" for n in FIGURES)
    body = "".join(f"<tr>{cells}" + "".join(_figure(f"{path}.{name}", figures[name], "td", "num") for name in FIGURES)
                   + "</tr>" for cells, path, figures in rows)
    return (f'<table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            "</table>")


def tribunal_chart(tribunals: list[dict], name: str) -> str:
    """One bar per tribunal for a figure, 0–100 %."""
    width = max(1, len(tribunals)) * (BAR_W + BAR_GAP) + 40
    bars = []
    for index, block in enumerate(tribunals):
        value = block["figures"][name]["value"]
        height = 0 if value is None else value * CHART_H
        x = 30 + index * (BAR_W + BAR_GAP)
        label = escape(block["tribunal"] or "(none)")
        bars.append(f'<rect x="{x}" y="{CHART_H - height + 10:.1f}" width="{BAR_W}" height="{height:.1f}" '
                    f'fill="#3b7dd8" data-figure="tribunals.{index}.{name}" data-value="{"" if value is None else value}">'
                    f"<title>{label}: {percent(value)}</title></rect>"
                    f'<text x="{x + BAR_W / 2}" y="{CHART_H + 24}" text-anchor="middle">{label[:6]}</text>')
    axis = (f'<line x1="28" y1="10" x2="28" y2="{CHART_H + 10}" stroke="#999"/>'
            f'<text x="0" y="14">100%</text><text x="8" y="{CHART_H + 10}">0</text>')
    return (f'<figure><figcaption>{escape(DEFINITIONS[name][0])}</figcaption><svg class="chart" '
            f'width="{width}" height="{CHART_H + 30}" role="img">{axis}{"".join(bars)}</svg></figure>')


def trend_chart(weeks: list[dict]) -> str:
    """Per week: coverage, digitisation (cases) and timeliness as lines, 0–100 %."""
    shown = ("coverage", "digitisation_cases", "timeliness")
    colours = {"coverage": "#3b7dd8", "digitisation_cases": "#2a9d55", "timeliness": "#d8832b"}
    step = 48
    width = max(2, len(weeks)) * step + 60
    lines, marks = [], []
    for name in shown:
        points = []
        for index, week in enumerate(weeks):
            value = week["figures"][name]["value"]
            if value is None:
                continue
            x, y = 40 + index * step, CHART_H + 10 - value * CHART_H
            points.append(f"{x},{y:.1f}")
            marks.append(f'<circle cx="{x}" cy="{y:.1f}" r="3" fill="{colours[name]}" '
                         f'data-figure="weeks.{index}.{name}" data-value="{value}">'
                         f"<title>{week['week']} {escape(DEFINITIONS[name][0])}: {percent(value)}</title></circle>")
        lines.append(f'<polyline fill="none" stroke="{colours[name]}" stroke-width="2" points="{" ".join(points)}"/>')
    labels = "".join(f'<text x="{40 + i * step}" y="{CHART_H + 26}" text-anchor="middle">{w["week"][5:]}</text>'
                     for i, w in enumerate(weeks))
    legend = "".join(f'<span style="color:{colours[n]}">■ {escape(DEFINITIONS[n][0])}</span> ' for n in shown)
    return (f'<p>{legend}</p><svg class="chart" id="trend" width="{width}" height="{CHART_H + 34}" role="img">'
            f'<line x1="36" y1="10" x2="36" y2="{CHART_H + 10}" stroke="#999"/>'
            f'{"".join(lines)}{"".join(marks)}{labels}</svg>')


def _case_table(cases: list[dict]) -> str:
    rows = [(f"<td>{escape(case['case_no'])}</td><td>{escape(case['tribunal'] or '')}</td>"
             f"<td>{case['opened_on'] or ''}</td><td>{case['closed_on'] or ''}</td>", f"cases.{index}", case["figures"])
            for index, case in enumerate(cases)]
    return _figure_table("cases", ("case", "tribunal", "opened", "closed"), rows)


def _embedded(data: dict) -> str:
    """The JSON report inside the page, safe in a script element."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
