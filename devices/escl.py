"""eSCL (AirScan) network scanners over HTTP — the only module in devices/ that imports httpx.

One pass is one scan job: POST ScanJobs, then GET NextDocument until the device says there are no more pages,
then DELETE the job, always (on errors too, and when the session stops reading): a job left open keeps many
devices busy, and some crash on a second one. What devices do, and what is done about it (see DEVICES.md):
- the Location of a new job often names the wrong host: only its path is kept;
- 503 means "not ready yet": asked again after about a second, a bounded number of times;
- 404 ends the feed after a page; on the first page, and for 409/410, ScannerStatus's AdfState tells an empty
  feeder from a jam or an open door;
- a page may come back as 200 with an empty (or broken) body, a jam mid-page on one real device: that is a device
  error, never a page.
"""
from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx

from devices.base import Capture, DeviceError, DeviceInfo, DeviceState, ScanSettings

SCAN_NS = "http://schemas.hp.com/imaging/escl/2011/05/03"
PWG_NS = "http://www.pwg.org/schemas/2010/12/sm"

TIMEOUT_S = 30.0                  # one request (a page at 600 dpi from a slow device takes a while)
RETRY_S = 1.0                     # pause after a 503
RETRIES = 30                      # 503s in a row before the device is taken to be busy
A4_MM = (210.0, 297.0)

_MODES = {"color": "RGB24", "gray": "Grayscale8", "lineart": "BlackAndWhite1"}
_MODE_NAMES = {value: key for key, value in _MODES.items()}
_SUFFIXES = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
_ADF_STATES = {"ScannerAdfEmpty": DeviceState.FEEDER_EMPTY, "ScannerAdfJam": DeviceState.JAMMED,
               "ScannerAdfDoorOpen": DeviceState.COVER_OPEN, "ScannerAdfMispick": DeviceState.JAMMED,
               "ScannerAdfMultipickDetected": DeviceState.JAMMED, "ScannerAdfInputTrayFailed": DeviceState.JAMMED}


