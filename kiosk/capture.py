"""Capturing at the kiosk: one pass of the kiosk's feeder scanner or document camera runs beside the page (a thread
per device), and every page it yields is stored into the filing the moment it is captured, so the screen, polling,
shows its thumbnail at once. The camera's frames are kept as a live preview while it looks for the page.

A pass belongs to one filing: it is cancelled when that person finishes or walks away, when the next person starts,
or after PASS_LIMIT_S, so nothing captured later can land in a filing that is over.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from devices.base import DeviceError, ScanSettings
from devices.registry import DEFAULT_SOURCE, declared_devices, open_device
from ingest import filings

log = logging.getLogger("edossier.kiosk")
PASS_LIMIT_S = 180.0       # a pass still looking for a page this long is ended


@dataclass
class Pass:
    filing_id: int
    device: str
    material: str
    running: bool = True
    pages: int = 0
    error: str | None = None
    preview: bytes | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)

    def over(self) -> bool:
        return self.cancelled.is_set() or time.monotonic() - self.started > PASS_LIMIT_S


_by_device: dict[str, Pass] = {}
_lock = threading.Lock()


def devices(ctx) -> dict[str, str]:
    """What this kiosk can capture with: {'scanner': device id, 'camera': device id} for those it has."""
    chosen = {"scanner": ctx.settings.kiosk.scanner, "camera": ctx.settings.kiosk.camera}
    return {role: device_id for role, device_id in chosen.items() if device_id}


def start(ctx, filing_id: int, role: str, material: str, instead_of: int | None = None) -> Pass:
    """Begin a pass of the kiosk's `role` device ('scanner' or 'camera') for this filing; a pass of the same
    filing still running is answered as it is, one of another filing is cancelled first."""
    device_id = devices(ctx).get(role)
    if device_id is None:
        raise filings.FilingRefused(f"this kiosk has no {role}", "本机未配置该设备")
    with _lock:
        running = _by_device.get(device_id)
        if running is not None and running.running and running.filing_id == filing_id:
            return running
        if running is not None:
            running.cancelled.set()
        current = _by_device[device_id] = Pass(filing_id, device_id, material)
    spec = declared_devices(ctx.settings.devices)[device_id]
    threading.Thread(target=_run, args=(ctx, spec, current, instead_of), daemon=True,
                     name=f"kiosk-capture-{device_id}").start()
    return current


def state(filing_id: int) -> Pass | None:
    """The filing's latest pass, on whichever device."""
    mine = [p for p in list(_by_device.values()) if p.filing_id == filing_id]
    return max(mine, key=lambda p: p.started) if mine else None


def stop(filing_id: int) -> None:
    """The person is done or gone: their passes end, and are forgotten with their previews."""
    with _lock:
        for device_id, current in list(_by_device.items()):
            if current.filing_id == filing_id:
                current.cancelled.set()
                del _by_device[device_id]


def _run(ctx, spec, current: Pass, instead_of: int | None) -> None:
    device = None
    try:
        device = open_device(spec)
        if hasattr(device, "preview"):
            device.preview = lambda jpeg: setattr(current, "preview", jpeg)
            device.cancelled = current.over
        settings = ScanSettings(source=spec.source or DEFAULT_SOURCE[spec.kind], dpi=spec.dpi, mode=spec.mode,
                                duplex=spec.duplex)
        for capture in device.feed(settings):
            if current.over():
                break
            filings.add_page(ctx, current.filing_id, capture.data, material=current.material,
                             source=capture.source, provenance=capture.provenance(),
                             instead_of=instead_of if current.pages == 0 else None)
            current.pages += 1
    except (DeviceError, filings.FilingRefused) as exc:
        current.error = str(exc)
    except Exception:   # a defect of ours: logged with its traceback, told as a failure, never blamed on the paper
        log.exception("kiosk capture on %s for filing %s failed", spec.id, current.filing_id)
        current.error = "the device could not be used: ask the staff 设备无法使用，请联系工作人员"
    finally:
        if device is not None:
            device.close()
        current.running = False
