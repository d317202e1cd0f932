"""An eSCL (AirScan) scanner on 127.0.0.1 for tests and demonstrations: a real HTTP server speaking the protocol as
network scanners do, with a feeder that can be loaded, a glass, and the faults real devices show.

    sim = EsclSimulator().start()
    sim.load([page1, page2, page3])              # three sheets in the feeder (PIL images or encoded bytes)
    sim.load([f1, b1, f2, b2], duplex=True)      # two two-sided sheets
    sim.place(page)                              # a page on the glass (Platen)
    sim.busy_next(2)                             # the next two NextDocument requests answer 503
    sim.jam_after(2)                             # two more sheets feed, the third jams (409, ScannerAdfJam)
    sim.open_door() / sim.close_door()           # the feeder door (409, ScannerAdfDoorOpen)
    sim.empty_page(3)                            # the third page from now comes back as 200 with no body
    sim.broken_page(1)                           # the next page comes back cut off halfway (undecodable)
    ... sim.url  →  http://127.0.0.1:PORT/eSCL
    sim.created, sim.deleted                     # job paths, in order: a client must DELETE every job
    sim.stop()

What it answers (the behaviour of the devices DEVICES.md describes):
- GET  /eSCL/ScannerCapabilities   Platen and Adf (simplex, duplex) with colour modes, formats and resolutions
- GET  /eSCL/ScannerStatus         pwg:State Idle/Processing/Stopped, scan:AdfState, the job list
- POST /eSCL/ScanJobs              201 with a Location whose host is wrong on purpose (`location_host`); 503 while
                                   another job is still processing (one job at a time); 409 for settings it lacks
- GET  {job}/NextDocument          200 with the page (JPEG, PNG or PDF as asked, rendered at the asked resolution,
                                   colour mode and region, sent chunked); 503 when busy; 404 when the feeder ran
                                   out (or, on the first page, `empty_code`); 409 on a jam or an open door
- DELETE {job}                     cancels; recorded
"""
from __future__ import annotations

import io
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

SCAN_NS = "http://schemas.hp.com/imaging/escl/2011/05/03"
PWG_NS = "http://www.pwg.org/schemas/2010/12/sm"
ET.register_namespace("scan", SCAN_NS)
ET.register_namespace("pwg", PWG_NS)

A4_300 = (2480, 3508)                  # an A4 sheet in 1/300 inch, the unit of eSCL regions
MAX_300 = (2550, 4200)                 # the widest (letter) and longest (legal) sheet the simulated device takes
MODES = ("BlackAndWhite1", "Grayscale8", "RGB24")
FORMATS = ("image/jpeg", "image/png", "application/pdf")
RESOLUTIONS = (75, 100, 150, 200, 300, 600)
CHUNK = 64 * 1024


def _s(name: str) -> str:
    return f"{{{SCAN_NS}}}{name}"


def _p(name: str) -> str:
    return f"{{{PWG_NS}}}{name}"


@dataclass
class Job:
    uuid: str
    source: str                        # Platen | Feeder
    duplex: bool
    mode: str
    resolution: int
    region: tuple[int, int, int, int]  # x, y, width, height in 1/300 inch
    format: str
    state: str = "Processing"          # Processing | Completed | Canceled | Aborted
    reason: str = "JobScanning"
    served: int = 0                    # documents delivered
    back: object = None                # the back of the sheet whose front was just delivered (duplex)
    created_at: float = field(default_factory=time.monotonic)

    @property
    def path(self) -> str:
        return f"/eSCL/ScanJobs/{self.uuid}"