class EsclScanner:
    """An eSCL device by its root URL (`http://192.168.1.40:8080/eSCL`)."""

    def __init__(self, id: str, root_url: str, *, timeout_s: float = TIMEOUT_S, retry_s: float = RETRY_S,
                 retries: int = RETRIES):
        self.id, self.root = id, root_url.rstrip("/")
        self.retry_s, self.retries = retry_s, retries
        parts = urlsplit(self.root)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._timeout_s = timeout_s
        self._http: httpx.Client | None = None
        self._caps: dict | None = None
        self._job: str | None = None        # the path of the job still open at the device

    # Device ------------------------------------------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        address = f"escl:{self.root}"
        try:
            caps = self._capabilities(fresh=True)
            status = self._status()
        except DeviceError as exc:      # unreachable or not an eSCL device: a state to show, not a failure
            return DeviceInfo(self.id, "escl", address, DeviceState.OFFLINE, exc.detail or str(exc))
        state, detail = _device_state(status, has_adf="adf" in caps["sources"])
        public = {key: value for key, value in caps.items() if not key.startswith("_")}
        return DeviceInfo(self.id, "escl", address, state, detail, public)

    def feed(self, settings: ScanSettings) -> Iterator[Capture]:
        caps = self._capabilities()
        source = settings.source if settings.source in ("adf", "flatbed") else "flatbed"
        if source not in caps["sources"]:
            raise DeviceError(DeviceState.READY, f"the device has no {source} source "
                                                 f"(it offers {', '.join(caps['sources']) or 'none'})")
        duplex = settings.duplex and source == "adf"
        if duplex and not caps["duplex"]:
            raise DeviceError(DeviceState.READY, "the device's feeder does not scan both sides")
        dpi = _nearest(settings.dpi, caps["resolutions"])
        fmt = next((f for f in ("image/png", "image/jpeg") if f in caps["formats"]), None)
        if fmt is None:
            raise DeviceError(DeviceState.READY, f"the device offers neither PNG nor JPEG ({caps['formats']})")
        job = self._create_job(_scan_settings(settings, caps, source, duplex, dpi, fmt))
        count = 0
        try:
            while True:
                if source == "flatbed" and count:         # the glass holds one page
                    return
                data, content_type = self._next_document(job, count, source)
                if data is None:
                    return
                suffix = self._check_page(data, content_type, count + 1, adf=source == "adf")
                sheet, side = (count // 2 + 1, ("front", "back")[count % 2]) if duplex else (count + 1, "front")
                count += 1
                yield Capture(data, suffix, self.id, source, side, sheet, dpi)
        except DeviceError as error:
            if error.state is DeviceState.FEEDER_EMPTY and count:     # the feeder ran out: the pass is done
                return
            raise
        finally:          # always, also when the session stops reading (GeneratorExit) or on a device error
            if self._job == job:          # (unless close() has already)
                self._delete(job)

    def close(self) -> None:
        """Cancel the job still open, if any, and drop the connection (a later pass opens a new one)."""
        if self._job is not None:
            self._delete(self._job)
        if self._http is not None:
            self._http.close()
            self._http = None

    # protocol -----------------------------------------------------------------------------------------------------
    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=self._timeout_s, follow_redirects=False)
        return self._http

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        url = path if path.startswith("http") else (self._origin + path if path.startswith("/")
                                                    else f"{self.root}/{path}")
        try:
            return self._client().request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise DeviceError(DeviceState.OFFLINE, f"{method} {url}: {type(exc).__name__}: {exc}") from exc

    def _capabilities(self, fresh: bool = False) -> dict:
        if self._caps is None or fresh:
            answer = self._request("GET", "ScannerCapabilities")
            if answer.status_code != 200:
                raise DeviceError(DeviceState.OFFLINE, f"ScannerCapabilities answered HTTP {answer.status_code}")
            try:
                self._caps = _parse_capabilities(answer.content)
            except ET.ParseError as exc:
                raise DeviceError(DeviceState.OFFLINE, f"ScannerCapabilities is not XML: {exc}") from exc
        return self._caps

    def _status(self) -> dict:
        answer = self._request("GET", "ScannerStatus")
        if answer.status_code != 200:
            raise DeviceError(DeviceState.OFFLINE, f"ScannerStatus answered HTTP {answer.status_code}")
        try:
            root = ET.fromstring(answer.content)
        except ET.ParseError as exc:
            raise DeviceError(DeviceState.OFFLINE, f"ScannerStatus is not XML: {exc}") from exc
        return {"state": _text(root, "State"), "adf": _text(root, "AdfState")}

    def _check_page(self, data: bytes, content_type: str, number: int, *, adf: bool) -> str:
        try:
            return _check_page(data, content_type, number)
        except DeviceError as error:      # a jam the device reports now is the better explanation
            fault = self._fault(error.detail, adf=adf)
            raise (fault if fault.state in (DeviceState.JAMMED, DeviceState.COVER_OPEN) else error) from None

    def _fault(self, why: str, *, adf: bool, empty: bool = False) -> DeviceError:
        """What stopped the job, by ScannerStatus: the feeder's state, else the device's. `empty`: a feeder that
        says nothing of itself is taken to be empty (a 404 on the first page)."""
        try:
            status = self._status()
        except DeviceError as exc:
            return DeviceError(DeviceState.OFFLINE, f"{why}; ScannerStatus unreadable: {exc.detail}")
        state = _ADF_STATES.get(status["adf"] or "") if adf else None
        if state is not None:
            return DeviceError(state, f"{why}; AdfState {status['adf']}")
        if adf and empty:
            return DeviceError(DeviceState.FEEDER_EMPTY, f"{why} on the first page")
        if status["state"] == "Processing":
            return DeviceError(DeviceState.BUSY, f"{why}; the device is processing")
        return DeviceError(DeviceState.OFFLINE, f"{why}; device state {status['state'] or 'unknown'}"
                                                + (f", AdfState {status['adf']}" if status["adf"] else ""))

    def _create_job(self, body: bytes) -> str:
        for attempt in range(self.retries):
            answer = self._request("POST", "ScanJobs", content=body, headers={"Content-Type": "text/xml"})
            if answer.status_code == 201:
                location = answer.headers.get("Location", "")
                path = urlsplit(location).path.rstrip("/")       # the host devices name is often wrong
                if not path:
                    raise DeviceError(DeviceState.OFFLINE, "ScanJobs answered 201 without a Location")
                self._job = path
                return path
            if answer.status_code != 503:
                break
            time.sleep(self.retry_s)
        adf = b">Feeder<" in body
        if answer.status_code == 503:
            raise DeviceError(DeviceState.BUSY, f"ScanJobs answered HTTP 503 {self.retries} times")
        raise self._fault(f"ScanJobs answered HTTP {answer.status_code}", adf=adf)

    def _next_document(self, job: str, count: int, source: str) -> tuple[bytes | None, str]:
        """The next page's bytes and content type, or (None, "") at the end of the feed."""
        adf = source == "adf"
        for attempt in range(self.retries):
            answer = self._request("GET", f"{job}/NextDocument")
            status = answer.status_code
            if status == 200:
                return answer.content, answer.headers.get("Content-Type", "")
            if status == 503:
                time.sleep(self.retry_s)
                continue
            if status == 404 and count:
                return None, ""
            raise self._fault(f"NextDocument answered HTTP {status}", adf=adf, empty=status == 404)
        raise DeviceError(DeviceState.BUSY, f"page {count + 1} not ready after {self.retries} tries")

    def _delete(self, job: str) -> None:
        if self._job == job:
            self._job = None
        try:
            self._client().delete(self._origin + job, timeout=5.0)
        except httpx.HTTPError:          # the device is gone: there is nothing left to cancel
            pass


