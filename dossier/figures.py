"""The figures a court reports on its electronic dossiers, computed from what each case carries as proof (the
catalogue's report rows: storage.catalogue.Catalogue.report_rows) — per case, per tribunal and court-wide, with a
weekly trend. Each figure is a ratio kept with its numerator and denominator, and printed beside its definition.

The definitions are the working ones courts use (no national formula is published); they are stated exactly here
and printed with every report, so a figure can always be recounted by hand.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DEFINITIONS = {
    "coverage": ("电子卷宗覆盖率 coverage",
                 "cases opened or closed in the period that have an electronic dossier (at least one volume built) "
                 "÷ cases opened or closed in the period"),
    "digitisation_cases": ("卷宗电子化率 digitisation rate, case level",
                           "cases whose paper received is all scanned and read, every receipt matched with no page "
                           "missing, twice or in review, and every document their stage requires present ÷ cases "
                           "opened or closed in the period"),
    "digitisation_pages": ("卷宗电子化率 digitisation rate, page level",
                           "pages scanned and read (per receipt its distinct pages, at most the count it lists; "
                           "pages captured without a receipt once read) ÷ pages received (per receipt the count it "
                           "lists; pages captured without a receipt), over the same cases"),
    "timeliness": ("随案同步率 timeliness",
                   "receipts received in the period found digitised by their deadline (the end of the working day "
                   "the rules give after the day received) ÷ receipts received in the period that are digitised or "
                   "past their deadline"),
    "usability": ("电子卷宗可用率 usability",
                  "electronic dossiers that are digitised (as above), with no document waiting for review and no "
                  "page whose text was read below the readable confidence ÷ electronic dossiers"),
    "cataloguing_accuracy": ("智能编目准确率 cataloguing accuracy",
                             "documents filed automatically whose type and boundaries no person corrected ÷ "
                             "documents, over the same cases"),
    "single_set_archiving": ("单套归档率 single-set archiving rate",
                             "closed cases archived electronically only (an archive package made while every page "
                             "received was in it) ÷ cases closed by the end of the period (reached the closing "
                             "stage)"),
}
FIGURES = tuple(DEFINITIONS)


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None

    def __add__(self, other: "Ratio") -> "Ratio":
        return Ratio(self.numerator + other.numerator, self.denominator + other.denominator)

    def as_json(self) -> dict:
        return {"value": self.value, "numerator": self.numerator, "denominator": self.denominator}


def case_ratios(row: dict, end: float) -> dict[str, Ratio]:
    """The figures of one case (a report row)."""
    closed = row["closed_at"] is not None and row["closed_at"] < end
    received = row["pages_received"] or 0
    return {
        "coverage": Ratio(int(bool(row["has_dossier"])), 1),
        "digitisation_cases": Ratio(int(bool(row["digitised"])), 1),
        "digitisation_pages": Ratio(min(row["pages_scanned"] or 0, received), received),
        "timeliness": Ratio(int(row["on_time"]), int(row["receipts_decided"])),
        "usability": Ratio(int(bool(row["usable"]) and bool(row["has_dossier"])), int(bool(row["has_dossier"]))),
        "cataloguing_accuracy": Ratio(int(row["documents"]) - int(row["corrected"]), int(row["documents"])),
        "single_set_archiving": Ratio(int(closed and bool(row["archived_electronically"])), int(closed)),
    }


def summed(ratios: list[dict[str, Ratio]]) -> dict[str, Ratio]:
    total = {name: Ratio(0, 0) for name in FIGURES}
    for one in ratios:
        for name in FIGURES:
            total[name] = total[name] + one[name]
    return total


def week_of(at: float, zone: ZoneInfo) -> str:
    year, week, _ = dt.datetime.fromtimestamp(at, zone).isocalendar()
    return f"{year}-W{week:02d}"


def report(rows: list[dict], *, start: float, end: float, zone: ZoneInfo) -> dict:
    """Per case, per tribunal, court-wide and per week (of the case's opening): every figure with its parts."""
    rows = sorted(rows, key=lambda row: (row["tribunal"] or "", row["case_no"]))
    per_case = [(row, case_ratios(row, end)) for row in rows]
    tribunals: dict[str, list] = {}
    weeks: dict[str, list] = {}
    for row, ratios in per_case:
        tribunals.setdefault(row["tribunal"] or "", []).append(ratios)
        if start <= row["opened_at"] < end:
            weeks.setdefault(week_of(row["opened_at"], zone), []).append(ratios)
    return {
        "definitions": {name: {"name": title, "definition": text} for name, (title, text) in DEFINITIONS.items()},
        "court": _block(summed([r for _, r in per_case]), len(per_case)),
        "tribunals": [{"tribunal": name or None, **_block(summed(found), len(found))}
                      for name, found in sorted(tribunals.items())],
        "weeks": [{"week": week, **_block(summed(found), len(found))} for week, found in sorted(weeks.items())],
        "cases": [_case(row, ratios, zone) for row, ratios in per_case],
    }


def _block(ratios: dict[str, Ratio], cases: int) -> dict:
    return {"cases": cases, "figures": {name: ratio.as_json() for name, ratio in ratios.items()}}


def _case(row: dict, ratios: dict[str, Ratio], zone: ZoneInfo) -> dict:
    def day(at):
        return None if at is None else dt.datetime.fromtimestamp(at, zone).date().isoformat()
    return {"case_no": row["case_no"], "tribunal": row["tribunal"], "family": row["family"],
            "opened_on": day(row["opened_at"]), "closed_on": day(row["closed_at"]),
            "has_dossier": bool(row["has_dossier"]), "digitised": bool(row["digitised"]),
            "usable": bool(row["usable"]) and bool(row["has_dossier"]),
            "pages_received": row["pages_received"] or 0, "pages_scanned": row["pages_scanned"] or 0,
            "figures": {name: ratio.as_json() for name, ratio in ratios.items()}}
