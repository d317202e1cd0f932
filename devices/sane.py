"""SANE scanners through pyinsane2 — the only module that imports it.

Each device is driven from a helper process of its own (`SaneScanner` here, `_Backend` there). SANE backends run
their own reader threads and some cancel them asynchronously when a scan stops: a thread cancelled inside the loader
leaves its lock held, and the process that loaded the backend then hangs at its next library load or at exit. Kept
apart, a backend can only ever stall its helper, which is stopped and replaced; the service or command that asked
goes on. The helper also gives each device the one open handle pyinsane2 allows per process.

Two further traps (see DEVICES.md): pyinsane2's default helper-process mode fails on real pages, so its
single-process mode is chosen before it is imported; and options of SANE type FIXED (resolution on some backends,
the scan area on most) take value × 65536, so every value is converted by the option's own type.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Iterator

from devices.base import Capture, DeviceError, DeviceInfo, DeviceState, ScanSettings, png_capture

os.environ.setdefault("PYINSANE_SINGLE_THREAD", "1")

ANSWER_S = 120.0                  # a request the helper has not answered by then: the device is stuck

# SANE status codes (sane.h) and what they mean at the device
_STATES = {3: DeviceState.BUSY, 6: DeviceState.JAMMED, 7: DeviceState.FEEDER_EMPTY, 8: DeviceState.COVER_OPEN,
           9: DeviceState.OFFLINE, 11: DeviceState.OFFLINE, 13: DeviceState.BUSY}
_SOURCE_WORDS = {"adf": ("ADF", "Feeder", "Automatic"), "flatbed": ("Flatbed", "Platen", "Normal")}
_DUPLEX_WORDS = ("Duplex",)
_MODES = {"color": ("Color", "Colour", "RGB"), "gray": ("Gray", "Grey"), "lineart": ("Lineart", "Line art", "Binary")}
A4_MM = (210.0, 297.0)


class SaneHelperFailed(RuntimeError):
    """A defect in the helper (not a device condition): carries the helper's traceback."""


class SaneScanner:
    """A SANE device by name (`test:0`, `fujitsu:fi-7160:1234`). `options` are raw backend options set before
    each scan (vendor options a court's scanner needs: `{"swdespeck": 1}`)."""

    def __init__(self, id: str, name: str, options: dict | None = None):
        self.id, self.name, self.options = id, name, dict(options or {})
        self._lock = threading.Lock()
        self._process = self._conn = None

    # Device ------------------------------------------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        try:
            return self._call("info")
        except DeviceError as exc:   # an unplugged or unknown device is a state to show, not a failure
            return DeviceInfo(self.id, "sane", f"sane:{self.name}", DeviceState.OFFLINE, exc.detail or str(exc))

    def feed(self, settings: ScanSettings) -> Iterator[Capture]:
        self._call("start", settings, self.options)
        try:
            while (capture := self._call("next")) is not None:
                yield capture
        except GeneratorExit:        # the session stopped reading: end the scan at the device
            self._call_quietly("cancel")
            raise

    def close(self) -> None:
        with self._lock:
            if self._process is None:
                return
            try:
                self._conn.send(("quit", ()))
            except OSError:
                pass
            self._stop_helper(wait_s=5.0)

    def set_option(self, name: str, value) -> None:
        """Set one backend option now and for this device's later passes, converting FIXED values (also between
        the pages of a running feed)."""
        self.options[name] = value
        self._call("set", name, value)

    # the helper --------------------------------------------------------------------------------------------------
    def _call(self, command: str, *args):
        with self._lock:
            conn = self._helper()
            try:
                conn.send((command, args))
                if not conn.poll(ANSWER_S):
                    self._stop_helper(wait_s=0)
                    raise DeviceError(DeviceState.OFFLINE, f"no answer from sane:{self.name} in {ANSWER_S:.0f} s")
                kind, *answer = conn.recv()
            except (EOFError, OSError) as exc:
                code = self._stop_helper(wait_s=1.0)
                raise DeviceError(DeviceState.OFFLINE, f"the SANE helper for {self.name} ended (exit {code}); "
                                                       "the device is opened afresh on the next pass") from exc
        if kind == "device":
            raise DeviceError(DeviceState(answer[0]), answer[1])
        if kind == "failed":
            raise SaneHelperFailed(f"sane:{self.name} {command}: {answer[0]}")
        return answer[0]

    def _call_quietly(self, command: str) -> None:
        try:
            self._call(command)
        except (DeviceError, SaneHelperFailed):
            pass

    def _helper(self):
        if self._process is None or not self._process.is_alive():
            self._stop_helper(wait_s=0)
            context = multiprocessing.get_context("spawn")
            self._conn, theirs = context.Pipe()
            self._process = context.Process(target=_serve, args=(theirs, self.id, self.name),
                                            name=f"sane:{self.name}", daemon=True)
            self._process.start()
            theirs.close()
        return self._conn

    def _stop_helper(self, wait_s: float) -> int | None:
        process, self._process = self._process, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if process is None:
            return None
        process.join(wait_s)
        if process.is_alive():
            process.kill()
            process.join()
        return process.exitcode


