"""The typed settings object: read once at start-up from config/defaults.yaml, an optional file and the environment."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULTS = Path(__file__).with_name("defaults.yaml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueueSettings(_Section):
    backend: Literal["inprocess", "redis"] = "inprocess"
    url: str = ""
    workers: int = Field(0, ge=0)
    page_timeout_s: float = Field(180, gt=0)
    file_timeout_s: float = Field(120, gt=0)
    assemble_timeout_s: float = Field(1800, gt=0)
    page_tries: int = Field(2, ge=1, le=10)
    error_tries: int = Field(3, ge=1, le=10)
    worker_memory_mb: int = Field(4096, ge=256)
    heartbeat_s: int = Field(5, ge=1, le=60)
    presumed_dead_s: int = Field(20, ge=5, le=600)
    maintenance_s: int = Field(15, ge=1, le=3600)
    reconcile_every_s: float = Field(300, ge=5)

    @model_validator(mode="after")
    def _url_for_redis(self) -> "QueueSettings":
        if self.backend == "redis" and not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("queue.url must be a redis://HOST:PORT/DB URL when queue.backend is redis")
        return self

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


S3_URL_FORM = "s3://BUCKET?endpoint=http://HOST:PORT (or https://; &region=R optional)"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class S3Location:
    """Where an S3 blob store is: bucket, endpoint and region. Credentials are not settings: they come from the
    environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), so they never sit in a settings file."""
    bucket: str
    endpoint: str
    region: str = "us-east-1"

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).netloc

    @property
    def secure(self) -> bool:
        return self.endpoint.startswith("https://")


def _is_server(endpoint: str) -> bool:
    server = urlsplit(endpoint)
    try:
        server.port
    except ValueError:
        return False
    return server.scheme in ("http", "https") and bool(server.hostname) and not (server.path or server.query)


def parse_s3_url(url: str) -> S3Location:
    """The parts of an s3:// blob URL; a ValueError that names blobs.url and says what is wrong otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or parts.path not in ("", "/"):
        raise ValueError(f"blobs.url must be an S3 URL, {S3_URL_FORM}; got {url!r}")
    if not _BUCKET.fullmatch(parts.netloc) or ".." in parts.netloc:
        raise ValueError(f"blobs.url must name a bucket (3 to 63 lowercase letters, digits, dots and hyphens) "
                         f"after s3://; got {parts.netloc!r}")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"endpoint", "region"})
    if unknown:
        raise ValueError(f"blobs.url has no parameter {unknown[0]!r} (there are endpoint and region)")
    endpoint = query.get("endpoint", [""])[-1].rstrip("/")
    if not _is_server(endpoint):
        raise ValueError(f"blobs.url must say which S3 server with ?endpoint=http://HOST:PORT or https://HOST:PORT; "
                         f"got {endpoint!r}")
    return S3Location(parts.netloc, endpoint, query.get("region", ["us-east-1"])[-1] or "us-east-1")


class BlobSettings(_Section):
    backend: Literal["local", "s3"] = "local"
    url: str = ""               # with backend s3: which bucket on which server, as S3_URL_FORM
    cache_mb: int = Field(512, ge=0)   # with backend s3: small blobs kept on this machine, so not fetched twice

    @model_validator(mode="after")
    def _url_for_s3(self) -> "BlobSettings":
        if self.backend == "s3":
            if not self.url:
                raise ValueError(f"blobs.url must be {S3_URL_FORM} when blobs.backend is s3")
            parse_s3_url(self.url)
        elif self.url:
            raise ValueError("blobs.url is set but blobs.backend is local: set blobs.backend to s3, or empty blobs.url")
        return self

    @property
    def s3(self) -> S3Location:
        return parse_s3_url(self.url)


class CatalogueSettings(_Section):
    url: str = ""


class LimitSettings(_Section):
    max_file_mb: int = Field(1024, gt=0)
    max_image_pixels: int = Field(150_000_000, gt=0)
    max_page_inches: float = Field(60, gt=0)


