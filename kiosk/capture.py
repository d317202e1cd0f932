"""Capturing at the kiosk: one pass of the kiosk's feeder scanner or document camera runs beside the page (a thread
per kiosk filing), and every page it yields is stored into the filing the moment it is captured, so the screen,
polling, shows its thumbnail at once. The camera's frames are kept as a live preview while it looks for the page."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from devices.base import DeviceError, ScanSettings
from devices.registry import DEFAULT_SOURCE, declared_devices, open_device
from ingest import filings

log = logging.getLogger("edossier.kiosk")


@dataclass
class Pass:
    device: str
    material: str
    running: bool = True
    pages: int = 0
    error: str | None = None
    preview: bytes | None = None
    done: threading.Event = field(default_factory=threading.Event)


_passes: dict[int, Pass] = {}
_lock = threading.Lock()


def devices(ctx) -> dict[str, str]:
    """What this kiosk can capture with: {'scanner': device id, 'camera': device id} for those it has."""
    chosen = {"scanner": ctx.settings.kiosk.scanner, "camera": ctx.settings.kiosk.camera}
    return {role: device_id for role, device_id in chosen.items() if device_id}


def start(ctx, filing_id: int, role: str, material: str, instead_of: int | None = None) -> Pass:
    """Begin a pass of the kiosk's `role` device ('scanner' or 'camera'); one pass per filing at a time."""
    device_id = devices(ctx).get(role)
    if device_id is None:
        raise filings.FilingRefused(f"this kiosk has no {role}", "本机未配置该设备")
    spec = declared_devices(ctx.settings.devices)[device_id]
    with _lock:
        if (running := _passes.get(filing_id)) is not None and running.running:
            return running
        current = _passes[filing_id] = Pass(device_id, material)
    threading.Thread(target=_run, args=(ctx, filing_id, spec, current, instead_of), daemon=True,
                     name=f"kiosk-capture-{filing_id}").start()
    return current


def state(filing_id: int) -> Pass | None:
    return _passes.get(filing_id)


def forget(filing_id: int) -> None:
    _passes.pop(filing_id, None)


def _run(ctx, filing_id: int, spec, current: Pass, instead_of: int | None) -> None:
    device = open_device(spec)
    if hasattr(device, "preview"):
        device.preview = lambda jpeg: setattr(current, "preview", jpeg)
    settings = ScanSettings(source=spec.source or DEFAULT_SOURCE[spec.kind], dpi=spec.dpi, mode=spec.mode,
                            duplex=spec.duplex)
    try:
        for capture in device.feed(settings):
            filings.add_page(ctx, filing_id, capture.data, material=current.material, source=capture.source,
                             provenance=capture.provenance(), instead_of=instead_of if current.pages == 0 else None)
            current.pages += 1
    except DeviceError as exc:
        current.error = str(exc)
    except filings.FilingRefused as exc:
        current.error = str(exc)
    except Exception:   # a defect of ours: logged with its traceback, told as a failure, never blamed on the paper
        log.exception("kiosk capture on %s for filing %s failed", spec.id, filing_id)
        current.error = "the device could not be used: ask the staff"
    finally:
        device.close()
        current.running = False
        current.done.set()
