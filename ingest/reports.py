"""Status reports from the catalogue: per case and overall, as data (for --json) and as tables."""
from __future__ import annotations

import time

from rich.cells import cell_len
from rich.table import Table

from classify.identifiers import mask_text
from classify.taxonomy import Taxonomy


def case_status(ctx, case_no: str) -> dict | None:
    """A case's pages and documents; a case whose files are received but not classified yet is shown too."""
    case = ctx.catalogue.case(case_no)
    if case is None and case_no not in ctx.catalogue.routed_case_numbers():
        return None
    documents = ctx.catalogue.documents_of_case(case_no)
    counts = ctx.catalogue.case_page_counts(case_no)
    received = sum(counts.get(s, 0) for s in ("done", "pending", "failed"))
    return {
        "case_no": case_no, "family": case["family"] if case else _family(case_no),
        "pages": {"received": received, "digitised": counts.get("done", 0), "pending": counts.get("pending", 0),
                  "failed": counts.get("failed", 0), "blank": counts.get("blank", 0),
                  "separator": counts.get("separator", 0), "replaced": counts.get("replaced", 0),
                  "removed": counts.get("removed", 0)},
        "digitisation_rate": round(counts.get("done", 0) / received, 4) if received else None,
        "documents": [{"id": d["id"], "volume": d["volume"], "type_code": d["type_code"], "title": d["title"],
                       "pages": len(d["page_ids"]), "page_ids": d["page_ids"], "confidence": d["confidence"], "review": bool(d["review"]),
                       "reason": d["reason"] or "", "corrected": bool(d["corrected"])} for d in documents],
        "quarantined": [_item(q) for q in ctx.catalogue.quarantine_items("open") if q["case_no"] == case_no],
        **_progress(ctx, case_no, case, documents, counts),
    }


def _progress(ctx, case_no: str, case: dict | None, documents: list[dict], counts: dict) -> dict:
    """The case as the case-management system opened it, its stage, and what its dossier still lacks — in words
    an operator can act on."""
    from dossier.progress import progress
    from dossier.receipts import reconcile
    from ingest.cases import iso, rules
    found = rules(ctx.settings.cases)
    receipts = ctx.catalogue.receipts_of_case(case_no)
    made = ctx.catalogue.corrections_of_case(case_no)
    replaced = {c["detail"]["page"]: c["detail"]["by"] for c in made if c["kind"] == "replace"}
    removed = {c["detail"]["page"] for c in made if c["kind"] == "remove"}
    states = reconcile(receipts, ctx.catalogue.pages_around_case(case_no), replaced) if receipts else []
    reached = ctx.catalogue.stages_of_case(case_no)
    family = case["family"] if case else _family(case_no)
    state = progress(found.stages, found.taxonomy, found.calendar, family, reached,
                     {d["type_code"] for d in documents})
    opened_at = case["opened_at"] if case else None
    missing = list(state.missing)
    if opened_at is None:
        missing.insert(0, "case not opened yet: its pages are kept and shown with it when it is opened")
    for status, words in (("pending", "not digitised yet"), ("failed", "in quarantine")):
        if counts.get(status):
            missing.append(f"{counts[status]} page(s) {words}")
    missing += [flag for state in states for flag in state.flags]
    missing += [f"page {c['detail']['page']} marked for rescan ({mask_text(c['detail']['reason'])}, by {c['actor']}): scan the "
                f"sheet again, then `edossier correct replace {c['detail']['page']} --by NEW_PAGE`"
                for c in made if c["kind"] == "rescan" and c["detail"]["page"] not in set(replaced) | removed]
    return {
        "case": {"opened": opened_at is not None, "opened_at": iso(opened_at, found.calendar),
                 "court": case["court"] if case else None, "tribunal": case["tribunal"] if case else None,
                 "parties": [mask_text(p) for p in (case["parties"] or [])] if case else [],
                 "stage": state.stage, "stage_since": iso(state.since, found.calendar),
                 "stages": {stage: iso(at, found.calendar) for stage, at in
                            sorted(reached.items(), key=lambda item: item[1])}},
        "receipts": [state.as_json() | {"received_at": iso(row["received_at"], found.calendar),
                                        "handed_in_by": mask_text(row["handed_in_by"] or "")}
                     for state, row in zip(states, receipts)],
        "missing": missing,
        "missing_types": [list(options) for options in state.missing_types],
        "digitised": not missing and sum(counts.get(s, 0) for s in ("done", "pending", "failed")) > 0,
    }