class OcrSettings(_Section):
    engine: Literal["tesseract", "rapidocr", "cascade", "none"] = "tesseract"
    languages: str = "chi_sim"
    dpi: int = Field(300, ge=72, le=1200)
    recognition_dpi: int = Field(150, ge=70, le=1200)
    psm: int = Field(4, ge=0, le=13)
    bitonal: bool = True
    jpeg_quality: int = Field(50, ge=30, le=100)
    jpeg_dpi: int = Field(200, ge=200, le=1200)
    retry_below_confidence: float = Field(55, ge=0, le=100)
    cascade_below_confidence: float = Field(85, ge=0, le=100)
    cascade_line_below_confidence: float = Field(90, ge=0, le=100)
    reading_copy: bool = True
    omp_thread_limit: int = Field(1, ge=1)


class PreprocessSettings(_Section):
    orientation: bool = True
    deskew: bool = True
    crop: bool = True
    max_skew_degrees: float = Field(5.0, gt=0, le=45)


class ClassifySettings(_Section):
    review_below_confidence: float = Field(0.5, ge=0, le=1)
    every_s: float = Field(1.0, ge=0)
    strict_case_numbers: bool = True


class DossierSettings(_Section):
    court: str = ""
    rebuild_every_s: float = Field(3, ge=0)
    font_heading: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    font_text: Path = Path("/usr/share/fonts/truetype/arphic/uming.ttc")


class ServiceSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8440, ge=1, le=65535)
    max_upload_mb: int = Field(1024, gt=0)


DEVICE_ADDRESS_FORM = "sane:NAME, escl:http://HOST:PORT, camera:INDEX, camera:FILE or folder:PATH"


class DeviceSpec(_Section):
    """One capture device the court has: where it is and how it scans by default."""
    address: str
    name: str = ""                          # what operators call it ("scanning desk 2, Fujitsu fi-7160")
    source: Literal["adf", "flatbed", "camera", "folder"] | None = None   # None: by the kind of device
    dpi: int = Field(300, ge=75, le=1200)
    mode: Literal["color", "gray", "lineart"] = "gray"
    duplex: bool = False                    # the device turns each sheet itself
    poll: bool = False                      # folders on network mounts: poll, inotify sees nothing there
    case_no: str | None = None              # a device dedicated to one case's paper (rare)
    options: dict[str, str | int | float | bool] = {}   # SANE: backend options set before each scan

    @model_validator(mode="after")
    def _known_kind(self) -> "DeviceSpec":
        kind = self.address.partition(":")[0]
        if kind not in ("sane", "escl", "camera", "folder") or not self.address.partition(":")[2]:
            raise ValueError(f"device address {self.address!r} is not one of {DEVICE_ADDRESS_FORM}")
        return self


class DeviceSettings(_Section):
    declared: dict[str, DeviceSpec] = {}    # device id → where it is and its defaults
    spool: Path | None = None               # pages for a remote service wait here while it is unreachable
    settle_s: float = Field(2.0, gt=0)      # hot folders: a file unchanged this long (and valid) is taken
    rescan_s: float = Field(30.0, gt=0)     # hot folders: a full look catches events the watcher missed
    still_s: float = Field(0.8, gt=0)       # document cameras: a page still this long is captured


class CaseSettings(_Section):
    stages_file: Path | None = None         # stages and what each requires (None: config/stages.yaml)
    holidays_file: Path | None = None       # the court's working-day calendar (None: config/holidays.yaml)
    readable_confidence: float = Field(50, ge=0, le=100)   # a page with text read below this is not usable


class KioskSettings(_Section):
    """The filing kiosk (诉讼服务一体机): its devices, what a person may file, and when an idle screen clears."""
    scanner: str | None = None              # a declared device: the kiosk's feeder scanner
    camera: str | None = None               # a declared device: its document camera
    idcard: str | None = None               # the ID-card reader, e.g. idcard:sim:/var/spool/idcard
    courts: list[str] = []                  # courts a person may file with (empty: dossier.court)
    idle_s: float = Field(120, gt=0)        # no touch this long: the screen clears, the filing is set aside
    upload_minutes: float = Field(15, gt=0)  # the phone's one-time upload link stays valid this long