def _serve(conn, device_id: str, name: str) -> None:
    """The helper: answers requests one at a time, then ends without running exit handlers (a backend's cancelled
    reader thread may hold the loader lock they need)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C at the terminal is for the command, which stops us
    backend = _Backend(device_id, name)
    try:
        while True:
            try:
                command, args = conn.recv()
            except (EOFError, OSError):
                break
            if command == "quit":
                backend.close()
                break
            conn.send(_answer(backend, command, args))
    finally:
        os._exit(0)


def _answer(backend: "_Backend", command: str, args: tuple) -> tuple:
    try:
        return ("ok", getattr(backend, command)(*args))
    except DeviceError as exc:
        return ("device", exc.state.value, exc.detail)
    except Exception:
        return ("failed", traceback.format_exc())


class _Backend:
    """Inside the helper: one SANE device through pyinsane2, one request at a time."""

    def __init__(self, device_id: str, name: str):
        self.id, self.name = device_id, name
        self._scanner = self._session = None
        self._settings = self._source = None
        self._count = 0

    def info(self) -> DeviceInfo:
        address = f"sane:{self.name}"
        try:
            if self._scanner is None and self.name not in {d.name for d in _sane().get_devices()}:
                return DeviceInfo(self.id, "sane", address, DeviceState.OFFLINE,
                                  f"no SANE device {self.name} (`scanimage -L` lists the devices SANE sees)")
            capabilities = _capabilities(self._open())
        except Exception as exc:      # an unplugged or unknown device is a state to show, not a failure
            return DeviceInfo(self.id, "sane", address, DeviceState.OFFLINE, _reason(exc))
        return DeviceInfo(self.id, "sane", address, DeviceState.READY, "", capabilities)

    def start(self, settings: ScanSettings, options: dict) -> None:
        try:
            scanner = self._reopen()
            self._source = _configure(scanner, settings, options)
            self._session = scanner.scan(multiple=self._source != "flatbed")
        except StopIteration as exc:    # sane_start answered NO_DOCS: nothing on the feeder
            raise DeviceError(DeviceState.FEEDER_EMPTY) from exc
        except Exception as exc:
            raise _device_error(exc) from exc
        self._settings, self._count = settings, 0

    def next(self) -> Capture | None:
        """The next page of the running pass, or None at its end."""
        session = self._session
        if session is None or (self._source == "flatbed" and self._count):    # the glass holds one page
            self._session = None
            return None
        try:
            page = _read_page(session)
        except Exception as exc:
            self._session = None
            _cancel(session)
            raise _device_error(exc) from exc
        if page is None:
            self._session = None
            return None
        return self._capture(page)

    def set(self, name: str, value) -> None:
        _set(self._open(), name, value)

    def cancel(self) -> None:
        if self._session is not None:
            _cancel(self._session)
            self._session = None

    def close(self) -> None:
        self.cancel()
        if self._scanner is not None:
            self._scanner._force_close()
        self._scanner = None

    def _capture(self, page) -> Capture:
        duplex = self._settings.duplex and self._source == "adf"
        count = self._count
        sheet, side = (count // 2 + 1, ("front", "back")[count % 2]) if duplex else (count + 1, "front")
        self._count += 1
        return png_capture(page, device=self.id, source=self._source, side=side, sheet=sheet,
                           dpi=self._settings.dpi)

    def _open(self):
        if self._scanner is None:
            self._scanner = _sane().Scanner(name=self.name)
        return self._scanner

    def _reopen(self):
        """Each pass on a freshly opened device, as after loading paper: no state left from the pass before."""
        self._scanner = _sane().Scanner(name=self.name)
        self._scanner._force_close()
        return self._scanner


_ready = False


def _sane():
    global _ready
    import pyinsane2
    if not _ready:
        pyinsane2.init()
        _ready = True
    return pyinsane2


def _read_page(session):
    """Read until one page ends: its image, or None when the feeder ran out (pyinsane2 signals NO_DOCS in
    mid-read as an end with no page, or by StopIteration)."""
    try:
        while True:
            try:
                session.scan.read()
            except EOFError:
                return session.images.pop() if session.images else None
    except StopIteration:
        return None


def _configure(scanner, settings: ScanSettings, options: dict) -> str:
    source = _choose_source(scanner, settings)
    _choose(scanner, "mode", _MODES["gray" if settings.mode == "lineart" else settings.mode])
    if settings.mode == "lineart" and "depth" in scanner.options and not _choose_mode_lineart(scanner):
        _set(scanner, "depth", 1)
    _set(scanner, "resolution", settings.dpi)
    _set_area(scanner, settings.area_mm or (0.0, 0.0, *A4_MM))
    for name, value in options.items():
        _set(scanner, name, value)
    return source


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
