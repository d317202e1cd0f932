"""A hot folder into the pipeline: each complete file the folder offers becomes a stack of its own (one scan job of an
MFP, one batch), handed to a sink — the local catalogue or a remote `edossier serve` — and then moved to `done/`;
a file the folder refuses moves to `failed/` with its reason. A sub-folder named after a case files its papers into
that case.

    offer → case from the sub-folder (or --case) → the stack keyed by the file's path and content → the file, durable
    in the sink → the file moved to done/

The stack's key holds the file's content hash, so a watcher killed between the import and the move finds the same
stack on restart, and the pipeline recognises the same bytes at the same place: the file is moved, never imported
twice. A failure of ours or of a server (not of the file) leaves the file where it is, offered again shortly.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from classify.identifiers import parse_case_number
from devices.hotfolder import HotFolder, Offer
from ingest.capture import Sink, StackSpec

log = logging.getLogger("edossier.watch")

RETRY_S = 5.0          # a file whose import failed on our side is offered again this soon


@dataclass(frozen=True)
class Outcome:
    """What became of one file: `taken` into `where`, refused for `reason` (moved to failed/), or left in place
    after an `error` of ours or of a server."""
    file: str
    taken: bool
    case_no: str | None = None
    where: str = ""
    reason: str = ""
    error: bool = False
    key: str = ""                   # the stack's key, as the sink was given it

    def as_json(self) -> dict:
        return {"file": self.file, "taken": self.taken, "case_no": self.case_no, "where": self.where,
                "reason": self.reason, "error": self.error}


def watch(folder: HotFolder, sink: Callable[[], Sink], *, device: str, case_no: str | None = None,
          stop: threading.Event, once: bool = False, told: Callable[[Outcome], None] = lambda o: None,
          every_s: float = 0.2) -> list[Outcome]:
    """Take the folder's files until `stop` is set (or, `once`, until nothing waits any more)."""
    outcomes, later = [], {}
    while not stop.is_set():
        for offer in folder.offers():
            outcome = _take(folder, offer, sink, device, case_no, None if once else later)
            if outcome is not None:
                outcomes.append(outcome)
                told(outcome)
        _release_due(folder, later)
        if once and folder.waiting() == 0 and not later:
            break
        stop.wait(every_s)
    return outcomes


def _take(folder: HotFolder, offer: Offer, sink: Callable[[], Sink], device: str, case_no: str | None,
          later: dict | None) -> Outcome | None:
    if offer.reason:
        folder.failed(offer.path, offer.reason)
        log.warning("hot folder %s: %s refused: %s (moved to failed/)", folder.root, offer.relative, offer.reason)
        return Outcome(str(offer.relative), False, reason=offer.reason)
    case = case_no or case_of(offer.relative)
    try:
        key, where = _import(offer, sink(), device, case)
    except Exception as exc:      # ours or a server's, never the file's: it stays, and is offered again
        log.exception("hot folder %s: %s could not be imported now; it stays where it is", folder.root,
                      offer.relative)
        if later is None:           # a single look: say so, and leave the file for the next one
            return Outcome(str(offer.relative), False, case, reason=f"internal error: {type(exc).__name__}: {exc}"
                           " (the file stays in place; traceback in the log)", error=True)
        later[offer.path] = time.monotonic() + RETRY_S
        return None
    folder.done(offer.path)
    log.info("hot folder %s: %s taken into %s%s", folder.root, offer.relative, where, f" ({case})" if case else "")
    return Outcome(str(offer.relative), True, case, where, key=key)


def _import(offer: Offer, sink: Sink, device: str, case_no: str | None) -> tuple[str, str]:
    data = offer.path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    key = "folder-" + hashlib.sha256(f"{device}\n{offer.relative}\n{digest}".encode()).hexdigest()[:24]
    sink.open(StackSpec(key=key, case_no=case_no, device=device))
    provenance = {"device": device, "source": "folder", "file": str(offer.relative),
                  "captured_at": offer.path.stat().st_mtime}
    sink.put(data, name=offer.path.name, seq=1, source=f"{device}:{offer.relative}", provenance=provenance)
    sink.close()
    return key, sink.where()


def _release_due(folder: HotFolder, later: dict) -> None:
    now = time.monotonic()
    for path, due in list(later.items()):
        if due <= now:
            del later[path]
            if path.exists():
                folder.release(path)


def case_of(relative: Path) -> str | None:
    """The case number a sub-folder's name carries (the outermost one that is a case number), or None."""
    for part in relative.parts[:-1]:
        number = parse_case_number(part, strict=False)
        if number is not None:
            return number.text
    return None
