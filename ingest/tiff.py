"""Copy one frame of a multi-page TIFF into a TIFF of its own, byte for byte: no pixel is decoded or re-encoded, so
the copy holds exactly the frame's compressed data (a JPEG-compressed scan stays as small as it was) and decodes to
exactly the frame's pixels."""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
INTEGER_FORMATS = {3: "H", 4: "I", 16: "Q"}
DATA_OFFSETS = {273: 279, 324: 325}            # strip and tile offsets → their byte counts
# Pointers to other directories (reduced images, EXIF, GPS, interoperability) and to free space: a page needs none.
DROPPED_TAGS = {288, 289, 330, 34665, 34853, 40965}
OLD_JPEG_TAGS = {513, 514, 519, 520, 521}      # old-style JPEG points into the file in ways not worth following
MAX_ENTRIES = 4096


class NotCopied(Exception):
    """The frame's directory is not one this module copies faithfully; the caller decodes the frame instead."""


@dataclass(frozen=True)
class Flavour:
    """Byte order and classic or BigTIFF: the copy is written the same way as the file it comes from."""
    order: str          # "<" or ">"
    big: bool

    @property
    def word(self) -> str:
        return "Q" if self.big else "I"

    @property
    def inline(self) -> int:
        return 8 if self.big else 4

    def header(self) -> bytes:
        mark = b"II" if self.order == "<" else b"MM"
        if self.big:
            return mark + struct.pack(self.order + "HHHQ", 43, 8, 0, 16)
        return mark + struct.pack(self.order + "HI", 42, 8)


@dataclass(frozen=True)
class Entry:
    tag: int
    type: int
    count: int
    data: bytes


def frame_directories(handle: BinaryIO, limit: int) -> tuple[Flavour, list[int]]:
    """The file's flavour and the offsets of its first `limit` frame directories, in order."""
    flavour = _flavour(handle)
    offset = _word(flavour, _read_at(handle, 8 if flavour.big else 4, struct.calcsize(flavour.word)))
    offsets: list[int] = []
    while offset and len(offsets) < limit and offset not in offsets:
        offsets.append(offset)
        count = _entry_count(handle, flavour, offset)
        after = offset + _count_size(flavour) + count * _entry_size(flavour)
        offset = _word(flavour, _read_at(handle, after, struct.calcsize(flavour.word)))
    return flavour, offsets


def copy_frame(handle: BinaryIO, flavour: Flavour, offset: int) -> bytes:
    """The frame whose directory is at `offset` as a one-frame TIFF, with every tag of its directory but those
    pointing at other directories."""
    entries = [e for e in _read_entries(handle, flavour, offset) if e.tag not in DROPPED_TAGS]
    if any(e.tag in OLD_JPEG_TAGS or e.type in (13, 18) for e in entries):
        raise NotCopied("old-style JPEG or nested directories")
    by_tag = {e.tag: e for e in entries}
    if len(by_tag) != len(entries):
        raise NotCopied("a tag given twice")
    pieces = {tag: _pieces(handle, flavour, by_tag[tag], by_tag.get(counts))
              for tag, counts in DATA_OFFSETS.items() if tag in by_tag}
    if not pieces:
        raise NotCopied("no strips or tiles")
    return _write(flavour, entries, pieces)


# reading ---------------------------------------------------------------------------------------------------------
def _read_at(handle: BinaryIO, offset: int, size: int) -> bytes:
    """Exactly `size` bytes at `offset`, or NotCopied: hostile files point anywhere."""
    if not 0 <= offset <= offset + size <= handle.seek(0, os.SEEK_END):
        raise NotCopied("a directory points beyond the end of the file")
    handle.seek(offset)
    data = handle.read(size)
    if len(data) != size:
        raise NotCopied("the file ends before the data a directory points at")
    return data


def _flavour(handle: BinaryIO) -> Flavour:
    head = _read_at(handle, 0, 4)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None:
        raise NotCopied("not a TIFF")
    magic = struct.unpack(order + "H", head[2:4])[0]
    if magic not in (42, 43):
        raise NotCopied(f"TIFF version {magic}")
    return Flavour(order, magic == 43)


def _word(flavour: Flavour, raw: bytes) -> int:
    return struct.unpack(flavour.order + flavour.word, raw)[0]


def _count_size(flavour: Flavour) -> int:
    return 8 if flavour.big else 2


def _entry_size(flavour: Flavour) -> int:
    return 20 if flavour.big else 12