def settle_case(ctx, case_no: str, now: float | None = None) -> dict:
    """Keep with the case what it proves now — the pages received and scanned, whether it is digitised and its
    dossier usable, each receipt's deadline and when it was found digitised — so the court's figures are read in
    bulk. Called whenever the case's pages, receipts, stage or documents change."""
    from ingest.cases import rules
    found, now = rules(ctx.settings.cases), time.time() if now is None else now
    data = case_status(ctx, case_no)
    received, scanned = _page_proof(data)
    usable = (data["digitised"] and bool(ctx.catalogue.volumes_of_case(case_no))
              and not any(d["review"] for d in data["documents"])
              and not ctx.catalogue.unreadable_pages(case_no, ctx.settings.cases.readable_confidence))
    days = found.stages.deadline_working_days
    corrected_at = max((c["at"] for c in ctx.catalogue.corrections_of_case(case_no)), default=0.0)
    states = [{"id": r["id"], "digitised": r["digitised"], "pages_scanned": r["pages_distinct"],
               "due_at": found.calendar.deadline(_at(r["received_at"]), days),
               "since": _digitised_since(ctx, r, corrected_at, now)} for r in data["receipts"]]
    ctx.catalogue.settle_case_state(case_no, pages_received=received, pages_scanned=scanned,
                                    digitised=data["digitised"], usable=usable, receipts_state=states, at=now)
    return {"pages_received": received, "pages_scanned": scanned, "digitised": data["digitised"], "usable": usable}


def _digitised_since(ctx, receipt: dict, corrected_at: float, now: float) -> float | None:
    """When a digitised receipt became so: its last page read, or the last correction made in the case after
    that (the one that may have completed it)."""
    if not receipt["digitised"]:
        return None
    read = ctx.catalogue.pages_done_at(receipt["page_ids"]) or now
    return max(read, corrected_at)


def _page_proof(data: dict) -> tuple[int, int]:
    """Pages received and pages scanned into the dossier: per receipt its count and its distinct pages read (never
    more than it lists); pages captured without a receipt count as received and, once read, scanned."""
    pages = data["pages"]
    content_done = pages["digitised"] - pages["blank"] - pages["separator"] - pages["replaced"] - pages["removed"]
    captured = content_done + pages["pending"] + pages["failed"]
    tied = sum(r["pages_scanned"] for r in data["receipts"])
    tied_done = sum(r["pages_scanned"] - r["pending"] - r["failed"] for r in data["receipts"])
    received = sum(r["pages_received"] for r in data["receipts"]) + max(0, captured - tied)
    scanned = sum(min(r["pages_distinct"] - r["pending"] - r["failed"], r["pages_received"])
                  for r in data["receipts"]) + max(0, content_done - tied_done)
    return received, max(0, scanned)


def court_report(ctx, start: str | None = None, end: str | None = None, tribunal: str | None = None) -> dict:
    """The court's figures over cases opened or closed from `start` to `end` (dates, court time, both days
    included; by default everything up to today), per case, per tribunal and court-wide. Cases never settled (a
    catalogue upgraded from an earlier layout) are settled first; after that it is a few statements, whatever the
    catalogue's size."""
    import datetime as dt

    from dossier.figures import report
    from ingest.cases import CaseRefused, rules
    found = rules(ctx.settings.cases)
    zone = found.calendar.zone

    def midnight(text: str, after: bool) -> float:
        try:
            day = dt.date.fromisoformat(text.strip())
        except ValueError as exc:
            raise CaseRefused(f"{text!r} is not a date: give YYYY-MM-DD, e.g. 2026-01-01") from exc
        return dt.datetime.combine(day + dt.timedelta(days=int(after)), dt.time(), zone).timestamp()

    today = dt.datetime.now(zone).date().isoformat()
    first, last = midnight(start, False) if start else 0.0, midnight(end or today, True)
    if last <= first:
        raise CaseRefused(f"--to {end} is before --from {start}")
    for case_no in ctx.catalogue.unsettled_cases():
        settle_case(ctx, case_no)
    rows = ctx.catalogue.report_rows(first, last, found.stages.closing, tribunal or None)
    data = report(rows, start=first, end=last, zone=zone)
    return {"period": {"from": start, "to": end or today}, "tribunal": tribunal or None,
            "closing_stage": found.stages.closing_stage,
            "deadline_working_days": found.stages.deadline_working_days,
            "readable_confidence": ctx.settings.cases.readable_confidence, **data}


