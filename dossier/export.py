"""Export a case from the catalogue: volumes in binding order (dossier.assemble) and manifest.json for other tools."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path

from classify.cause import case_cause
from classify.identifiers import parse_case_number
from classify.taxonomy import Taxonomy
from dossier.assemble import assemble_volume
from dossier.model import ArchiveNote, DocumentEntry, VolumeResult, VolumeSpec

MANIFEST_FORMAT = "edossier-manifest/1"
FAMILY_LABELS = {"civil_first": "民事一审", "civil_second": "民事二审", "enforcement": "执行"}


@dataclass(frozen=True)
class CaseExport:
    case_no: str
    folder: Path
    volumes: tuple[tuple[str, Path, int], ...]     # (volume, pdf, physical pages)
    documents: int
    review: int
    pages_received: int
    pages_digitised: int
    excluded: int


def store_dossier(ctx, case_no: str, version: int) -> None:
    """Build the case's volumes and manifest and store them as blobs — unless what they are built from did not
    change since the stored ones were built."""
    fingerprint = case_fingerprint(ctx, case_no)
    case = ctx.catalogue.case(case_no)
    if case["fingerprint"] == fingerprint:
        ctx.catalogue.record_dossier(case_no, version, fingerprint, 0.0, None, None)
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edossier-assemble-") as tmp:
        built = export_case(ctx, case_no, Path(tmp))
        volumes = [(volume, ctx.blobs.put_path(path), pages) for volume, path, pages in built.volumes]
        manifest_key = ctx.blobs.put_path(Path(tmp) / "manifest.json")
    ctx.catalogue.record_dossier(case_no, version, fingerprint, time.perf_counter() - started, manifest_key, volumes)


def case_fingerprint(ctx, case_no: str) -> str:
    """What a dossier is built from: documents (pages, types, titles, review), excluded pages, counts, court."""
    documents = ctx.catalogue.documents_of_case(case_no)
    pages = ctx.catalogue.pages_by_id(pid for d in documents for pid in d["page_ids"])
    state = {
        "court": ctx.settings.dossier.court,
        "documents": [[d["volume"], d["type_code"], d["title"], bool(d["review"]), d["reason"], d["confidence"],
                       [pages[p]["pdf_key"] for p in d["page_ids"]]] for d in documents],
        "excluded": [[r["id"], r["role"], r["error"]] for r in ctx.catalogue.excluded_pages(case_no)],
        "counts": sorted(ctx.catalogue.case_page_counts(case_no).items()),
    }
    return hashlib.sha256(json.dumps(state, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def copy_out(ctx, case_no: str, out: Path) -> CaseExport:
    """Copy the stored volumes and manifest of the case into OUT (built first if they never were)."""
    case = ctx.catalogue.case(case_no)
    if case["manifest_key"] is None or case["assembled_version"] < case["version"]:
        store_dossier(ctx, case_no, case["version"])
        case = ctx.catalogue.case(case_no)
    out.mkdir(parents=True, exist_ok=True)
    volumes = []
    for row in ctx.catalogue.volumes_of_case(case_no):
        target = out / f"{row['volume']}.pdf"
        ctx.blobs.copy_to(row["blob_key"], target)
        volumes.append((row["volume"], target, row["pdf_pages"]))
    for stale in ({"ZJ", "FJ"} - {v for v, _, _ in volumes}):
        (out / f"{stale}.pdf").unlink(missing_ok=True)
    ctx.blobs.copy_to(case["manifest_key"], out / "manifest.json")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return _summary(case_no, out, tuple(sorted(volumes, key=lambda v: v[0] != "ZJ")), manifest)


def _summary(case_no: str, out: Path, volumes, manifest: dict) -> CaseExport:
    documents = [d for v in manifest["volumes"] for d in v["documents"]]
    accounting = manifest["digitisation"]
    return CaseExport(case_no, out, volumes, len(documents), sum(1 for d in documents if d["review"]),
                      accounting["pages_received"], accounting["pages_digitised"], len(manifest["excluded_pages"]))


def export_case(ctx, case_no: str, out: Path, archive: ArchiveNote | None = None) -> CaseExport:
    """Write OUT/ZJ.pdf (and OUT/FJ.pdf when there is internal material) and OUT/manifest.json. Volumes bound for
    an archive package (`archive`) say on their remarks sheets who archived the case, when, and every volume's
    pages."""
    taxonomy = _taxonomy()
    family = family_of(case_no, taxonomy)
    documents = ctx.catalogue.documents_of_case(case_no)
    pages = ctx.catalogue.pages_by_id(pid for doc in documents for pid in doc["page_ids"])
    out.mkdir(parents=True, exist_ok=True)
    bound = volumes_in_order(documents, taxonomy, family)
    if archive is not None:
        archive = replace(archive, volume_pages=tuple((volume, _numbered_pages(ordered, taxonomy))
                                                      for volume, ordered in bound))
    cause = case_cause([pages[pid]["text"] or "" for _, ordered in bound for d in ordered for pid in d["page_ids"]])
    volumes = []
    for volume, ordered in bound:
        left_out = _left_out(ctx, case_no) if volume == "ZJ" else ()
        result = _write_volume(ctx, case_no, volume, family, ordered, pages, taxonomy, out / f"{volume}.pdf",
                               left_out, archive, cause or "")
        volumes.append((volume, ordered, result))
    manifest = build_manifest(ctx, case_no, family, volumes, pages, taxonomy) | {"cause": cause}
    _write_json(out / "manifest.json", manifest)
    return _summary(case_no, out, tuple((v, r.path, r.pages) for v, _, r in volumes), manifest)


@functools.cache
def _taxonomy() -> Taxonomy:
    return Taxonomy.load()


def family_of(case_no: str, taxonomy: Taxonomy) -> str:
    number = parse_case_number(case_no, strict=False)
    return taxonomy.family_of_case_type(number.type_code if number else "")


def volumes_in_order(documents: list[dict], taxonomy: Taxonomy, family: str) -> list[tuple[str, list[dict]]]:
    """(volume, its documents in binding order) for each volume the case has documents in, ZJ first."""
    return [(volume, ordered) for volume in ("ZJ", "FJ")
            if (ordered := _binding_order([d for d in documents if d["volume"] == volume], taxonomy, family, volume))]


def _binding_order(documents: list[dict], taxonomy: Taxonomy, family: str, volume: str) -> list[dict]:
    return sorted(documents, key=lambda d: (taxonomy.sort_key(family, volume, d["type_code"]),
                                            d["received_order"], d["id"]))


LEFT_OUT_REASONS = {"blank": "空白页（扫描件背面等无内容页）", "separator": "分隔页（扫描用，不属卷宗材料）",
                    "failed": "未能数字化的页（在隔离区待处理）",
                    "replaced": "经重新扫描替换的原扫描页（原件保留于记录）",
                    "removed": "经人工移除的页（如同一页重复扫描，保留于记录）"}


def _left_out(ctx, case_no: str) -> tuple[tuple[str, int], ...]:
    """Why pages of the case are not in its volumes, with counts, for the 备考表."""
    counts: dict[str, int] = {}
    for row in ctx.catalogue.excluded_pages(case_no):
        why = "failed" if row["error"] else row["role"]
        counts[why] = counts.get(why, 0) + 1
    return tuple((LEFT_OUT_REASONS.get(why, why), n) for why, n in sorted(counts.items()))


def _write_volume(ctx, case_no, volume, family, documents, pages, taxonomy, path: Path,
                  left_out: tuple[tuple[str, int], ...] = (), archive: ArchiveNote | None = None,
                  cause: str = "") -> VolumeResult:
    """The volume's page PDFs are checked out together and only while the volume is bound (its pages are read
    when it is written), then let go."""
    keys = list(dict.fromkeys(pages[pid]["pdf_key"] for d in documents for pid in d["page_ids"]))
    with ctx.blobs.checkout(keys) as paths:
        files = dict(zip(keys, paths))
        entries = tuple(_entry(d, pages, taxonomy, files) for d in documents)
        spec = VolumeSpec(case_no=case_no, volume=volume, court=ctx.settings.dossier.court, cause=cause,
                          case_family_label=FAMILY_LABELS.get(family, family), documents=entries,
                          produced_on=date.today(), left_out=left_out, archive=archive)
        return assemble_volume(spec, path)


def _entry(document: dict, pages: dict, taxonomy: Taxonomy, files: dict[str, Path]) -> DocumentEntry:
    code = document["type_code"]
    known = code in taxonomy.codes
    return DocumentEntry(
        title=document["title"], type_code=code, type_name=taxonomy.get(code).name if known else "未识别材料",
        page_pdfs=tuple(files[pages[pid]["pdf_key"]] for pid in document["page_ids"]),
        numbered=numbered(code, taxonomy), review=bool(document["review"]))


def numbered(code: str, taxonomy: Taxonomy) -> bool:
    """Whether a document of this type gets archival page numbers (an unknown type does)."""
    return taxonomy.get(code).numbered if code in taxonomy.codes else True


def _numbered_pages(documents: list[dict], taxonomy: Taxonomy) -> int:
    """The archival pages of a volume of these documents, as its cover and remarks sheet count them."""
    return sum(len(d["page_ids"]) for d in documents if numbered(d["type_code"], taxonomy))


def build_manifest(ctx, case_no, family, volumes, pages, taxonomy) -> dict:
    return {
        "format": MANIFEST_FORMAT,
        "case_no": case_no,
        "case_family": family,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "volumes": [_volume_manifest(v, docs, result, pages, taxonomy) for v, docs, result in volumes],
        "excluded_pages": _excluded(ctx, case_no),
        "digitisation": _accounting(ctx, case_no),
    }


def _volume_manifest(volume, documents, result: VolumeResult, pages, taxonomy) -> dict:
    entries = []
    for document, placed in zip(documents, result.documents):
        entries.append({
            "index": placed.index, "type_code": document["type_code"],
            "type_name": taxonomy.get(document["type_code"]).name if document["type_code"] in taxonomy.codes else "",
            "title": document["title"], "first_page": placed.first_page, "last_page": placed.last_page,
            "review": bool(document["review"]), "confidence": document["confidence"],
            "reason": document["reason"] or "",
            "pages": [_page_manifest(pages[pid]) for pid in document["page_ids"]],
        })
    return {"volume": volume, "file": result.path.name, "pdf_pages": result.pages,
            "numbered_pages": result.numbered_pages, "documents": entries}


def _page_manifest(page: dict) -> dict:
    return {"original_sha256": page["file_sha256"], "original_file": page["file_name"],
            "original_page": page["page_index"] + 1, "text": page["text"] or "",
            "mean_confidence": page["mean_conf"], "rotation": page["rotation"], "skew": page["skew"]}


def _excluded(ctx, case_no: str) -> list[dict]:
    rows = ctx.catalogue.excluded_pages(case_no)
    return [{"original_sha256": r["file_sha256"], "original_file": r["file_name"],
             "original_page": r["page_index"] + 1,
             "reason": r["role"] if r["role"] in ("blank", "separator", "replaced", "removed") and not r["error"]
             else "failed: " + (r["error"] or "")} for r in rows]


def _accounting(ctx, case_no: str) -> dict:
    counts = ctx.catalogue.case_page_counts(case_no)
    received = sum(counts.get(s, 0) for s in ("done", "pending", "failed"))
    done = counts.get("done", 0)
    return {"pages_received": received, "pages_digitised": done, "pages_pending": counts.get("pending", 0),
            "pages_failed": counts.get("failed", 0), "blank_pages": counts.get("blank", 0),
            "separator_pages": counts.get("separator", 0),
            "rate": round(done / received, 4) if received else None}


def _write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".manifest-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
    os.replace(tmp, path)
