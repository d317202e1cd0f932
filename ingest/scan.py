"""A scan session: one stack from one device, as an operator runs it at the scanning desk, read top to bottom:

    open the stack → pass over the feeder (each page handed to the pipeline as it is captured) → on a jam, an open
    cover, an empty feeder or a busy device: tell the operator, keep what was scanned, resume or stop → with a
    single-sided feeder and duplex paper: turn the stack over and scan the backs, filed between the fronts →
    close the stack → reconcile the count with what was expected

A sheet fed again after a resume (the operator was not sure the last one went through) is recognised by its
picture and not filed twice. Blank backsides are filed like every page: the pipeline keeps them in the record and
leaves them out of the dossier.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image

from devices.base import Capture, Device, DeviceError, ScanSettings
from ingest.capture import Sink, StackSpec
from ocr import likeness
from ocr.preprocess import is_blank

log = logging.getLogger("edossier.scan")


@dataclass(frozen=True)
class Plan:
    """What the operator asked for."""
    settings: ScanSettings
    collate: bool = False            # single-sided feeder, two-sided paper: fronts, then the stack turned over
    expect: int | None = None        # pages expected (from --expect, or the receipt)
    receipt: str | None = None


class Operator(Protocol):
    def captured(self, pages: int, capture: Capture) -> None:
        """A page was handed over (the live count)."""

    def trouble(self, error: DeviceError, pages: int) -> bool:
        """The device stopped: True once the operator has cleared it (resume at the next sheet), False to stop."""

    def turn_over(self, fronts: int) -> bool:
        """The fronts are done: True once the stack is turned over and loaded again, False if there are no backs."""

    def another(self, pages: int) -> bool:
        """Flatbed or camera: True once the next sheet is in place, False when the stack is done."""


@dataclass
class Result:
    where: str = ""
    pages: int = 0                   # pages handed over
    blank_backs: int = 0             # of them, blank backsides (kept in the record, not in the dossier)
    rescans: list[str] = field(default_factory=list)    # sheets fed again after a resume and not filed twice
    troubles: list[str] = field(default_factory=list)   # what the device reported, in order
    stopped: str | None = None       # the device condition the operator stopped at
    expected: int | None = None

    @property
    def counted(self) -> int:
        """Pages that count against the expectation: blank backsides of single-sided paper do not."""
        return self.pages - self.blank_backs

    @property
    def reconciled(self) -> bool | None:
        return None if self.expected is None else self.counted == self.expected

    def verdict(self) -> str:
        if self.expected is None:
            return f"{self.counted} page(s) scanned"
        gap = self.expected - self.counted
        if gap == 0:
            return f"all {self.expected} expected page(s) scanned"
        if gap > 0:
            return f"{gap} page(s) missing: {self.counted} scanned of {self.expected} expected"
        return f"{-gap} page(s) extra: {self.counted} scanned, {self.expected} expected"

    def as_json(self) -> dict:
        return {"where": self.where, "pages": self.pages, "blank_backs": self.blank_backs, "counted": self.counted,
                "expected": self.expected, "reconciled": self.reconciled, "verdict": self.verdict(),
                "rescans": self.rescans, "troubles": self.troubles, "stopped": self.stopped}


def run(device: Device, sink: Sink, spec: StackSpec, plan: Plan, operator: Operator) -> Result:
    result = Result(expected=plan.expect)
    sink.open(spec)
    session = _Session(device, sink, plan, operator, result)
    try:
        fronts = session.one_pass("front")
        if plan.collate and result.stopped is None and fronts and operator.turn_over(fronts):
            session.one_pass("back", fronts=fronts)
    finally:
        sink.close()
        result.where = sink.where()
    log.info("scan session %s on %s: %s%s", spec.key, spec.device, result.verdict(),
             f", stopped: {result.stopped}" if result.stopped else "")
    return result


class _Session:
    def __init__(self, device: Device, sink: Sink, plan: Plan, operator: Operator, result: Result):
        self.device, self.sink, self.plan, self.operator, self.result = device, sink, plan, operator, result
        self.last: np.ndarray | None = None      # thumbnail of the last page filed, for the rescan check

    def one_pass(self, side: str, fronts: int = 0) -> int:
        """Feed until the stack is done or the operator stops; answers the pages filed in this pass."""
        filed, resumed = 0, False
        while True:
            try:
                for capture in self.device.feed(self.plan.settings):
                    first_after_resume, resumed = resumed, False
                    if first_after_resume and self._fed_again(capture):
                        continue
                    self._file(capture, side, filed, fronts)
                    filed += 1
                if self.plan.settings.source in ("flatbed", "camera") and self.operator.another(self.result.pages):
                    continue
                return filed
            except DeviceError as error:
                self.result.troubles.append(f"after {self.result.pages} page(s): {error}")
                log.warning("scan stopped at the device after %d page(s): %s", self.result.pages, error)
                if not self.operator.trouble(error, self.result.pages):
                    self.result.stopped = str(error)
                    return filed
                resumed = True

    def _fed_again(self, capture: Capture) -> bool:
        """The first page after a resume showing the same sheet as the last page filed."""
        if self.last is None or _blank(capture.data):
            return False
        if not likeness.same_sheet(self.last, likeness.thumbnail(capture.data)):
            return False
        self.result.rescans.append(f"sheet {capture.sheet} of the resumed pass repeats the last page filed")
        log.info("a sheet fed again after the resume is not filed twice")
        return True

    def _file(self, capture: Capture, side: str, index: int, fronts: int) -> None:
        seq, sheet = self._position(capture, side, index, fronts)
        provenance = capture.provenance() | {"side": capture.side if side == "front" else "back", "sheet": sheet}
        if self.plan.receipt:
            provenance["receipt"] = self.plan.receipt
        name = f"{capture.device.replace('/', '_')}-{sheet:04d}{'' if provenance['side'] == 'front' else 'b'}" \
               f"{capture.suffix}"
        self.sink.put(capture.data, name=name, seq=seq, provenance=provenance)
        self.result.pages += 1
        if provenance["side"] == "back" and (self.plan.collate or self.plan.settings.duplex) and _blank(capture.data):
            self.result.blank_backs += 1
        self.last = likeness.thumbnail(capture.data)
        self.operator.captured(self.result.pages, capture)

    def _position(self, capture: Capture, side: str, index: int, fronts: int) -> tuple[int, int]:
        """(stack position, sheet number). Collated: fronts at even positions; the backs come off the turned stack
        last sheet first, so the j-th back belongs to sheet fronts − j and goes right after its front."""
        if not self.plan.collate:
            return self.result.pages, capture.sheet
        if side == "front":
            return 2 * index, index + 1
        if index < fronts:
            return 2 * (fronts - 1 - index) + 1, fronts - index
        return 2 * fronts + (index - fronts), index + 1     # more backs than fronts: after the rest, in order


def _blank(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return is_blank(np.asarray(image.convert("L")))
