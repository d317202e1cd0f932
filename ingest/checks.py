"""What must be there before any work starts — tesseract and its languages, the second OCR engine when the settings
use it, the dossier fonts — checked once at start-up, so a missing piece stops a command at once with the command
that installs it, not after hours of OCR."""
from __future__ import annotations

from config.settings import Settings
from dossier import sheets
from config.errors import MissingDependency
from ocr import rapid, tesseract


def check_runtime(settings: Settings) -> None:
    tesseract.check_languages(settings.ocr.languages)
    tesseract.glyphless_font()
    if settings.ocr.engine in ("rapidocr", "cascade"):
        rapid.check_installed()
    use_configured_fonts(settings)
    missing = sheets.missing_fonts()
    if missing:
        raise MissingDependency("Chinese fonts for the dossier's cover and contents are missing: "
                                + "; ".join(missing))


def use_configured_fonts(settings: Settings) -> None:
    sheets.use_fonts(settings.dossier.font_heading, settings.dossier.font_text)
