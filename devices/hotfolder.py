"""Hot folders through watchdog — the only module that imports it. An MFP or a scanning station drops files into a
folder; a file is offered once it is complete: arrived by a rename into place, or unchanged (size and modification
time) for `settle_s`, *and* valid (a PDF ends with %%EOF, an image decodes to its last row). Events are only hints:
inotify reports an aborted copy as closed too, and on CIFS/NFS mounts it sees nothing (`poll=True` uses the polling
observer); a full look every `rescan_s` catches whatever the events missed, and the first look at start-up takes
what a stopped watcher left behind.

The folder keeps its own outcome in sight of the operator: taken files move to `done/`, refused ones to `failed/` with
`NAME.reason.txt` beside them. Importing idempotently is the caller's part (ingest/watch.py): a file offered again
after a crash between import and move is recognised by its content and only moved.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

log = logging.getLogger("edossier.hotfolder")

DONE, FAILED = "done", "failed"
TEMPORARY = (".part", ".tmp", ".crdownload", ".partial", ".swp", "~")     # names writers use before the rename
PDF_TAIL = 2048                   # %%EOF is within the last bytes of a complete PDF (trailing newlines, padding)
INVALID_GRACE = 3                 # a stable file still invalid after this many settle periods is refused
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"BM",
                b"GIF87a", b"GIF89a")


@dataclass(frozen=True)
class Offer:
    """A file ready to import (`reason` None), or to refuse for `reason`."""
    path: Path
    relative: Path
    reason: str | None = None


@dataclass
class _Candidate:
    size: int = -1
    mtime_ns: int = -1
    stable_since: float = 0.0
    renamed: bool = False


@dataclass
class HotFolder:
    root: Path
    poll: bool = False
    settle_s: float = 2.0
    rescan_s: float = 30.0
    poll_s: float = 1.0
    _known: dict[Path, _Candidate] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _observer: object = field(default=None, init=False)
    _rescanned_at: float = field(default=0.0, init=False)

    # the watcher -----------------------------------------------------------------------------------------------
    def start(self) -> "HotFolder":
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver
        self.root = Path(self.root).resolve()
        for sub in (DONE, FAILED):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._observer = PollingObserver(timeout=self.poll_s) if self.poll else Observer()
        self._observer.schedule(_Events(self), str(self.root), recursive=True)
        self._observer.start()
        self.rescan()
        return self

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(10)
            self._observer = None

    def heard(self, path: str, renamed: bool = False) -> None:
        """An event about `path` (from the observer's thread)."""
        file = Path(path)
        if not self._watched(file):
            return
        with self._lock:
            candidate = self._known.setdefault(file, _Candidate())
            candidate.renamed = candidate.renamed or renamed

    def rescan(self) -> None:
        """A full look: every file not yet known becomes a candidate."""
        self._rescanned_at = time.monotonic()
        for folder, dirs, files in os.walk(self.root):
            here = Path(folder)
            if here == self.root:
                dirs[:] = [d for d in dirs if d not in (DONE, FAILED)]
            for name in files:
                if self._watched(here / name):
                    with self._lock:
                        self._known.setdefault(here / name, _Candidate())

    # what the caller asks ----------------------------------------------------------------------------------------
    def offers(self) -> list[Offer]:
        """Files ready now (to import, or to refuse with a reason), oldest first; a file is offered once until it
        is moved (`done` or `failed`) or `release`d."""
        if time.monotonic() - self._rescanned_at >= self.rescan_s:
            self.rescan()
        now, ready = time.monotonic(), []
        with self._lock:
            known = list(self._known.items())
        for path, candidate in known:
            offer = self._look(path, candidate, now)
            if offer is not None:
                ready.append(offer)
        return sorted(ready, key=lambda o: (_mtime(o.path), str(o.relative)))

    def waiting(self) -> int:
        """Files seen and not yet complete."""
        with self._lock:
            return len(self._known)

    def done(self, path: Path) -> Path:
        return self._move(path, DONE)

    def failed(self, path: Path, reason: str) -> Path:
        moved = self._move(path, FAILED)
        moved.with_name(moved.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
        return moved

    def release(self, path: Path) -> None:
        """Offer the file again later (its import could not be done now)."""
        with self._lock:
            self._known[path] = _Candidate()

    # inside ------------------------------------------------------------------------------------------------------
    def _watched(self, path: Path) -> bool:
        try:
            relative = path.resolve().relative_to(self.root)
        except ValueError:
            return False
        parts = relative.parts
        return (bool(parts) and parts[0] not in (DONE, FAILED)
                and not any(p.startswith((".", "~$")) for p in parts)
                and not path.name.endswith(TEMPORARY) and not path.name.endswith(".reason.txt"))

    def _look(self, path: Path, candidate: _Candidate, now: float) -> Offer | None:
        try:
            stat = path.stat()
        except FileNotFoundError:           # renamed away or removed: forget it
            self._forget(path)
            return None
        if not path.is_file():
            self._forget(path)
            return None
        if (stat.st_size, stat.st_mtime_ns) != (candidate.size, candidate.mtime_ns):
            candidate.size, candidate.mtime_ns, candidate.stable_since = stat.st_size, stat.st_mtime_ns, now
            if not candidate.renamed:
                return None
        quiet = now - candidate.stable_since
        if not candidate.renamed and quiet < self.settle_s:
            return None
        reason = invalid(path)
        relative = path.relative_to(self.root)
        if reason is None:
            self._forget(path)
            return Offer(path, relative)
        if candidate.renamed or quiet >= self.settle_s * INVALID_GRACE:
            self._forget(path)
            return Offer(path, relative, reason)
        return None                          # a writer that paused: give it time

    def _forget(self, path: Path) -> None:
        with self._lock:
            self._known.pop(path, None)

    def _move(self, path: Path, where: str) -> Path:
        target = self.root / where / path.relative_to(self.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target = target.with_name(f"{target.stem}.{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}{target.suffix}")
        shutil.move(str(path), str(target))
        self._forget(path)
        return target


def invalid(path: Path) -> str | None:
    """Why the file is not a complete scan, or None: a PDF must end with %%EOF, an image must decode."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
            if head.startswith(b"%PDF-"):
                handle.seek(max(0, path.stat().st_size - PDF_TAIL))
                tail = handle.read()
                return None if b"%%EOF" in tail else "PDF without %%EOF at its end: cut off or still being written"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not head:
        return "empty file"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return _image_problem(path)
    return f"neither a PDF nor an image (it starts with {head[:8]!r}): scanners deliver PDF, TIFF, JPEG or PNG"


def _image_problem(path: Path) -> str | None:
    try:
        with Image.open(path) as image:
            for frame in range(getattr(image, "n_frames", 1)):
                image.seek(frame)
                image.load()
    except Exception as exc:                 # decoders of truncated or damaged files raise anything
        return f"image does not decode: {exc}"
    return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class _Events:
    """watchdog's events turned into hints for the folder."""

    def __init__(self, folder: HotFolder):
        self.folder = folder

    def dispatch(self, event) -> None:
        if event.is_directory:
            if event.event_type in ("created", "moved"):      # a folder moved in brings its files with it
                self.folder.rescan()
            return
        if event.event_type == "moved":
            self.folder.heard(event.dest_path, renamed=True)
        elif event.event_type in ("created", "modified", "closed"):
            self.folder.heard(event.src_path)