def alerts(ctx, now: float | None = None) -> list[dict]:
    """Cases an operator must act on: paper received and not digitised by its deadline (the end of the
    `deadline_working_days`-th working day after it was received), and cases lacking documents their stage
    requires. Overdue paper first, the longest overdue first."""
    from ingest.cases import iso, rules
    found, now = rules(ctx.settings.cases), time.time() if now is None else now
    days, listed = found.stages.deadline_working_days, []
    for case_no in ctx.catalogue.cases_followed():
        data = case_status(ctx, case_no)
        for receipt in data["receipts"]:
            due = found.calendar.deadline(_at(receipt["received_at"]), days)
            if not receipt["digitised"] and now >= due:
                listed.append({"case_no": case_no, "kind": "overdue", "receipt": receipt["receipt"],
                               "due": iso(due, found.calendar), "overdue_days": round((now - due) / 86400, 1),
                               "reasons": receipt["flags"]})
        lacking = [line for line in data["missing"] if line.startswith("stage ")]
        if lacking:
            listed.append({"case_no": case_no, "kind": "missing_documents", "stage": data["case"]["stage"],
                           "since": data["case"]["stage_since"], "reasons": lacking})
    return sorted(listed, key=lambda a: (a["kind"] != "overdue", -a.get("overdue_days", 0), a["case_no"]))


def _at(text: str) -> float:
    import datetime as dt
    return dt.datetime.fromisoformat(text).timestamp()


def _family(case_no: str) -> str:
    from dossier.export import family_of
    return family_of(case_no, Taxonomy.load())


def overall_status(ctx) -> dict:
    cases = []
    for case_no in ctx.catalogue.routed_case_numbers():
        data = case_status(ctx, case_no)
        case = ctx.catalogue.case(case_no)
        cases.append({"case_no": case_no, "documents": len(data["documents"]),
                      "in_review": sum(1 for d in data["documents"] if d["review"]), **data["pages"],
                      "digitisation_rate": data["digitisation_rate"],
                      "dossier_current": bool(case) and case["assembled_version"] >= case["version"]})
    unrouted = ctx.catalogue.unrouted_documents()
    return {"cases": cases, "totals": ctx.catalogue.counts(),
            "unrouted_documents": [{"id": d["id"], "title": d["title"], "type_code": d["type_code"]}
                                   for d in unrouted],
            "quarantined": [_item(q) for q in ctx.catalogue.quarantine_items("open")],
            "internal_errors": [{"id": i["id"], "job": i["job"], "args": i["args"], "error": mask_text(i["error"]),
                                 "at": i["at"]} for i in ctx.catalogue.incidents("open")]}


def _item(q: dict) -> dict:
    return {"id": q["id"], "file": mask_text(q["source_path"]), "page": (q["page_index"] + 1) if q["page_index"] is not None
            else None, "code": q["error_code"], "reason": mask_text(q["reason"])}


def render_status(console, data: dict) -> None:
    if "cases" in data:
        _render_overall(console, data)
    else:
        _render_case(console, data)


def _render_overall(console, data: dict) -> None:
    table = Table(title="Cases")
    widest = max((cell_len(c["case_no"]) for c in data["cases"]), default=4)
    table.add_column("case", no_wrap=True, min_width=widest)         # a case number is never cut; others give way
    for column in ("documents", "in review", "received", "digitised", "pending", "failed", "rate"):
        table.add_column(column, overflow="fold")
    for c in data["cases"]:
        rate = f"{c['digitisation_rate']:.0%}" if c["digitisation_rate"] is not None else "-"
        table.add_row(c["case_no"], str(c["documents"]), str(c["in_review"]), str(c["received"]),
                      str(c["digitised"]), str(c["pending"]), str(c["failed"]), rate)
    console.print(table)
    totals = data["totals"]
    if totals["pages_pending"] or totals["files_waiting"]:
        console.print(f"unfinished: {totals['files_waiting']} files waiting to be inspected, "
                      f"{totals['pages_pending']} pages pending — running workers finish them; after an "
                      "interruption, run the same command again")
    console.print(f"unrouted documents: {len(data['unrouted_documents'])} · "
                  f"quarantined: {len(data['quarantined'])} · "
                  f"internal errors holding work back: {len(data['internal_errors'])}")


def _render_case(console, data: dict) -> None:
    table = Table(title=f"{data['case_no']} ({data['family']})")
    for column in ("id", "vol", "type", "title", "pages", "confidence", "review"):
        table.add_column(column)
    for d in data["documents"]:
        table.add_row(str(d["id"]), d["volume"], d["type_code"], d["title"], str(d["pages"]),
                      f"{d['confidence']:.2f}", "yes" if d["review"] else "")
    console.print(table)
    console.print("pages: " + ", ".join(f"{k} {v}" for k, v in data["pages"].items()))
    case = data["case"]
    facts = [f"stage {case['stage']} since {case['stage_since'][:10]}" if case["stage"] else "no stage reported",
             *(f"{k} {case[k]}" for k in ("court", "tribunal") if case[k])]
    console.print("case: " + ", ".join(facts) + (f"; parties {', '.join(case['parties'])}" if case["parties"] else ""))
    if data["digitised"]:
        console.print("[green]digitised[/]: every page read and every document its stage requires is held")
    for line in data["missing"]:
        console.print(f"[yellow]missing[/]: {line}")
