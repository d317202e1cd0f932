"""Recognise a received file's type from its first bytes, never from its name."""
from __future__ import annotations

ACCEPTED = "PDF, PNG, JPEG, TIFF, BMP, WebP, GIF"

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"II+\x00", "image/tiff"),      # BigTIFF
    (b"MM\x00+", "image/tiff"),
    (b"BM", "image/bmp"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)

_KNOWN_UNSUPPORTED = (
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000 (JP2)"),
    (b"\xff\x4f\xff\x51", "JPEG 2000 codestream"),
    (b"\x00\x00\x01\x00", "Windows icon (ICO)"),
    (b"PK\x03\x04", "ZIP archive or office document"),
    (b"\xd0\xcf\x11\xe0", "legacy office document"),
)


def sniff(head: bytes) -> tuple[str | None, str]:
    """(media type or None, a description of what was seen) from the first 1 KiB of a file."""
    if b"%PDF-" in head[:1024]:
        return "application/pdf", "PDF"
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type, media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "WebP"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1"):
        return None, "HEIC/HEIF photo"
    for signature, description in _KNOWN_UNSUPPORTED:
        if head.startswith(signature):
            return None, description
    if not head:
        return None, "an empty file"
    return None, "an unrecognised format"
