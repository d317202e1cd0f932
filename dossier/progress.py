"""How far a case has come and what its dossier still lacks: the stage it has reached (from the events the
case-management system reports, which may come twice or out of order) and, per case family, the documents a
complete dossier holds once that stage is reached (config/stages.yaml), said in words an operator can act on."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from classify.taxonomy import Taxonomy
from dossier.calendar import WorkCalendar

DEFAULT_FILE = "stages.yaml"
STAGE_NAMES = {"FILING": "立案", "PRETRIAL": "审前", "TRIAL": "庭审", "JUDGMENT": "裁判", "SERVICE": "送达",
               "ENFORCEMENT": "执行", "ARCHIVING": "归档"}


class UnknownStage(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    stage: str                      # the stage from which it is required
    options: tuple[str, ...]        # document types; one of them is enough


@dataclass(frozen=True)
class StageRules:
    stages: tuple[str, ...]
    requirements: dict[str, tuple[Requirement, ...]]     # case family → in stage order
    deadline_working_days: int = 1
    closing_stage: str = "JUDGMENT"

    @classmethod
    def load(cls, path: Path | None = None, taxonomy: Taxonomy | None = None) -> "StageRules":
        text = (resources.files("config").joinpath(DEFAULT_FILE).read_text(encoding="utf-8") if path is None
                else Path(path).read_text(encoding="utf-8"))
        data = yaml.safe_load(text) or {}
        stages = tuple(data.get("stages") or STAGE_NAMES)
        rules = cls(stages, {family: _requirements(family, by_stage or {}, stages)
                             for family, by_stage in (data.get("requirements") or {}).items()},
                    int(data.get("deadline_working_days", 1)), str(data.get("closing_stage", "JUDGMENT")))
        rules._check(taxonomy or Taxonomy.load())
        return rules

    def _check(self, taxonomy: Taxonomy) -> None:
        if self.closing_stage not in self.stages:
            raise ValueError(f"stages.yaml: closing_stage {self.closing_stage!r} is not one of the stages")
        known = set(taxonomy.codes)
        for family, needed in self.requirements.items():
            if family not in taxonomy.families:
                raise ValueError(f"stages.yaml: requirements for an unknown case family {family!r}")
            for requirement in needed:
                unknown = [code for code in requirement.options if code not in known]
                if unknown:
                    raise ValueError(f"stages.yaml: {family} {requirement.stage} names unknown document types "
                                     f"{', '.join(unknown)}")

    def stage(self, text: str) -> str:
        """A stage code from its code or Chinese name, any case."""
        wanted = text.strip().upper()
        for code in self.stages:
            if wanted == code or text.strip() == STAGE_NAMES.get(code):
                return code
        raise UnknownStage(f"unknown stage {text!r}: one of {', '.join(self.stages)}")

    def current(self, reached: dict[str, float]) -> tuple[str, float] | None:
        """The stage reached last (the latest time; on the same time, the later stage)."""
        if not reached:
            return None
        stage = max(reached, key=lambda s: (reached[s], self.stages.index(s) if s in self.stages else -1))
        return stage, reached[stage]

    @property
    def closing(self) -> tuple[str, ...]:
        """The stages at which a case counts as closed: the closing stage and every later one."""
        return self.stages[self.stages.index(self.closing_stage):]

    def closed_at(self, reached: dict[str, float]) -> float | None:
        times = [at for stage, at in reached.items() if stage in self.closing]
        return min(times) if times else None

    def required(self, family: str, stage: str) -> tuple[Requirement, ...]:
        """What a dossier of `family` holds once `stage` is reached: the stage's own requirements and those of
        every stage before it."""
        upto = self.stages.index(stage)
        return tuple(r for r in self.requirements.get(family, ())
                     if self.stages.index(r.stage) <= upto)


def _requirements(family: str, by_stage: dict, stages: tuple[str, ...]) -> tuple[Requirement, ...]:
    found = []
    for stage in stages:
        for item in by_stage.get(stage) or ():
            found.append(Requirement(stage, tuple(item) if isinstance(item, list) else (str(item),)))
    extra = set(by_stage) - set(stages)
    if extra:
        raise ValueError(f"stages.yaml: {family} lists unknown stages {', '.join(sorted(extra))}")
    return tuple(found)


@dataclass(frozen=True)
class Progress:
    stage: str | None
    since: float | None
    missing: tuple[str, ...]        # sentences, for the operator
    missing_types: tuple[tuple[str, ...], ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def progress(rules: StageRules, taxonomy: Taxonomy, calendar: WorkCalendar, family: str,
             reached: dict[str, float], present: set[str]) -> Progress:
    """The case's stage and the required documents it lacks."""
    current = rules.current(reached)
    if current is None:
        return Progress(None, None, (), ())
    stage, since = current
    lacking = [r for r in rules.required(family, stage) if not set(r.options) & present]
    day = calendar.day_of(since).isoformat()
    return Progress(stage, since,
                    tuple(f"stage {stage} since {day}: no {_names(taxonomy, r.options)}" for r in lacking),
                    tuple(r.options for r in lacking))


def _names(taxonomy: Taxonomy, codes: tuple[str, ...]) -> str:
    names = [f"{taxonomy.get(c).english} ({taxonomy.get(c).name})" for c in codes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
