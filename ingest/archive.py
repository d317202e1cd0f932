"""一键归档: a closed case's archive package. Each volume (正卷, and 副卷 when the case has internal material) is bound
with its cover, its contents with page ranges and a remarks sheet saying every volume's pages, who archived the case
and when, then written as PDF/A-2b; manifest.json (the dossier export's, plus the SHA-256 and size of every other
file) completes it. The package is recorded in the catalogue and in the case's audit log with its manifest's hash.
A case not closed yet is archived only by an operator's decision, with the reason, which the remarks sheet gives.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from classify.identifiers import mask_text
from config.errors import EdossierError, ExitCode
from dossier import audit, ghostscript, package, pdfa
from dossier.export import export_case
from dossier.ghostscript import Ghostscript
from dossier.model import ArchiveNote
from dossier.progress import STAGE_NAMES
from ingest.cases import iso, rules
from ingest.reports import case_status

REASON_MAX = 200          # characters: what the remarks sheet holds above its signatures


class ArchiveRefused(EdossierError):
    """An archive that may not be made as asked (a case not closed and not forced, no reason, a folder in use)."""
    exit_code = ExitCode.usage


@dataclass(frozen=True)
class Archived:
    case_no: str
    folder: Path
    archived_at: float
    actor: str
    forced: bool
    reason: str | None
    closed_at: float | None
    digitised: bool
    manifest_sha256: str
    files: tuple[dict, ...]              # {file, sha256, size}, as manifest.json lists them

    def as_json(self, calendar) -> dict:
        """What the command prints: personal numbers in the reason masked."""
        return {"case_no": self.case_no, "folder": str(self.folder), "archived_at": iso(self.archived_at, calendar),
                "actor": self.actor, "forced": self.forced, "reason": mask_text(self.reason) if self.reason else None,
                "closed_at": iso(self.closed_at, calendar), "digitised": self.digitised,
                "manifest_sha256": self.manifest_sha256, "files": list(self.files)}


def archive_case(ctx, case_no: str, out: Path, *, actor: str, force: bool = False, reason: str | None = None,
                 gs: Ghostscript | None = None) -> Archived:
    """Write the case's archive package into OUT (a new or empty folder) and record it."""
    gs = gs or ghostscript.find()
    found = rules(ctx.settings.cases)
    reached = ctx.catalogue.stages_of_case(case_no)
    closed_at = found.stages.closed_at(reached)
    reason = checked_reason(case_no, closed_at, force, reason, found, reached)
    if not ctx.catalogue.documents_of_case(case_no):
        raise ArchiveRefused(f"{case_no} has no documents filed: there is nothing to archive")
    target = empty_folder(Path(out))
    digitised, now = _digitised(ctx, case_no), time.time()
    note = ArchiveNote(actor=actor, at=printed_time(now, found.calendar), forced=closed_at is None, reason=reason)
    digest, files = write_package(ctx, gs, case_no, target, note)
    _record(ctx, case_no, target, note, digitised, digest, files, now)
    return Archived(case_no, target, now, actor, note.forced, reason, closed_at, digitised, digest, tuple(files))


def _record(ctx, case_no: str, target: Path, note: ArchiveNote, digitised: bool, digest: str, files: list[dict],
            at: float) -> None:
    """The package in the catalogue (the court's 单套归档 figure counts it) and in the case's audit log."""
    ctx.catalogue.add_archive(case_no=case_no, archived_at=at, actor=note.actor, forced=note.forced,
                              reason=note.reason, digitised=digitised, manifest_sha256=digest, path=str(target))
    audit.record(ctx, case_no, f"archive:{digest}", "archived", note.actor,
                 {"path": str(target), "manifest_sha256": digest, "forced": note.forced, "reason": note.reason,
                  "digitised": digitised, "files": {f["file"]: f["sha256"] for f in files}}, at)


def checked_reason(case_no: str, closed_at: float | None, force: bool, reason: str | None, found,
                   reached: dict[str, float]) -> str | None:
    """The reason to keep, or why the archive is refused: a case not closed needs an operator's --force with a
    reason; a reason comes only with --force and fits the remarks sheet."""
    reason = " ".join((reason or "").split()) or None
    if force and reason is None:
        raise ArchiveRefused("--force needs --reason \"…\": the remarks sheet and the record say why the case was "
                             "archived before it was closed")
    if reason is not None and not force:
        raise ArchiveRefused("--reason goes with --force (the reason for archiving a case before it is closed)")
    if reason is not None and len(reason) > REASON_MAX:
        raise ArchiveRefused(f"the reason has {len(reason)} characters: say it in at most {REASON_MAX}")
    if closed_at is None and not force:
        raise ArchiveRefused(_not_closed(case_no, found, reached))
    return reason


def _not_closed(case_no: str, found, reached: dict[str, float]) -> str:
    closing = found.stages.closing_stage
    current = found.stages.current(reached)
    now = (f"it is at {current[0]} ({STAGE_NAMES.get(current[0], current[0])}) since "
           f"{iso(current[1], found.calendar)[:10]}" if current else "no stage has been reported for it")
    return (f"{case_no} is not closed: {now}, and a case is archived once it reaches {closing} "
            f"({STAGE_NAMES.get(closing, closing)}). To archive it now, an operator forces it: "
            f"edossier archive \"{case_no}\" --out DIR --force --reason \"…\"")


def empty_folder(out: Path) -> Path:
    """The package's folder, absolute: it must be new or empty, so the package holds nothing but its own files."""
    out = out.expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ArchiveRefused(f"{out} is not an empty folder: give a new or empty folder for the archive package")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _digitised(ctx, case_no: str) -> bool:
    """Whether the case counts as digitised now (every page received read, every receipt matched, every document
    its stage requires held): its package is then its only archival form."""
    status = case_status(ctx, case_no)
    return bool(status and status["digitised"])


def printed_time(at: float, calendar) -> str:
    moment = dt.datetime.fromtimestamp(at, calendar.zone)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def write_package(ctx, gs: Ghostscript, case_no: str, target: Path, note: ArchiveNote) -> tuple[str, list[dict]]:
    """Bind, convert and list the package in a folder beside TARGET, then move it into place whole: an archive that
    fails leaves nothing half-written. Answers the manifest's SHA-256 and the files it lists."""
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.", suffix=".part", dir=target.parent) as tmp:
        bound, staged = Path(tmp) / "bound", Path(tmp) / "package"
        built = export_case(ctx, case_no, bound, archive=note)
        staged.mkdir()
        for _, volume, _ in built.volumes:
            pdfa.convert(gs, volume, staged / volume.name)
        manifest = json.loads((bound / package.MANIFEST).read_text(encoding="utf-8"))
        digest, files = package.write_manifest(staged, manifest)
        _sync(staged, [f["file"] for f in files])
        os.rename(staged, target)            # onto an empty folder too: it is replaced
        _sync(target.parent, [])
    return digest, files


def _sync(folder: Path, names: list[str]) -> None:
    """Flush the files named and the folder itself to disk."""
    for name in names:
        with open(folder / name, "rb") as stream:
            os.fsync(stream.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
