"""An archive package on disk: a folder of volumes whose manifest.json lists every other file in it with its
SHA-256 and size, and the check that recomputes them — a file missing, a file altered, a file present but not
listed are each named. It needs nothing but the folder: a package is checked wherever it was copied to."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MANIFEST = "manifest.json"
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def files_of(folder: Path) -> list[dict]:
    """Every file of the package but its manifest, by path relative to the folder, with its SHA-256 and size."""
    return [{"file": name, "sha256": sha256_of(folder / name), "size": (folder / name).stat().st_size}
            for name in _present(folder)]


def write_manifest(folder: Path, manifest: dict) -> tuple[str, list[dict]]:
    """Write FOLDER/manifest.json — `manifest` with the `files` list of the folder — durably; answers its SHA-256
    and the files it lists."""
    files = files_of(folder)
    data = json.dumps({**manifest, "files": files}, ensure_ascii=False, indent=2).encode("utf-8")
    with open(folder / MANIFEST, "xb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    return hashlib.sha256(data).hexdigest(), files


def _present(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                  if path.is_file() and path.relative_to(folder).as_posix() != MANIFEST)


@dataclass(frozen=True)
class PackageVerdict:
    folder: Path
    manifest_sha256: str | None
    checked: int = 0
    missing: tuple[str, ...] = ()
    altered: tuple[dict, ...] = ()                 # {file, sha256_listed, sha256_found, size_listed, size_found}
    unlisted: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()                 # sentences, in the order found

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def problem(self) -> str | None:
        """The first mismatch found."""
        return self.findings[0] if self.findings else None

    def as_json(self) -> dict:
        return {"package": str(self.folder), "ok": self.ok, "manifest_sha256": self.manifest_sha256,
                "files_checked": self.checked, "missing": list(self.missing), "altered": list(self.altered),
                "unlisted": list(self.unlisted), "problem": self.problem, "findings": list(self.findings)}


def verify_package(folder: Path) -> PackageVerdict:
    """Recompute the SHA-256 of every file manifest.json lists, in its order, and look for files it does not list."""
    path = folder / MANIFEST
    manifest_sha256 = sha256_of(path)
    listed, problem = _listed(path)
    if problem:
        return PackageVerdict(folder, manifest_sha256, findings=(problem,))
    missing, altered, findings = [], [], []
    for entry in listed:
        target = folder / entry["file"]
        if not target.is_file():
            missing.append(entry["file"])
            findings.append(f"{entry['file']} is missing: the manifest lists it")
            continue
        found = {"sha256": sha256_of(target), "size": target.stat().st_size}
        if found["sha256"] != entry["sha256"]:
            altered.append({"file": entry["file"], "sha256_listed": entry["sha256"], "sha256_found": found["sha256"],
                            "size_listed": entry.get("size"), "size_found": found["size"]})
            findings.append(_altered(entry, found))
    names = {entry["file"] for entry in listed}
    unlisted = [name for name in _present(folder) if name not in names]
    findings += [f"{name} is in the package but the manifest does not list it" for name in unlisted]
    return PackageVerdict(folder, manifest_sha256, len(listed), tuple(missing), tuple(altered), tuple(unlisted),
                          tuple(findings))


def _listed(path: Path) -> tuple[list[dict], str | None]:
    """The manifest's `files`, or why they cannot be trusted (not JSON, no list, a path leaving the folder)."""
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as exc:
        return [], f"{MANIFEST} cannot be read: {exc}"
    if not isinstance(files, list) or not all(isinstance(f, dict) and {"file", "sha256"} <= set(f) for f in files):
        return [], f"{MANIFEST} has no list of files with their SHA-256: it is not an archive package's manifest"
    for entry in files:
        name = PurePosixPath(str(entry["file"]))
        if name.is_absolute() or ".." in name.parts or str(name) == MANIFEST:
            return [], f"{MANIFEST} lists {entry['file']}, which is not a file inside the package"
    return files, None


def _altered(entry: dict, found: dict) -> str:
    size = (f", {found['size']} bytes where it had {entry['size']}" if entry.get("size") not in (None, found["size"])
            else "")
    return (f"{entry['file']} was altered: its SHA-256 is {found['sha256'][:16]}…, the manifest lists "
            f"{entry['sha256'][:16]}…{size}")
