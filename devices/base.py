"""What every capture device has in common: a page as captured, with where it came from; the device's state; and
the one small interface each adapter (SANE, eSCL, document camera) implements. Hot folders deliver files, not
captures, and have their own shape in `devices/hotfolder.py`.

Adapters know nothing of stacks, cases or the catalogue: a scan session (`ingest/scan.py`) takes what `feed`
yields and hands each page to the pipeline as soon as it is captured.
"""
from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Protocol

from PIL import Image, PngImagePlugin


class DeviceState(str, Enum):
    READY = "ready"
    BUSY = "busy"
    JAMMED = "jammed"
    COVER_OPEN = "cover open"
    FEEDER_EMPTY = "feeder empty"
    OFFLINE = "offline"


# What the operator is told, and may do, for each state a scan can end in.
ADVICE = {
    DeviceState.JAMMED: "paper jam: clear the feeder and put the sheets not yet scanned back on top",
    DeviceState.COVER_OPEN: "the cover or feeder door is open: close it",
    DeviceState.FEEDER_EMPTY: "the feeder is empty: load the stack",
    DeviceState.BUSY: "the device is busy with another job: wait, then try again",
    DeviceState.OFFLINE: "the device does not answer: check its power and cable or network",
}


class DeviceError(Exception):
    """A scan stopped for a reason at the device. Pages yielded before it are the operator's: they are kept."""

    def __init__(self, state: DeviceState, detail: str = ""):
        self.state = state
        self.detail = detail
        super().__init__(f"{ADVICE.get(state, state.value)}" + (f" ({detail})" if detail else ""))


class NoPageFound(DeviceError):
    """A document camera watched its whole input and never saw a page it could capture."""

    def __init__(self, detail: str = "no page found in the camera's view"):
        super().__init__(DeviceState.READY, detail)
        self.args = (detail,)


@dataclass(frozen=True)
class ScanSettings:
    source: str = "adf"               # adf | flatbed | camera
    dpi: int = 300
    mode: str = "gray"                # color | gray | lineart
    duplex: bool = False              # the device turns each sheet itself (not the flip-the-stack collation)
    area_mm: tuple[float, float, float, float] | None = None   # left, top, right, bottom; None: the whole area
    at_once: bool = False             # cameras: capture the page in view now, on command, without waiting for it to
                                      # lie still


@dataclass(frozen=True)
class Capture:
    """One page as captured: encoded image bytes and their provenance."""
    data: bytes
    suffix: str                       # .png .jpg .pdf: what the bytes are
    device: str
    source: str                       # adf | flatbed | camera | folder
    side: str = "front"               # front | back
    sheet: int = 1                    # sheet number within the pass, from 1
    dpi: int | None = None
    captured_at: float = field(default_factory=time.time)

    def provenance(self) -> dict:
        values = asdict(self)
        del values["data"], values["suffix"]
        return values


@dataclass(frozen=True)
class DeviceInfo:
    id: str
    kind: str                         # sane | escl | camera | folder
    address: str
    state: DeviceState
    detail: str = ""
    capabilities: dict = field(default_factory=dict)   # sources, modes, resolutions, duplex

    def as_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "address": self.address, "state": self.state.value,
                "detail": self.detail, "capabilities": self.capabilities}


class Device(Protocol):
    id: str

    def info(self) -> DeviceInfo:
        """Capabilities and the state now; never raises for an unreachable device (its state is offline)."""

    def feed(self, settings: ScanSettings) -> Iterator[Capture]:
        """One pass: yield each page the moment it is captured; end when the feeder is empty (or, flatbed and
        camera, after one page). Raises DeviceError for a device condition, after the pages already yielded."""

    def close(self) -> None:
        """Release the device (and cancel any job still open on it)."""


def png_capture(image: Image.Image, *, device: str, source: str, side: str = "front", sheet: int = 1,
                dpi: int | None = None) -> Capture:
    """Encode a captured image as PNG with its provenance in the file's text chunks and its resolution set, so the
    file itself says where it came from (and two sheets of the same picture are never the same bytes)."""
    captured_at = time.time()
    meta = PngImagePlugin.PngInfo()
    for key, value in (("Device", device), ("Source", source), ("Side", side), ("Sheet", str(sheet)),
                       ("CaptureTime", f"{captured_at:.6f}")):
        meta.add_text(key, value)
    out = io.BytesIO()
    extra = {"dpi": (dpi, dpi)} if dpi else {}
    image.save(out, format="PNG", pnginfo=meta, compress_level=1, **extra)   # fast: 60 pages/min at 300 dpi
    return Capture(out.getvalue(), ".png", device, source, side, sheet, dpi, captured_at)