# XML --------------------------------------------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(root: ET.Element, name: str) -> str | None:
    """The first element of that local name (devices disagree on namespaces)."""
    for element in root.iter():
        if _local(element.tag) == name:
            return (element.text or "").strip()
    return None


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in element.iter() if _local(e.tag) == name]


def _parse_capabilities(xml: bytes) -> dict:
    root = ET.fromstring(xml)
    if _local(root.tag) != "ScannerCapabilities":
        raise ET.ParseError(f"root element {root.tag}")
    caps = {"platen": [e for c in _children(root, "Platen") for e in _children(c, "PlatenInputCaps")],
            "simplex": [e for c in _children(root, "Adf") for e in _children(c, "AdfSimplexInputCaps")],
            "duplex": [e for c in _children(root, "Adf") for e in _children(c, "AdfDuplexInputCaps")]}
    every = [e for group in caps.values() for e in group]
    modes, formats, resolutions = set(), set(), set()
    for element in every:
        modes.update((e.text or "").strip() for e in _children(element, "ColorMode"))
        formats.update((e.text or "").strip() for e in _children(element, "DocumentFormatExt"))
        formats.update((e.text or "").strip() for e in _children(element, "DocumentFormat"))
        for one in _children(element, "DiscreteResolution"):
            x, y = _text(one, "XResolution"), _text(one, "YResolution")
            if x and x.isdigit() and x == y:
                resolutions.add(int(x))
        for span in _children(element, "ResolutionRange"):
            low, high = _text(span, "Min"), _text(span, "Max")
            if low and high and low.isdigit() and high.isdigit():
                resolutions.update(r for r in (75, 100, 150, 200, 300, 400, 600, 1200) if int(low) <= r <= int(high))
    size = caps["simplex"] or caps["platen"]
    return {"sources": sorted((["adf"] if caps["simplex"] or caps["duplex"] else [])
                              + (["flatbed"] if caps["platen"] else [])),
            "duplex": bool(caps["duplex"]),
            "modes": [name for value, name in _MODE_NAMES.items() if value in modes],
            "formats": sorted(f for f in formats if f),
            "resolutions": sorted(resolutions),
            "make_and_model": _text(root, "MakeAndModel") or "",
            "_ext": any(_children(e, "DocumentFormatExt") for e in every),
            "_max": (_int(size[0], "MaxWidth"), _int(size[0], "MaxHeight")) if size else (None, None)}


def _int(element: ET.Element, name: str) -> int | None:
    text = _text(element, name)
    return int(text) if text and text.isdigit() else None


