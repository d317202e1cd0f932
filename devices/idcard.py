"""The filing kiosk's identity-card reader: what a 居民身份证 holds once read, and the one small interface each reader
adapter implements. Real readers speak their vendor's SDK; each gets an adapter here, chosen from its address through
the explicit table READERS. The simulated reader stands in for one in demos and tests: a card "placed on the reader"
is a JSON file written into a spool folder, and reading takes the oldest one off.

A card is only handed on once its number passes the GB 11643 check digit and agrees with its birth date; anything
else is a CardError the person at the kiosk is told about in plain words. The full number and address leave this
module only when asked for unmasked (the kiosk's screens and logs show them masked).
"""
from __future__ import annotations

import base64
import json
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

from classify.identifiers import mask_identifier, resident_id_check, valid_resident_id
from devices.registry import UnknownDevice

POLL_S = 0.05
TEXT_FIELDS = ("name", "sex", "ethnicity", "birth", "address", "number", "authority", "valid_from", "valid_to")
ADDRESS_FORM = "idcard:sim:FOLDER"


@dataclass(frozen=True)
class IdentityCard:
    """One resident identity card as read: dates YYYY-MM-DD, `number` the 18-character resident ID number."""
    name: str
    sex: str
    ethnicity: str
    birth: str
    address: str
    number: str
    authority: str
    valid_from: str
    valid_to: str
    photo: bytes | None = None


class CardError(Exception):
    """A card that cannot be read, or whose content cannot be trusted; the message is for the person at the kiosk."""


def card_from_json(data: dict) -> IdentityCard:
    """Check what a reader delivered and make it a card; CardError saying why when it cannot be one."""
    missing = [name for name in TEXT_FIELDS if not isinstance(data.get(name), str) or not data[name].strip()]
    if missing:
        raise CardError(f"the card could not be read completely (missing: {', '.join(missing)}): place it again")
    values = {name: data[name].strip() for name in TEXT_FIELDS}
    number = values["number"] = values["number"].upper()
    if len(number) != 18 or not valid_resident_id(number):
        raise CardError(f"the card's number {mask_identifier(number)} fails its checksum: it was misread or the card "
                        "is not genuine; place it again, or ask the counter for help")
    if values["birth"].replace("-", "") != number[6:14]:
        raise CardError("the card's birth date does not match its number: place it again, or ask the counter for help")
    return IdentityCard(**values, photo=_photo(data.get("photo")))


def _photo(encoded: str | None) -> bytes | None:
    try:
        return base64.b64decode(encoded, validate=True) if encoded else None
    except (TypeError, ValueError):
        raise CardError("the card's photo could not be read: place it again, flat on the reader") from None


class IdCardReader(Protocol):
    def read(self, timeout_s: float) -> IdentityCard | None:
        """The card placed on the reader, once it is read; None when no card is placed within `timeout_s`.
        Raises CardError for a card placed but unreadable or failing its checks."""

    def close(self) -> None:
        """Release the reader."""


class SimulatedReader:
    """A reader over a spool folder: each JSON file in it is a card placed on the reader, taken oldest first."""

    def __init__(self, folder: Path | str, poll_s: float = POLL_S):
        self.folder = Path(folder)
        self.poll_s = poll_s

    def read(self, timeout_s: float) -> IdentityCard | None:
        deadline = time.monotonic() + timeout_s
        while True:
            for path in self._placed():
                data = _take(path)
                if data is not None:
                    return card_from_json(data)
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.poll_s)

    def close(self) -> None:
        """Nothing to release: the folder stays for the next reader."""

    def _placed(self) -> list[Path]:
        """Cards in the folder, oldest first (files being written are *.tmp and not seen)."""
        try:
            paths = [(p.stat().st_mtime_ns, p.name, p) for p in self.folder.glob("*.json")]
        except FileNotFoundError:
            return []
        return [p for _, _, p in sorted(paths)]


def _take(path: Path) -> dict | None:
    """A placed card's content, taken off the reader; None when another reader took it first."""
    try:
        text = path.read_text(encoding="utf-8")
        path.unlink()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        raise CardError("the card could not be read: place it again, flat on the reader") from None
    if not isinstance(data, dict):
        raise CardError("the card could not be read: place it again, flat on the reader")
    return data


def place(folder: Path | str, card: dict) -> Path:
    """Place a card on a simulated reader: written to a temporary name, then renamed, so it is never read half-done."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    tmp, final = folder / f"{stem}.tmp", folder / f"{stem}.json"
    tmp.write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, final)
    return final


READERS = {"sim": SimulatedReader}


def open_reader(address: str) -> IdCardReader:
    """The reader an address names: idcard:KIND:TARGET, KIND a key of READERS."""
    scheme, _, rest = address.partition(":")
    kind, _, target = rest.partition(":")
    if scheme != "idcard" or kind not in READERS or not target:
        raise UnknownDevice(f"{address!r} is not an ID-card reader address; accepted: {ADDRESS_FORM}")
    return READERS[kind](target)


# --- synthetic cards for demos and tests ------------------------------------------------------------------------

SURNAMES = "柏葛苗宁甄乔庄殷舒栾"
GIVEN = "林森秋云若溪海川小满晓青雨"
CITIES = ("云屏", "望川", "清澜", "景原", "明溪")
DISTRICTS = ("柳溪", "桐泽", "梧江", "松岩", "兰塘")
STREETS = ("望江路", "明湖路", "文澜街", "清风路", "锦绣路")


def synthetic_card(seed: int) -> dict:
    """An invented card whose number has a valid check digit in a region no real place has (99xxxx)."""
    rng = random.Random(seed)
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(55 * 365))
    issued = date(2015, 1, 1) + timedelta(days=rng.randrange(8 * 365))
    male = rng.random() < 0.5
    first17 = f"99{rng.randint(1, 40):02d}{rng.randint(1, 30):02d}{born:%Y%m%d}{rng.randrange(50):02d}" \
              f"{rng.choice('13579' if male else '02468')}"
    city, district = rng.choice(CITIES), rng.choice(DISTRICTS)
    return {"name": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.randint(1, 2))),
            "sex": "男" if male else "女", "ethnicity": "汉", "birth": born.isoformat(),
            "address": f"某某省{city}市{district}区{rng.choice(STREETS)}{rng.randint(1, 300)}号",
            "number": first17 + resident_id_check(first17), "authority": f"{city}市公安局{district}分局",
            "valid_from": issued.isoformat(), "valid_to": issued.replace(year=issued.year + 20).isoformat()}