def _entry_count(handle: BinaryIO, flavour: Flavour, offset: int) -> int:
    fmt = "Q" if flavour.big else "H"
    count = struct.unpack(flavour.order + fmt, _read_at(handle, offset, _count_size(flavour)))[0]
    if count > MAX_ENTRIES:
        raise NotCopied(f"a directory of {count} entries")
    return count


def _read_entries(handle: BinaryIO, flavour: Flavour, offset: int) -> list[Entry]:
    count = _entry_count(handle, flavour, offset)
    raw = _read_at(handle, offset + _count_size(flavour), count * _entry_size(flavour))
    head = flavour.order + ("HHQ" if flavour.big else "HHI")
    entries = []
    for start in range(0, len(raw), _entry_size(flavour)):
        tag, kind, number = struct.unpack_from(head, raw, start)
        field = raw[start + struct.calcsize(head):start + _entry_size(flavour)]
        entries.append(Entry(tag, kind, number, _value(handle, flavour, kind, number, field)))
    return sorted(entries, key=lambda e: e.tag)


def _value(handle: BinaryIO, flavour: Flavour, kind: int, count: int, field: bytes) -> bytes:
    """The entry's value: in the entry when it fits, else where the entry points."""
    if kind not in TYPE_SIZES:
        raise NotCopied(f"unknown field type {kind}")
    size = TYPE_SIZES[kind] * count
    if size <= flavour.inline:
        return field[:size]
    return _read_at(handle, _word(flavour, field), size)


def _integers(flavour: Flavour, entry: Entry) -> tuple[int, ...]:
    if entry.type not in INTEGER_FORMATS:
        raise NotCopied(f"tag {entry.tag} of type {entry.type}")
    return struct.unpack(flavour.order + INTEGER_FORMATS[entry.type] * entry.count, entry.data)


def _pieces(handle: BinaryIO, flavour: Flavour, offsets: Entry, counts: Entry | None) -> list[bytes]:
    """The compressed strips or tiles the directory points at, read as they are."""
    if counts is None or counts.count != offsets.count:
        raise NotCopied("strip offsets without their byte counts")
    places = zip(_integers(flavour, offsets), _integers(flavour, counts))
    return [_read_at(handle, start, size) for start, size in places]


# writing ---------------------------------------------------------------------------------------------------------
def _write(flavour: Flavour, entries: list[Entry], pieces: dict[int, list[bytes]]) -> bytes:
    """Header, the one directory, the values that do not fit in it, then the strips, offsets pointing at them."""
    word, word_type = flavour.word, 16 if flavour.big else 4          # offsets written as LONG8 or LONG
    entries = [Entry(e.tag, word_type, e.count, bytes(TYPE_SIZES[word_type] * e.count)) if e.tag in pieces else e
               for e in entries]
    area = len(flavour.header()) + _count_size(flavour) + len(entries) * _entry_size(flavour) + struct.calcsize(word)
    placed, position = {}, area
    for entry in entries:
        if len(entry.data) > flavour.inline:
            placed[entry.tag] = position
            position += len(entry.data) + len(entry.data) % 2
    data_offsets = {}
    for tag, chunks in pieces.items():
        data_offsets[tag] = []
        for chunk in chunks:
            data_offsets[tag].append(position)
            position += len(chunk) + len(chunk) % 2
    entries = [Entry(e.tag, e.type, e.count, struct.pack(flavour.order + word * e.count, *data_offsets[e.tag]))
               if e.tag in pieces else e for e in entries]
    return _assemble(flavour, entries, placed, pieces)


def _assemble(flavour: Flavour, entries: list[Entry], placed: dict[int, int], pieces: dict[int, list[bytes]]) -> bytes:
    head = flavour.order + ("HHQ" if flavour.big else "HHI")
    parts = [flavour.header(), struct.pack(flavour.order + ("Q" if flavour.big else "H"), len(entries))]
    for entry in entries:
        parts.append(struct.pack(head, entry.tag, entry.type, entry.count))
        parts.append(struct.pack(flavour.order + flavour.word, placed[entry.tag]) if entry.tag in placed
                     else entry.data.ljust(flavour.inline, b"\0"))
    parts.append(struct.pack(flavour.order + flavour.word, 0))           # no next directory: one frame
    values = [entry.data for entry in entries if entry.tag in placed]
    for data in values + [chunk for chunks in pieces.values() for chunk in chunks]:
        parts += [data, b"\0" * (len(data) % 2)]
    return b"".join(parts)