class EsclSimulator:
    """A simulated eSCL scanner. `duplex`: whether its feeder turns sheets itself; `formats`: the document formats
    it offers; `location_host`: the host it names in Location headers (devices often name the wrong one);
    `empty_code`: what NextDocument answers for the first page of an empty feeder (404 or 409); `chunked`: send
    images with chunked transfer encoding (else with a Content-Length)."""

    def __init__(self, *, duplex: bool = True, formats=FORMATS, resolutions=RESOLUTIONS,
                 make_and_model: str = "Edossier eSCL Simulator", location_host: str = "localhost:8080",
                 empty_code: int = 404, chunked: bool = True, host: str = "127.0.0.1", port: int = 0):
        self.duplex, self.formats, self.resolutions = duplex, tuple(formats), tuple(resolutions)
        self.make_and_model, self.location_host, self.empty_code = make_and_model, location_host, empty_code
        self.chunked = chunked
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, make_and_model))
        self._address = (host, port)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sheets: list[tuple] = []            # (front, back or None), top sheet first
        self._platen = None
        self._busy = 0
        self._fed = 0                             # sheets fed since start
        self._jam_at: int | None = None           # the sheet count at which the next sheet jams
        self._empty_at: set[int] = set()          # document counts (since start) served with an empty body
        self._broken_at: set[int] = set()         # ... served cut off halfway
        self._documents = 0                       # documents served since start
        self.jammed = False
        self.door_open = False
        self.jobs: dict[str, Job] = {}
        self.created: list[str] = []              # job paths, in the order they were created
        self.deleted: list[str] = []              # job paths DELETE was sent for, in order
        self.requests: list[tuple[str, str, int]] = []   # (method, path, status) of every request
        self.scan_settings: list[dict] = []       # each accepted ScanSettings as the simulator read it

    # life -----------------------------------------------------------------------------------------------------
    def start(self) -> "EsclSimulator":
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = ThreadingHTTPServer(self._address, handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="escl-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    def __enter__(self) -> "EsclSimulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/eSCL"

    # the world at the device -----------------------------------------------------------------------------------
    def load(self, pages, duplex: bool = False) -> None:
        """Put sheets in the feeder, below any still there: one page each, or (duplex) two consecutive pages per
        sheet, front then back."""
        pages = list(pages)
        with self._lock:
            if duplex:
                pairs = [(pages[i], pages[i + 1] if i + 1 < len(pages) else None) for i in range(0, len(pages), 2)]
                self._sheets.extend(pairs)
            else:
                self._sheets.extend((page, None) for page in pages)

    def unload(self) -> None:
        with self._lock:
            self._sheets.clear()

    @property
    def sheets_left(self) -> int:
        with self._lock:
            return len(self._sheets)

    def place(self, page) -> None:
        """A page on the glass."""
        with self._lock:
            self._platen = page

    def busy_next(self, n: int) -> None:
        with self._lock:
            self._busy = n

    def jam_after(self, k: int) -> None:
        """k more sheets feed; the one after them jams (it stays on top of the feeder)."""
        with self._lock:
            self._jam_at = self._fed + k

    def clear_jam(self) -> None:
        with self._lock:
            self.jammed, self._jam_at = False, None

    def open_door(self) -> None:
        with self._lock:
            self.door_open = True

    def close_door(self) -> None:
        with self._lock:
            self.door_open = False

    def empty_page(self, n: int = 1) -> None:
        """The n-th page delivered from now comes back as 200 with an empty body (a jam mid-page, as seen)."""
        with self._lock:
            self._empty_at.add(self._documents + n)

    def broken_page(self, n: int = 1) -> None:
        """The n-th page delivered from now comes back with only the first half of its bytes."""
        with self._lock:
            self._broken_at.add(self._documents + n)

    # protocol ---------------------------------------------------------------------------------------------------
    def adf_state(self) -> str:
        with self._lock:
            if self.door_open:
                return "ScannerAdfDoorOpen"
            if self.jammed:
                return "ScannerAdfJam"
            return "ScannerAdfLoaded" if self._sheets else "ScannerAdfEmpty"

    def _active(self) -> Job | None:
        return next((j for j in self.jobs.values() if j.state == "Processing"), None)

    def capabilities_xml(self) -> bytes:
        root = ET.Element(_s("ScannerCapabilities"))
        for tag, text in ((_p("Version"), "2.63"), (_p("MakeAndModel"), self.make_and_model),
                          (_p("SerialNumber"), "SIM0001"), (_s("UUID"), self.uuid),
                          (_s("AdminURI"), "http://127.0.0.1/"), (_s("IconURI"), "http://127.0.0.1/icon.png")):
            ET.SubElement(root, tag).text = text
        platen = ET.SubElement(root, _s("Platen"))
        self._input_caps(ET.SubElement(platen, _s("PlatenInputCaps")), (MAX_300[0], A4_300[1]))
        adf = ET.SubElement(root, _s("Adf"))
        self._input_caps(ET.SubElement(adf, _s("AdfSimplexInputCaps")), MAX_300)
        if self.duplex:
            self._input_caps(ET.SubElement(adf, _s("AdfDuplexInputCaps")), MAX_300)
        ET.SubElement(adf, _s("FeederCapacity")).text = "50"
        options = ET.SubElement(adf, _s("AdfOptions"))
        for option in ("DetectPaperLoaded",) + (("Duplex",) if self.duplex else ()):
            ET.SubElement(options, _s("AdfOption")).text = option
        return _document(root)

    def _input_caps(self, caps: ET.Element, size: tuple[int, int]) -> None:
        for tag, value in (("MinWidth", 16), ("MaxWidth", size[0]), ("MinHeight", 16), ("MaxHeight", size[1]),
                           ("MaxScanRegions", 1)):
            ET.SubElement(caps, _s(tag)).text = str(value)
        profile = ET.SubElement(ET.SubElement(caps, _s("SettingProfiles")), _s("SettingProfile"))
        modes = ET.SubElement(profile, _s("ColorModes"))
        for mode in MODES:
            ET.SubElement(modes, _s("ColorMode")).text = mode
        formats = ET.SubElement(profile, _s("DocumentFormats"))
        for fmt in self.formats:
            ET.SubElement(formats, _p("DocumentFormat")).text = fmt
        for fmt in self.formats:
            ET.SubElement(formats, _s("DocumentFormatExt")).text = fmt
        discrete = ET.SubElement(ET.SubElement(profile, _s("SupportedResolutions")), _s("DiscreteResolutions"))
        for dpi in self.resolutions:
            one = ET.SubElement(discrete, _s("DiscreteResolution"))
            ET.SubElement(one, _s("XResolution")).text = str(dpi)
            ET.SubElement(one, _s("YResolution")).text = str(dpi)
        spaces = ET.SubElement(profile, _s("ColorSpaces"))
        ET.SubElement(spaces, _s("ColorSpace")).text = "RGB"
        intents = ET.SubElement(caps, _s("SupportedIntents"))
        for intent in ("Document", "TextAndGraphic", "Photo", "Preview"):
            ET.SubElement(intents, _s("Intent")).text = intent
        ET.SubElement(caps, _s("MaxOpticalXResolution")).text = str(max(self.resolutions))
        ET.SubElement(caps, _s("MaxOpticalYResolution")).text = str(max(self.resolutions))

    def status_xml(self) -> bytes:
        with self._lock:
            root = ET.Element(_s("ScannerStatus"))
            ET.SubElement(root, _p("Version")).text = "2.63"
            state = "Stopped" if self.jammed or self.door_open else "Processing" if self._active() else "Idle"
            ET.SubElement(root, _p("State")).text = state
            ET.SubElement(root, _s("AdfState")).text = self.adf_state()
            jobs = ET.SubElement(root, _s("Jobs"))
            now = time.monotonic()
            for job in sorted(self.jobs.values(), key=lambda j: -j.created_at):
                info = ET.SubElement(jobs, _s("JobInfo"))
                ET.SubElement(info, _p("JobUri")).text = job.path
                ET.SubElement(info, _p("JobUuid")).text = job.uuid
                ET.SubElement(info, _s("Age")).text = str(int(now - job.created_at))
                ET.SubElement(info, _p("ImagesCompleted")).text = str(job.served)
                ET.SubElement(info, _p("ImagesToTransfer")).text = "1" if job.state == "Processing" else "0"
                ET.SubElement(info, _p("JobState")).text = job.state
                reasons = ET.SubElement(info, _p("JobStateReasons"))
                ET.SubElement(reasons, _p("JobStateReason")).text = job.reason
            return _document(root)

    def create_job(self, body: bytes) -> tuple[int, str]:
        """POST ScanJobs: (HTTP status, the job's path or why not)."""
        try:
            settings = _read_settings(body)
        except (ET.ParseError, ValueError) as exc:
            return 400, f"bad ScanSettings: {exc}"
        with self._lock:
            if self._active() is not None:
                return 503, "another job is processing"
            source, fmt = settings["source"], settings["format"] or "image/jpeg"
            if source not in ("Platen", "Feeder") or settings["mode"] not in MODES or fmt not in self.formats \
                    or settings["resolution"] not in self.resolutions \
                    or (settings["duplex"] and (source != "Feeder" or not self.duplex)):
                return 409, f"settings not supported: {settings}"
            job = Job(str(uuid.uuid4()), source, settings["duplex"] and source == "Feeder", settings["mode"],
                      settings["resolution"], settings["region"], fmt)
            self.jobs[job.uuid] = job
            self.created.append(job.path)
            self.scan_settings.append(settings)
            return 201, job.path

    def next_document(self, job_id: str) -> tuple[int, object, str]:
        """GET NextDocument: (HTTP status, page to render or b"" for an empty body or None, why)."""
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return 404, None, "no such job"
            if job.state == "Canceled":
                return 410, None, "job canceled"
            if job.state == "Aborted":
                return 409, None, f"job aborted: {job.reason}"
            if job.state == "Completed":
                return 404, None, "no more pages"
            if self._busy > 0:
                self._busy -= 1
                return 503, None, "not ready"
            if job.source == "Platen":
                page = self._platen if self._platen is not None else Image.new("L", (850, 1169), 255)
                job.state, job.reason = "Completed", "JobCompletedSuccessfully"
                return self._deliver(job, page)
            if job.back is not None:
                page, job.back = job.back, None
                return self._deliver(job, page)
            if self.door_open:
                job.state, job.reason = "Aborted", "AdfDoorOpen"
                return 409, None, "feeder door open"
            if self._jam_at is not None and self._fed >= self._jam_at and self._sheets:
                self.jammed = True
                self._jam_at = None
            if self.jammed:
                job.state, job.reason = "Aborted", "AdfJam"
                return 409, None, "paper jam"
            if not self._sheets:
                job.state, job.reason = "Completed", "JobCompletedSuccessfully"
                return (self.empty_code if job.served == 0 else 404), None, "feeder empty"
            front, back = self._sheets.pop(0)
            self._fed += 1
            if job.duplex:
                job.back = back if back is not None else Image.new("L", (850, 1169), 255)
            return self._deliver(job, front)

    def _deliver(self, job: Job, page) -> tuple[int, object, str]:
        job.served += 1
        self._documents += 1
        if self._documents in self._empty_at:
            self._empty_at.discard(self._documents)
            return 200, b"", "empty page"
        if self._documents in self._broken_at:
            self._broken_at.discard(self._documents)
            return 200, _Broken(page), "broken page"
        return 200, page, "page"

    def delete_job(self, job_id: str) -> int:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return 404
            self.deleted.append(job.path)
            if job.state == "Processing":
                job.state, job.reason = "Canceled", "JobCanceledByUser"
            return 200

    def render(self, job: Job, page) -> bytes:
        """The page as the device would scan it for this job: its region at its resolution, colour mode and
        format. A page is taken to be an A4 sheet laid at the top left corner."""
        if isinstance(page, _Broken):
            whole = self.render(job, page.page)
            return whole[:len(whole) // 2]
        image = _image(page)
        dpi = job.resolution
        sheet = image.resize((max(1, A4_300[0] * dpi // 300), max(1, A4_300[1] * dpi // 300)), Image.BILINEAR)
        x, y, w, h = (round(v * dpi / 300) for v in job.region)
        canvas = Image.new(sheet.mode, (max(1, w), max(1, h)), "white")
        canvas.paste(sheet, (-x, -y))
        mode = {"RGB24": "RGB", "Grayscale8": "L", "BlackAndWhite1": "1"}[job.mode]
        out = canvas.convert(mode)
        buffer = io.BytesIO()
        if job.format == "image/jpeg":
            (out.convert("L") if mode == "1" else out).save(buffer, format="JPEG", quality=85, dpi=(dpi, dpi))
        elif job.format == "image/png":
            out.save(buffer, format="PNG", compress_level=1, dpi=(dpi, dpi))
        else:
            (out.convert("L") if mode == "1" else out).save(buffer, format="PDF", resolution=dpi)
        return buffer.getvalue()


@dataclass(frozen=True)
class _Broken:
    page: object


def _image(page) -> Image.Image:
    if isinstance(page, Image.Image):
        image = page
    else:
        image = Image.open(io.BytesIO(page))
        image.load()
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


def _document(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _read_settings(body: bytes) -> dict:
    """The parts of a scan:ScanSettings this device acts on. Clients differ in namespaces (InputSource comes as
    pwg: or scan:), so elements are matched by local name, as devices do."""
    root = ET.fromstring(body)
    if root.tag != _s("ScanSettings"):
        raise ValueError(f"root element {root.tag}, not scan:ScanSettings")
    found: dict[str, str] = {}
    for element in root.iter():
        found.setdefault(_local(element.tag), (element.text or "").strip())
    resolution = int(found.get("XResolution") or 300)
    if int(found.get("YResolution") or resolution) != resolution:
        raise ValueError("XResolution and YResolution differ")
    region = tuple(int(found.get(name) or default) for name, default in
                   (("XOffset", 0), ("YOffset", 0), ("Width", A4_300[0]), ("Height", A4_300[1])))
    return {"source": found.get("InputSource", "Platen"), "duplex": found.get("Duplex", "false").lower() == "true",
            "mode": found.get("ColorMode", "RGB24"), "resolution": resolution, "region": region,
            "format": found.get("DocumentFormatExt") or found.get("DocumentFormat"),
            "intent": found.get("Intent")}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EsclSimulator/1.0"
    timeout = 30
    sim: EsclSimulator

    def log_message(self, format, *args) -> None:      # quiet: the simulator records requests itself
        pass

    def _record(self, status: int) -> None:
        with self.sim._lock:
            self.sim.requests.append((self.command, self.path.split("?")[0], status))

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/xml", headers: dict | None = None):
        self._record(status)
        self.send_response(status)
        if body or status == 200:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _path(self) -> str:
        return self.path.split("?")[0].rstrip("/")

    def do_GET(self) -> None:
        path = self._path()
        if path == "/eSCL/ScannerCapabilities":
            return self._send(200, self.sim.capabilities_xml())
        if path == "/eSCL/ScannerStatus":
            return self._send(200, self.sim.status_xml())
        if path.startswith("/eSCL/ScanJobs/") and path.endswith("/NextDocument"):
            job_id = path[len("/eSCL/ScanJobs/"):-len("/NextDocument")]
            status, page, why = self.sim.next_document(job_id)
            if status == 503:
                return self._send(503, why.encode(), "text/plain", {"Retry-After": "1"})
            if status != 200:
                return self._send(status, why.encode(), "text/plain")
            job = self.sim.jobs[job_id]
            if page == b"":
                return self._send(200, b"", job.format)
            self._record(200)           # in the order the device decided, before the page is rendered
            return self._image(self.sim.render(job, page), job.format)
        return self._send(404, b"not found", "text/plain")

    def _image(self, data: bytes, content_type: str) -> None:
        if not self.sim.chunked:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(data), CHUNK):
            piece = data[start:start + CHUNK]
            self.wfile.write(b"%X\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self._path() != "/eSCL/ScanJobs":
            return self._send(404, b"not found", "text/plain")
        status, answer = self.sim.create_job(body)
        if status != 201:
            return self._send(status, answer.encode(), "text/plain")
        host = self.sim.location_host or self.headers.get("Host", "127.0.0.1")
        return self._send(201, headers={"Location": f"http://{host}{answer}"})

    def do_DELETE(self) -> None:
        path = self._path()
        if not path.startswith("/eSCL/ScanJobs/"):
            return self._send(404, b"not found", "text/plain")
        return self._send(self.sim.delete_job(path[len("/eSCL/ScanJobs/"):]))