class ConsoleSettings(_Section):
    """The operator console: how long a signed-in session lives."""
    idle_minutes: float = Field(30, gt=0)   # unused this long, a session ends: the next page asks to sign in
    hours: float = Field(12, gt=0)          # a session ends this long after signing in, used or not


class Settings(_Section):
    home: Path
    queue: QueueSettings = QueueSettings()
    blobs: BlobSettings = BlobSettings()
    catalogue: CatalogueSettings = CatalogueSettings()
    limits: LimitSettings = LimitSettings()
    ocr: OcrSettings = OcrSettings()
    preprocess: PreprocessSettings = PreprocessSettings()
    classify: ClassifySettings = ClassifySettings()
    dossier: DossierSettings = DossierSettings()
    service: ServiceSettings = ServiceSettings()
    devices: DeviceSettings = DeviceSettings()
    cases: CaseSettings = CaseSettings()
    kiosk: KioskSettings = KioskSettings()
    console: ConsoleSettings = ConsoleSettings()

    @model_validator(mode="after")
    def _kiosk_devices_declared(self) -> "Settings":
        for role in ("scanner", "camera"):
            device = getattr(self.kiosk, role)
            if device is not None and device not in self.devices.declared:
                raise ValueError(f"kiosk.{role}: {device!r} is not a device declared under devices.declared "
                                 f"({', '.join(sorted(self.devices.declared)) or 'none declared'})")
        return self

    @property
    def catalogue_url(self) -> str:
        return self.catalogue.url or f"sqlite:///{self.home / 'catalogue.sqlite3'}"


class SettingsError(ValueError):
    """The settings files or environment are invalid; the message names the key."""


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path} must hold a mapping at the top level")
    return data


def _merge(base: dict, override: Mapping) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _environment_overrides(env: Mapping[str, str]) -> dict:
    overrides: dict = {}
    if env.get("EDOSSIER_HOME"):
        overrides["home"] = env["EDOSSIER_HOME"]
    if env.get("EDOSSIER_CATALOGUE"):
        overrides["catalogue"] = {"url": env["EDOSSIER_CATALOGUE"]}
    if env.get("EDOSSIER_BLOBS"):
        url = env["EDOSSIER_BLOBS"]
        overrides["blobs"] = {"backend": "local", "url": ""} if url == "local" else {"backend": "s3", "url": url}
    queue: dict = {}
    if env.get("EDOSSIER_WORKERS"):
        queue["workers"] = env["EDOSSIER_WORKERS"]
    if env.get("EDOSSIER_QUEUE"):
        url = env["EDOSSIER_QUEUE"]
        queue.update({"backend": "inprocess"} if url == "inprocess" else {"backend": "redis", "url": url})
    if queue:
        overrides["queue"] = queue
    return overrides


def _plain(error: dict) -> str:
    """One validation error in plain words: the key, what it should be, what it was."""
    key = ".".join(str(part) for part in error["loc"])
    expected = error["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    if error["type"] == "extra_forbidden":
        return f"  {key}: no such setting (see config/defaults.yaml for the settings there are)"
    if error["type"] == "value_error" and len(error["loc"]) == 1:      # a rule over a whole section
        return f"  {key}: {expected}"
    return f"  {key}: should be {expected}; got {error.get('input')!r}"


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None,
                  **overrides: object) -> Settings:
    """Defaults, then the file named by `path` or EDOSSIER_CONFIG, then the environment, then keyword overrides."""
    env = os.environ if env is None else env
    data = _read_yaml(DEFAULTS)
    extra = path or (Path(env["EDOSSIER_CONFIG"]) if env.get("EDOSSIER_CONFIG") else None)
    if extra is not None:
        data = _merge(data, _read_yaml(Path(extra)))
    data = _merge(data, _environment_overrides(env))
    data = _merge(data, overrides)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        source = f"settings file {extra}" if extra is not None else "settings"
        raise SettingsError(f"invalid {source}:\n" + "\n".join(_plain(e) for e in exc.errors())) from exc
    return settings.model_copy(update={"home": Path(settings.home).expanduser().resolve()})
