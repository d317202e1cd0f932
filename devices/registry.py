"""Which adapter a device address or a declared device ID means: an explicit table, no guessing elsewhere."""
from __future__ import annotations

from dataclasses import dataclass

from devices.base import Device, DeviceInfo, DeviceState


@dataclass(frozen=True)
class Declared:
    """A device as the court's settings declare it (config `devices.declared`), or as an address given on the
    command line (its ID is then the address itself)."""
    id: str
    address: str
    name: str = ""
    source: str | None = None
    dpi: int = 300
    mode: str = "gray"
    duplex: bool = False
    poll: bool = False
    case_no: str | None = None
    options: tuple = ()
    still_s: float = 0.8              # cameras: how long a page lies still before it is captured

    @property
    def kind(self) -> str:
        return self.address.partition(":")[0]

    @property
    def target(self) -> str:
        return self.address.partition(":")[2]


def _sane(spec: Declared) -> Device:
    from devices.sane import SaneScanner
    return SaneScanner(spec.id, spec.target, dict(spec.options))


def _escl(spec: Declared) -> Device:
    from devices.escl import EsclScanner
    return EsclScanner(spec.id, escl_root(spec.target))


def escl_root(url: str) -> str:
    """The eSCL root of a scanner's address: http://HOST:PORT alone means the usual http://HOST:PORT/eSCL."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    return url.rstrip("/") + "/eSCL" if parts.path in ("", "/") else url.rstrip("/")


def _camera(spec: Declared) -> Device:
    from devices.camera import DocumentCamera
    target = spec.target
    return DocumentCamera(spec.id, int(target) if target.isdigit() else target, page_dpi=spec.dpi,
                          still_s=spec.still_s)


ADAPTERS = {"sane": _sane, "escl": _escl, "camera": _camera}
DEFAULT_SOURCE = {"sane": "adf", "escl": "adf", "camera": "camera", "folder": "folder"}
ADDRESS_FORM = "sane:NAME, escl:http://HOST:PORT[/eSCL], camera:INDEX, camera:FILE or folder:PATH"


class UnknownDevice(ValueError):
    pass


def resolve(text: str, declared: dict[str, Declared]) -> Declared:
    """A declared device ID, or an address of a known kind."""
    if text in declared:
        return declared[text]
    kind, _, target = text.partition(":")
    if kind not in DEFAULT_SOURCE or not target:
        known = ", ".join(sorted(declared)) or "none declared"
        raise UnknownDevice(f"{text!r} is neither a declared device ({known}) nor an address ({ADDRESS_FORM})")
    return Declared(id=text, address=text)


def open_device(spec: Declared) -> Device:
    if spec.kind not in ADAPTERS:
        raise UnknownDevice(f"{spec.address}: a {spec.kind} is not scanned from; watch it with `edossier watch`")
    return ADAPTERS[spec.kind](spec)


def describe(spec: Declared) -> DeviceInfo:
    """The device's state and capabilities now (a folder: whether it is there to watch)."""
    if spec.kind == "folder":
        from pathlib import Path
        folder = Path(spec.target)
        state = DeviceState.READY if folder.is_dir() else DeviceState.OFFLINE
        return DeviceInfo(spec.id, "folder", spec.address, state, "" if folder.is_dir() else "folder not found",
                          {"sources": ["folder"], "poll": spec.poll})
    device = open_device(spec)
    try:
        return device.info()
    finally:
        device.close()


def declared_devices(settings) -> dict[str, Declared]:
    """Declared devices from the `devices` settings section."""
    return {device_id: Declared(id=device_id, address=d.address, name=d.name, source=d.source, dpi=d.dpi,
                                mode=d.mode, duplex=d.duplex, poll=d.poll, case_no=d.case_no,
                                options=tuple(sorted(d.options.items())), still_s=settings.still_s)
            for device_id, d in settings.declared.items()}
