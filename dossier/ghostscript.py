"""Thin adapter around Ghostscript, the program the archive's PDF/A volumes are written with: where it is, which
version, the sRGB profile it ships, and one conversion run (files in, typed errors out). What to hand it and how its
output is checked is decided in dossier.pdfa."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from config.errors import EdossierError, MissingDependency

INSTALL = "sudo apt-get install ghostscript"
# Ghostscript's own sRGB profile: where Debian's libgs-common (installed with ghostscript) puts it, else in the
# iccprofiles folder of an installed version
ICC_FILES = ("/usr/share/color/icc/ghostscript/srgb.icc", "/usr/share/ghostscript/*/iccprofiles/srgb.icc",
             "/usr/local/share/ghostscript/*/iccprofiles/srgb.icc")
TIMEOUT_S = 600


class GhostscriptFailed(EdossierError):
    """Ghostscript ended with an error or wrote nothing; the message carries what it said."""


@dataclass(frozen=True)
class Ghostscript:
    program: str
    version: tuple[int, ...]
    icc_profile: Path

    @property
    def legacy_interpreter(self) -> bool:
        """Whether to read PDFs with the older, PostScript-based interpreter: in 10.00 (Debian 12's) the newer C
        interpreter drops the ToUnicode map of simple TrueType fonts, so the text of the cover, contents and
        remarks sheet would no longer be searchable. Later versions deprecate, then remove, the old one and are
        run with their default; whatever a version writes is checked against the volume (dossier.pdfa), so a
        version that garbles text stops the archive rather than passing."""
        return self.version < (10, 1)


def find() -> Ghostscript:
    """The installed Ghostscript and its sRGB profile, or MissingDependency naming the command that installs it."""
    program = shutil.which("gs")
    if program is None:
        raise MissingDependency(f"Ghostscript (gs) is missing: archive packages are written as PDF/A with it; "
                                f"install it with `{INSTALL}`")
    version = _version(program)
    icc = _icc_profile()
    if icc is None:
        raise MissingDependency(f"Ghostscript's sRGB ICC profile (srgb.icc) was not found in "
                                f"{', '.join(ICC_FILES)}: install it with `{INSTALL} libgs-common`")
    return Ghostscript(program, version, icc)


def _version(program: str) -> tuple[int, ...]:
    try:
        text = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise MissingDependency(f"{program} does not run ({exc}): reinstall it with `{INSTALL}`") from exc
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _icc_profile() -> Path | None:
    """The first of ICC_FILES that is there."""
    for pattern in ICC_FILES:
        found = sorted(Path("/").glob(pattern.lstrip("/")))
        if found and found[-1].is_file():
            return found[-1]
    return None


def to_pdfa(gs: Ghostscript, source: Path, target: Path, definition: Path, timeout: float = TIMEOUT_S) -> None:
    """Rewrite `source` as PDF/A-2b into `target`. `definition` is the PostScript prefix giving the output intent
    (dossier.pdfa writes it). Images are passed through as they are (JPEG data byte for byte, nothing
    downsampled or re-encoded lossily): the scans are the record."""
    command = [gs.program, "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-dNOOUTERSAVE", "-sDEVICE=pdfwrite",
               "-dPDFA=2", "-dPDFACompatibilityPolicy=1", "-sColorConversionStrategy=RGB",
               f"--permit-file-read={gs.icc_profile}", *_keep_images(),
               *(["-dNEWPDF=false"] if gs.legacy_interpreter else []),
               f"-sOutputFile={target}", str(definition), str(source)]
    try:
        ran = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise GhostscriptFailed(f"Ghostscript did not finish {source.name} within {timeout:.0f} s") from exc
    if ran.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        said = (ran.stderr or ran.stdout).strip().splitlines()[-3:]
        raise GhostscriptFailed(f"Ghostscript could not write {source.name} as PDF/A (exit {ran.returncode}): "
                                + " / ".join(said))


def _keep_images() -> list[str]:
    return ["-dPassThroughJPEGImages=true", "-dPassThroughJPXImages=true",
            "-dDownsampleColorImages=false", "-dDownsampleGrayImages=false", "-dDownsampleMonoImages=false",
            "-dAutoFilterColorImages=false", "-dAutoFilterGrayImages=false",
            "-dColorImageFilter=/FlateEncode", "-dGrayImageFilter=/FlateEncode"]
