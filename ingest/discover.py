"""Find the stacks of paper in a backlog folder: one sub-folder per case, loose files routed by their content."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from classify.identifiers import parse_case_number
from config.errors import EdossierError, ExitCode

IGNORED = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Stack:
    """Files that were scanned as one pile, in order; `case_no` is None when pages must route themselves."""
    key: str
    files: tuple[Path, ...]
    case_no: str | None
    case_error: str | None = None     # why the folder's name is not a usable case number


class ManifestError(EdossierError):
    exit_code = ExitCode.usage


def read_manifest(path: Path) -> dict[str, str]:
    """CSV with columns `folder,case_no` (a header row is optional)."""
    mapping: dict[str, str] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle):
                if len(row) < 2 or row[0].strip().lower() in ("folder", "文件夹"):
                    continue
                mapping[row[0].strip()] = row[1].strip()
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror}") from exc
    return mapping


def _files_under(folder: Path) -> tuple[Path, ...]:
    return tuple(sorted((p for p in folder.rglob("*") if p.is_file() and _wanted(p)),
                        key=lambda p: str(p.relative_to(folder))))


def _wanted(path: Path) -> bool:
    return path.name not in IGNORED and not path.name.startswith((".", "~$")) and not path.name.endswith(
        (".part", ".tmp", ".crdownload"))


def case_stack(folder: Path, case_text: str, strict: bool) -> Stack:
    number = parse_case_number(case_text, strict=strict)
    key = f"{folder.resolve()}"
    if number is None:
        return Stack(key, _files_under(folder), None,
                     f"folder '{folder.name}' is not a case number: rename it or map it with --manifest")
    return Stack(key, _files_under(folder), number.text)


def discover(root: Path, manifest: dict[str, str] | None = None, strict: bool = True) -> list[Stack]:
    """Sub-folders (sorted) are cases; each loose file at the top is a stack of its own."""
    manifest = manifest or {}
    stacks = [case_stack(folder, manifest.get(folder.name, folder.name), strict)
              for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))]
    loose = sorted(p for p in root.iterdir() if p.is_file() and _wanted(p))
    return stacks + [Stack(str(path.resolve()), (path,), None) for path in loose]


def files_stack(paths: list[Path], case_no: str | None, strict: bool) -> Stack:
    """Files named on the command line, in the order given, as one stack."""
    files: list[Path] = []
    for path in paths:
        files.extend(_files_under(path) if path.is_dir() else (path,))
    key = "import:" + "|".join(str(p.resolve()) for p in files)
    if case_no is None:
        return Stack(key, tuple(files), None)
    number = parse_case_number(case_no, strict=strict)
    if number is None:
        return Stack(key, tuple(files), None, f"'{case_no}' is not a valid case number")
    return Stack(key, tuple(files), number.text)
