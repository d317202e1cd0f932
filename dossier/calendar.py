"""Working days of the court, from a holiday calendar file (config/holidays.yaml): public holidays off, the
weekend days worked instead (调休) on, otherwise Monday to Friday. Deadlines end at midnight, court time."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

DEFAULT_FILE = "holidays.yaml"


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    zone: ZoneInfo

    @classmethod
    def load(cls, path: Path | None = None) -> "WorkCalendar":
        text = (resources.files("config").joinpath(DEFAULT_FILE).read_text(encoding="utf-8") if path is None
                else Path(path).read_text(encoding="utf-8"))
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"holiday calendar {path or DEFAULT_FILE} does not hold a mapping")
        return cls(frozenset(_days(data.get("holidays") or [])), frozenset(_days(data.get("workdays") or [])),
                   ZoneInfo(str(data.get("timezone", "Asia/Shanghai"))))

    def is_working(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def day_of(self, at: float) -> dt.date:
        return dt.datetime.fromtimestamp(at, self.zone).date()

    def deadline(self, received_at: float, working_days: int = 1) -> float:
        """The end (midnight, court time) of the `working_days`-th working day after the day of `received_at`; with
        0, the end of that day itself, or of the next working day when it was received on a day off."""
        day, left = self.day_of(received_at), working_days
        if left == 0 and not self.is_working(day):
            left = 1
        while left > 0:
            day += dt.timedelta(days=1)
            left -= self.is_working(day)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.zone)
        return end.timestamp()


def _days(items) -> list[dt.date]:
    found = []
    for item in items:
        if isinstance(item, dict):
            first, last = _date(item["from"]), _date(item["to"])
            if last < first:
                raise ValueError(f"holiday range {first} to {last} ends before it starts")
            found += [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        else:
            found.append(_date(item))
    return found


def _date(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{value!r} in the holiday calendar is not a date (YYYY-MM-DD)") from exc
