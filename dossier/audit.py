"""Each case's tamper-evident record: every event that touches it — a file received, a page read, its documents
filed, its dossier built, a receipt, a stage, the case opened — appended once to a per-case hash-chained log in the
catalogue (storage.catalogue.chain_hash: each entry holds the hash of the one before), and the check that recomputes
it: the chain entry by entry against the head the case holds, and the stored bytes every entry names against their
SHA-256. The first mismatch is named.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from storage.catalogue import GENESIS, canonical, chain_hash

CHUNK = 1 << 20


def record_case(ctx, case_no: str, actor: str = "pipeline") -> int:
    """Append what the log of the case does not hold yet: its files, its pages read, its documents as filed now.
    Answers how many entries were added. Safe to call again and from several workers: each key is recorded once."""
    catalogue = ctx.catalogue
    known = {row["key"] for row in catalogue.audit_of_case(case_no)}
    files, pages = catalogue.audit_material(case_no)
    added = 0
    for file in files:
        added += _once(catalogue, case_no, known, f"entry:{file['entry_id']}:received", "file received", file["client"],
                       {"entry": file["entry_id"], "name": file["name"], "sha256": file["sha256"],
                        "size": file["size"]}, file["received_at"])
    for page in pages:
        added += _once(catalogue, case_no, known, f"page:{page['id']}:{page['status']}", f"page {page['status']}",
                       actor, _page_detail(page), page["done_at"])
    documents = [{"id": d["id"], "type": d["type_code"], "volume": d["volume"], "pages": d["page_ids"]}
                 for d in catalogue.documents_of_case(case_no)]
    if documents:
        digest = hashlib.sha256(canonical({"documents": documents}).encode()).hexdigest()
        added += _once(catalogue, case_no, known, f"documents:{digest}", "documents filed", actor,
                       {"documents": documents, "digest": digest})
    return added


def record(ctx, case_no: str, key: str, kind: str, actor: str, detail: dict, at: float | None = None) -> bool:
    """One event of the case (a receipt, a stage, the case opened, the dossier built)."""
    return ctx.catalogue.append_audit(case_no, key, kind, actor, detail, at)


def digest(detail: dict) -> str:
    return hashlib.sha256(canonical(detail).encode("utf-8")).hexdigest()[:16]


def _once(catalogue, case_no: str, known: set, key: str, kind: str, actor: str, detail: dict,
          at: float | None = None) -> int:
    if key in known:
        return 0
    known.add(key)
    return int(catalogue.append_audit(case_no, key, kind, actor, detail, at))


def _page_detail(page: dict) -> dict:
    detail = {"page": page["id"], "entry": page["entry_id"], "index": page["page_index"], "role": page["role"]}
    if page["status"] == "done":
        detail |= {"text_sha256": hashlib.sha256((page["text"] or "").encode("utf-8")).hexdigest(),
                   "pdf": page["pdf_key"]}
    else:
        detail["error"] = page["error"]
    return detail


@dataclass(frozen=True)
class Verdict:
    case_no: str
    entries: int
    blobs: int
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_json(self) -> dict:
        return {"case_no": self.case_no, "ok": self.ok, "entries_checked": self.entries,
                "blobs_checked": self.blobs, "problem": self.problem}


def verify_case(catalogue, blobs, case_no: str) -> Verdict:
    """Recompute the case's chain and the hash of every stored blob its entries name; the first mismatch."""
    rows = catalogue.audit_of_case(case_no)
    case = catalogue.case(case_no) or {}
    problem = _chain_problem(rows, case)
    if problem:
        return Verdict(case_no, len(rows), 0, problem)
    checked = 0
    for row in rows:
        for key, what in _blobs_named(row):
            checked += 1
            problem = _blob_problem(blobs, key, what, row)
            if problem:
                return Verdict(case_no, len(rows), checked, problem)
    return Verdict(case_no, len(rows), checked)


def _chain_problem(rows: list[dict], case: dict) -> str | None:
    prev = GENESIS
    for expected, row in enumerate(rows, 1):
        where = f"audit entry {row['seq']} ({row['kind']}, {row['key']})"
        if row["seq"] != expected:
            return f"audit entry {expected} is missing: entry {row['seq']} follows entry {expected - 1}"
        if row["prev"] != prev:
            return f"{where} does not follow the entry before it: the chain is broken there"
        if chain_hash(row["prev"], row["case_no"], row["seq"], row["key"], row["at"], row["kind"], row["actor"],
                      row["detail"]) != row["hash"]:
            return f"{where} was altered: its hash does not match what it says"
        prev = row["hash"]
    head = (case.get("audit_seq"), case.get("audit_head"))
    last = (rows[-1]["seq"], rows[-1]["hash"]) if rows else (None, None)
    if head != last and head != (None, None):
        return (f"the audit log ends at entry {last[0] or 0}, but the case's head says entry {head[0]}: "
                "entries were removed from its end")
    return None


def _blobs_named(row: dict) -> list[tuple[str, str]]:
    detail = json.loads(row["detail"])
    if row["kind"] == "file received":
        return [(detail["sha256"], f"stored file {detail['name']}")]
    if row["kind"] == "page done" and detail.get("pdf"):
        return [(detail["pdf"], f"stored page {detail['page']} (its searchable PDF)")]
    if row["kind"] == "dossier built":
        return [(key, f"stored {name}") for name, key in sorted(detail.get("blobs", {}).items())]
    return []


def _blob_problem(blobs, key: str, what: str, row: dict) -> str | None:
    digest = hashlib.sha256()
    try:
        with blobs.open_stream(key) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    except Exception as exc:       # gone from the store, or the store refuses it: that is the finding
        return f"{what} (sha256 {key[:12]}…, audit entry {row['seq']}) cannot be read: {type(exc).__name__}: {exc}"
    if digest.hexdigest() != key:
        return f"{what} (sha256 {key[:12]}…, audit entry {row['seq']}) was altered: its bytes no longer match its hash"
    return None
