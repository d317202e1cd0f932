"""Logging set-up: a log file under HOME/logs in which ID numbers, credit codes and phone numbers never appear in clear."""
from __future__ import annotations

import logging
from pathlib import Path

from classify.identifiers import mask_text


class MaskingFilter(logging.Filter):
    """Rewrites every record's message with identifiers masked (region and last four kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        return True


def configure(home: Path, verbose: bool = False) -> Path:
    path = home / "logs" / "edossier.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("edossier")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.handlers.clear()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(MaskingFilter())
    root.addHandler(handler)
    return path
