"""Cases opened and moved by the court's case-management system, and paper registered as it is received (receipts,
签收单) — from the command line or the HTTP API alike.

Events are idempotent and may come twice or out of order: opening a case again only adds the details it brings,
and a stage reported again keeps the earliest time given for it. The case's stage is the one reached last. Pages
that arrived before their case was opened are already in the catalogue under its number: opening the case shows
them with it, nothing is moved.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from classify.coversheet import receipt_pdf
from classify.identifiers import mask_text, parse_case_number
from classify.taxonomy import Taxonomy
from config.errors import EdossierError, ExitCode
from dossier import audit
from dossier.calendar import WorkCalendar
from dossier.progress import StageRules, UnknownStage
from dossier.receipts import label
from ingest.reports import settle_case


class CaseRefused(EdossierError):
    """An event that cannot be recorded as given (not a case number, an unknown stage, a time not understood)."""
    exit_code = ExitCode.usage


@dataclass(frozen=True)
class Rules:
    stages: StageRules
    calendar: WorkCalendar
    taxonomy: Taxonomy


def rules(settings) -> Rules:
    """The stage rules and the working-day calendar from the `cases` settings section (checked when loaded)."""
    return _rules(settings.stages_file, settings.holidays_file)


@lru_cache(maxsize=4)
def _rules(stages_file: Path | None, holidays_file: Path | None) -> Rules:
    taxonomy = Taxonomy.load()
    try:
        return Rules(StageRules.load(stages_file, taxonomy), WorkCalendar.load(holidays_file), taxonomy)
    except (OSError, ValueError) as exc:
        raise CaseRefused(f"the case rules cannot be read: {exc}") from exc


def case_number(text: str) -> str:
    number = parse_case_number(text, strict=False)
    if number is None:
        raise CaseRefused(f"'{text}' is not a case number, e.g. （2024）浙0803民初1234号")
    return number.text


def open_case(ctx, text: str, *, court: str | None = None, tribunal: str | None = None,
              parties: list[str] | None = None, client: str = "cli") -> dict:
    """Open the case (again): answers {case_no, opened: True when it was not open before, pages already held}."""
    case_no = case_number(text)
    family = rules(ctx.settings.cases).taxonomy.family_of_case_type(parse_case_number(case_no).type_code)
    parties = [p.strip() for p in parties or [] if p and p.strip()] or None
    new = ctx.catalogue.open_case(case_no, family, court=court or None, tribunal=tribunal or None, parties=parties)
    details = {k: v for k, v in (("court", court), ("tribunal", tribunal), ("parties", parties)) if v}
    audit.record(ctx, case_no, "case:opened", "case opened", client, {"family": family})
    if details:
        audit.record(ctx, case_no, f"case:details:{audit.digest(details)}", "case details", client, details)
    settle_case(ctx, case_no)
    held = ctx.catalogue.case_page_counts(case_no)
    return {"case_no": case_no, "opened": new,
            "pages_held": sum(held.get(status, 0) for status in ("done", "pending", "failed"))}


def record_event(ctx, text: str, stage_text: str, at: str | float | None, client: str) -> dict:
    """A stage reached at `at` (ISO date or time, court time when no zone is given; now when None). Answers
    {case_no, stage, at: the time held for the stage (the earliest reported), changed: False for an event that
    changed nothing, stage_now}."""
    case_no = case_number(text)
    found = rules(ctx.settings.cases)
    try:
        stage = found.stages.stage(stage_text)
    except UnknownStage as exc:
        raise CaseRefused(str(exc)) from exc
    when = event_time(at, found.calendar)
    if ctx.catalogue.case(case_no) is None or ctx.catalogue.case(case_no)["opened_at"] is None:
        open_case(ctx, case_no, client=client)   # an event for a case not opened yet opens it: nothing is refused
    changed = ctx.catalogue.record_stage(case_no, stage, when, client)
    audit.record(ctx, case_no, f"stage:{stage}:{when:.3f}", "stage reached", client, {"stage": stage, "at": when})
    settle_case(ctx, case_no)
    reached = ctx.catalogue.stages_of_case(case_no)
    current = found.stages.current(reached)
    return {"case_no": case_no, "stage": stage, "at": iso(reached[stage], found.calendar), "changed": changed,
            "stage_now": current[0] if current else None}


def event_time(at: str | float | None, calendar: WorkCalendar) -> float:
    if at is None or at == "":
        return time.time()
    if isinstance(at, (int, float)):
        return float(at)
    try:
        parsed = dt.datetime.fromisoformat(str(at).strip())
    except ValueError as exc:
        raise CaseRefused(f"--at {at!r}: give a date or a time, e.g. 2026-03-02 or 2026-03-02T15:30") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=calendar.zone)
    return parsed.timestamp()


def iso(at: float | None, calendar: WorkCalendar) -> str | None:
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, calendar.zone).isoformat(timespec="seconds")


def receive(ctx, text: str, type_text: str, pages: int, *, handed_in_by: str | None, at: str | float | None,
            client: str, key: str | None = None) -> dict:
    """Register paper handed in for a case: answers the receipt (with `new`: False when `key` named one already
    registered). The case is opened if it was not."""
    case_no = case_number(text)
    found = rules(ctx.settings.cases)
    code = type_code(found.taxonomy, type_text)
    if pages < 1:
        raise CaseRefused("a receipt counts at least one page")
    if ctx.catalogue.case(case_no) is None or ctx.catalogue.case(case_no)["opened_at"] is None:
        open_case(ctx, case_no, client=client)
    row, new = ctx.catalogue.add_receipt(case_no=case_no, type_code=code, pages=pages,
                                         handed_in_by=(handed_in_by or "").strip() or None,
                                         received_at=event_time(at, found.calendar), client=client, key=key)
    data = receipt_json(row, found)
    audit.record(ctx, case_no, f"receipt:{row['id']}", "receipt", client,
                 {k: data[k] for k in ("receipt", "type_code", "pages", "handed_in_by", "received_at")},
                 row["received_at"])
    settle_case(ctx, case_no)
    return data | {"new": new}


def receipt_json(row: dict, found: Rules) -> dict:
    return {"id": row["id"], "receipt": label(row["id"]), "case_no": row["case_no"], "type_code": row["type_code"],
            "type_name": found.taxonomy.get(row["type_code"]).name.split("/")[0], "pages": row["pages"],
            "handed_in_by": mask_text(row["handed_in_by"] or ""), "received_at": iso(row["received_at"],
                                                                                      found.calendar)}


def receipt_document(ctx, row: dict) -> bytes:
    """The receipt as printed: its PDF, the personal numbers in it masked."""
    found = rules(ctx.settings.cases)
    data = receipt_json(row, found)
    return receipt_pdf(row["case_no"], row["type_code"], data["type_name"], data["receipt"], row["pages"],
                       data["handed_in_by"], data["received_at"].replace("T", " ")[:16], ctx.settings.dossier.court)


def type_code(taxonomy: Taxonomy, given: str) -> str:
    """A document type by its code in any case (evidence, EVIDENCE) or by its Chinese name (证据材料)."""
    wanted = (given or "").strip()
    for code in taxonomy.codes:
        if wanted.upper() == code or wanted in taxonomy.get(code).name.split("/"):
            return code
    raise CaseRefused(f"unknown document type {given!r}: a code or name from config/taxonomy.yaml, e.g. EVIDENCE "
                      "or 证据材料")
