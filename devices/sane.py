"""SANE scanners through pyinsane2 — the only module that imports it.

Two traps (see DEVICES.md): pyinsane2's default helper-process mode fails on real pages, so its single-process mode
is chosen before it is imported; and options of SANE type FIXED (resolution on some backends, the scan area on
most) take value × 65536, so every value is converted by the option's own type. pyinsane2 holds one device handle
per process: a process scans from one SANE device at a time.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from devices.base import Capture, DeviceError, DeviceInfo, DeviceState, ScanSettings, png_capture

os.environ.setdefault("PYINSANE_SINGLE_THREAD", "1")

_lock = threading.Lock()          # pyinsane2 keeps one open handle per process
_ready = False

# SANE status codes (sane.h) and what they mean at the device
_STATES = {3: DeviceState.BUSY, 6: DeviceState.JAMMED, 7: DeviceState.FEEDER_EMPTY, 8: DeviceState.COVER_OPEN,
           9: DeviceState.OFFLINE, 11: DeviceState.OFFLINE, 13: DeviceState.BUSY}
_SOURCE_WORDS = {"adf": ("ADF", "Feeder", "Automatic"), "flatbed": ("Flatbed", "Platen", "Normal")}
_DUPLEX_WORDS = ("Duplex",)
_MODES = {"color": ("Color", "Colour", "RGB"), "gray": ("Gray", "Grey"), "lineart": ("Lineart", "Line art", "Binary")}
A4_MM = (210.0, 297.0)


def _sane():
    global _ready
    import pyinsane2
    if not _ready:
        pyinsane2.init()
        _ready = True
    return pyinsane2


class SaneScanner:
    """A SANE device by name (`test:0`, `fujitsu:fi-7160:1234`). `options` are raw backend options set before
    each scan (vendor options a court's scanner needs: `{"swdespeck": 1}`)."""

    def __init__(self, id: str, name: str, options: dict | None = None):
        self.id, self.name, self.options = id, name, dict(options or {})
        self._scanner = None

    # Device ------------------------------------------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        try:
            with _lock:
                if self._scanner is None and self.name not in {d.name for d in _sane().get_devices()}:
                    return DeviceInfo(self.id, "sane", f"sane:{self.name}", DeviceState.OFFLINE,
                                      f"no SANE device {self.name} (`scanimage -L` lists the devices SANE sees)")
                scanner = self._open()
                capabilities = _capabilities(scanner)
        except Exception as exc:      # an unplugged or unknown device is a state to show, not a failure
            return DeviceInfo(self.id, "sane", f"sane:{self.name}", DeviceState.OFFLINE, _reason(exc))
        return DeviceInfo(self.id, "sane", f"sane:{self.name}", DeviceState.READY, "", capabilities)

    def feed(self, settings: ScanSettings) -> Iterator[Capture]:
        with _lock:
            try:
                scanner = self._reopen()
                source = self._configure(scanner, settings)
                session = scanner.scan(multiple=source != "flatbed")
            except StopIteration as exc:    # sane_start answered NO_DOCS: nothing on the feeder
                raise DeviceError(DeviceState.FEEDER_EMPTY) from exc
            except Exception as exc:
                raise _device_error(exc) from exc
        yield from self._pages(session, settings, source)

    def close(self) -> None:
        if self._scanner is not None:
            self._scanner._force_close()
        self._scanner = None

    def set_option(self, name: str, value) -> None:
        """Set one backend option now and for this device's later passes, converting FIXED values (also between
        the pages of a running feed)."""
        self.options[name] = value
        _set(self._open(), name, value)

    # inside ------------------------------------------------------------------------------------------------------
    def _open(self):
        if self._scanner is None:
            pyinsane2 = _sane()
            self._scanner = pyinsane2.Scanner(name=self.name)
        return self._scanner

    def _reopen(self):
        """Each pass on a freshly opened device, as after loading paper: no state left from the pass before (the
        process's one handle is closed whichever scanner object opened it)."""
        self._scanner = _sane().Scanner(name=self.name)
        self._scanner._force_close()
        return self._scanner

    def _configure(self, scanner, settings: ScanSettings) -> str:
        source = _choose_source(scanner, settings)
        _choose(scanner, "mode", _MODES["gray" if settings.mode == "lineart" else settings.mode])
        if settings.mode == "lineart" and "depth" in scanner.options and not _choose_mode_lineart(scanner):
            _set(scanner, "depth", 1)
        _set(scanner, "resolution", settings.dpi)
        _set_area(scanner, settings.area_mm or (0.0, 0.0, *A4_MM))
        for name, value in self.options.items():
            _set(scanner, name, value)
        return source

    def _pages(self, session, settings: ScanSettings, source: str) -> Iterator[Capture]:
        count, duplex = 0, settings.duplex and source == "adf"
        try:
            while True:
                try:
                    session.scan.read()
                except EOFError:
                    if not session.images:     # pyinsane2 signals NO_DOCS in mid-read as an end with no page
                        return
                    sheet, side = (count // 2 + 1, ("front", "back")[count % 2]) if duplex else (count + 1, "front")
                    yield png_capture(session.images.pop(), device=self.id, source=source, side=side, sheet=sheet,
                                      dpi=settings.dpi)
                    count += 1
                    if source == "flatbed":
                        return
        except StopIteration:
            return
        except Exception as exc:
            _cancel(session)
            raise _device_error(exc) from exc


def _capabilities(scanner) -> dict:
    options = scanner.options
    sources = [str(s) for s in _constraint(options.get("source"))]
    return {"sources": sorted({kind for kind, words in _SOURCE_WORDS.items()
                               if any(_matches(s, words) for s in sources)}) or ["flatbed"],
            "duplex": any(_matches(s, _DUPLEX_WORDS) for s in sources),
            "modes": [str(m) for m in _constraint(options.get("mode"))],
            "resolutions": _resolutions(options.get("resolution"))}


def _constraint(option) -> list:
    if option is None or not isinstance(option.constraint, (list, tuple)) or not option.constraint:
        return []
    return list(option.constraint) if isinstance(option.constraint, list) else []


def _resolutions(option) -> list[int] | dict:
    if option is None:
        return []
    scale = _scale(option)
    if isinstance(option.constraint, tuple):
        low, high, _ = option.constraint
        return {"min": round(low / scale), "max": round(high / scale)}
    return [round(v / scale) for v in option.constraint or []]


def _matches(value: str, words) -> bool:
    return any(word.lower() in value.lower() for word in words)


def _choose_source(scanner, settings: ScanSettings) -> str:
    wanted = settings.source if settings.source in ("adf", "flatbed") else "flatbed"
    if "source" not in scanner.options:
        return "flatbed"
    choices = [str(s) for s in _constraint(scanner.options["source"])]
    words = _SOURCE_WORDS[wanted]
    if wanted == "adf" and settings.duplex:
        duplex = [c for c in choices if _matches(c, _DUPLEX_WORDS)]
        if duplex:
            scanner.options["source"].value = duplex[0]
            return "adf"
    found = [c for c in choices if _matches(c, words) and not _matches(c, _DUPLEX_WORDS)]
    if not found:
        raise DeviceError(DeviceState.READY, f"the device has no {wanted} source (it offers {', '.join(choices)})")
    scanner.options["source"].value = found[0]
    return wanted


def _choose(scanner, name: str, words) -> None:
    if name not in scanner.options:
        return
    found = [c for c in _constraint(scanner.options[name]) if _matches(str(c), words)]
    if found:
        scanner.options[name].value = found[0]


def _choose_mode_lineart(scanner) -> bool:
    found = [c for c in _constraint(scanner.options["mode"]) if _matches(str(c), _MODES["lineart"])]
    if found:
        scanner.options["mode"].value = found[0]
    return bool(found)


def _scale(option) -> int:
    """FIXED options hold value × 65536 (SANE_FIX); INT options hold the value itself."""
    return 65536 if int(option.val_type) == 2 else 1


def _set(scanner, name: str, value) -> None:
    if name not in scanner.options:
        return
    option = scanner.options[name]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = round(value * _scale(option))
        if isinstance(option.constraint, tuple):
            low, high, _ = option.constraint
            value = max(low, min(high, value))
    option.value = value


def _set_area(scanner, area_mm: tuple[float, float, float, float]) -> None:
    left, top, right, bottom = area_mm
    for name, value in (("tl-x", left), ("tl-y", top), ("br-x", right), ("br-y", bottom)):
        _set(scanner, name, value)


def _cancel(session) -> None:
    try:
        session.scan.cancel()
    except Exception:       # the device already ended the scan itself
        pass


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status", None)
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


def _device_error(exc: Exception) -> DeviceError:
    if isinstance(exc, DeviceError):
        return exc
    state = _STATES.get(_status(exc), DeviceState.OFFLINE)
    return DeviceError(state, _reason(exc))


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text.split(" : ", 1)[-1] if " : " in text else text or type(exc).__name__