def _scan_settings(settings: ScanSettings, caps: dict, source: str, duplex: bool, dpi: int, fmt: str) -> bytes:
    scan, pwg = (lambda n: f"{{{SCAN_NS}}}{n}"), (lambda n: f"{{{PWG_NS}}}{n}")
    left, top, right, bottom = settings.area_mm or (0.0, 0.0, *A4_MM)
    x, y = round(left / 25.4 * 300), round(top / 25.4 * 300)
    width, height = round((right - left) / 25.4 * 300), round((bottom - top) / 25.4 * 300)
    max_w, max_h = caps["_max"]
    if max_w:
        width = min(width, max_w - x)
    if max_h:
        height = min(height, max_h - y)
    mode = _MODES.get(settings.mode, "Grayscale8")
    if _MODE_NAMES.get(mode) not in caps["modes"]:
        mode = "Grayscale8" if "gray" in caps["modes"] else _MODES[caps["modes"][0]] if caps["modes"] else mode
    root = ET.Element(scan("ScanSettings"))
    ET.SubElement(root, pwg("Version")).text = "2.0"
    ET.SubElement(root, scan("Intent")).text = "Document"
    region = ET.SubElement(ET.SubElement(root, pwg("ScanRegions")), pwg("ScanRegion"))
    for name, value in (("ContentRegionUnits", "escl:ThreeHundredthsOfInches"), ("XOffset", x), ("YOffset", y),
                        ("Width", width), ("Height", height)):
        ET.SubElement(region, pwg(name)).text = str(value)
    ET.SubElement(root, pwg("InputSource")).text = "Feeder" if source == "adf" else "Platen"
    ET.SubElement(root, scan("ColorMode")).text = mode
    ET.SubElement(root, pwg("DocumentFormat")).text = fmt
    if caps["_ext"]:
        ET.SubElement(root, scan("DocumentFormatExt")).text = fmt
    ET.SubElement(root, scan("XResolution")).text = str(dpi)
    ET.SubElement(root, scan("YResolution")).text = str(dpi)
    if source == "adf":
        ET.SubElement(root, scan("Duplex")).text = "true" if duplex else "false"
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


ET.register_namespace("scan", SCAN_NS)
ET.register_namespace("pwg", PWG_NS)


# pages and states -------------------------------------------------------------------------------------------------
def _nearest(dpi: int, offered: list[int]) -> int:
    return min(offered, key=lambda r: (abs(r - dpi), -r)) if offered else dpi


def _check_page(data: bytes, content_type: str, number: int) -> str:
    """The page's file suffix; a DeviceError for an empty or undecodable body (a jam mid-page on some devices)."""
    if not data:
        raise DeviceError(DeviceState.OFFLINE, f"page {number} came back empty (HTTP 200 with no image)")
    kind = content_type.split(";")[0].strip().lower()
    suffix = _SUFFIXES.get(kind) or (".png" if data[:8] == b"\x89PNG\r\n\x1a\n" else ".jpg" if data[:2] == b"\xff\xd8"
                                     else ".pdf" if data[:5] == b"%PDF-" else None)
    if suffix is None:
        raise DeviceError(DeviceState.OFFLINE, f"page {number} is not an image ({kind or 'no content type'}, "
                                               f"{len(data)} bytes)")
    if suffix == ".pdf":
        if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
            raise DeviceError(DeviceState.OFFLINE, f"page {number} is an incomplete PDF ({len(data)} bytes)")
        return suffix
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as exc:         # truncated or garbled: the page as scanned is lost
        raise DeviceError(DeviceState.OFFLINE, f"page {number} is undecodable ({len(data)} bytes of {kind}: "
                                               f"{exc})") from exc
    return suffix


def _device_state(status: dict, *, has_adf: bool) -> tuple[DeviceState, str]:
    adf, state = status["adf"] or "", status["state"] or ""
    if has_adf and adf in _ADF_STATES:
        return _ADF_STATES[adf], f"AdfState {adf}"
    if state == "Processing" or state == "Testing":
        return DeviceState.BUSY, f"device state {state}"
    if state == "Idle":
        return DeviceState.READY, ""
    return DeviceState.OFFLINE, f"device state {state or 'unknown'}"
