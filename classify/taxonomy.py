"""The document taxonomy: types, binding orders and classification rules, read and validated from config/taxonomy.yaml."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

STAGES = ("FILING", "PRETRIAL", "TRIAL", "JUDGMENT", "SERVICE", "ENFORCEMENT", "ARCHIVING")
VOLUMES = ("ZJ", "FJ")
FAMILIES_2018 = ("判决书", "裁定书", "决定书", "调解书", "支付令", "法院令", "通知书", "告知书", "传票", "笔录",
                 "送达回证", "书状", "其他")
DEFAULT_FILE = "taxonomy.yaml"


@dataclass(frozen=True)
class DocType:
    """One document type: what it is called, where it goes and how its first page is recognised."""
    code: str
    name: str
    english: str
    stage: str
    volume: str
    titles: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    family: str = ""
    numbered: bool = True


@dataclass(frozen=True)
class BodyRule:
    """A title match of type `when` whose page text holds any of `words` is of type `code`."""
    when: str
    words: tuple[str, ...]
    code: str


@dataclass(frozen=True)
class NoticeRule:
    """A '…通知书' title with `word` before 通知书 is one of `codes` (told apart by the case family)."""
    word: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Remap:
    """Within a case of `family`, a document of type `source` is filed as `target`."""
    family: str
    source: str
    target: str


@dataclass(frozen=True)
class CaseNumberRule:
    """Decided by the caller: one of `doc_codes` carrying a case number of `doc_case_types` in a `case_family` case is `code`."""
    code: str
    doc_codes: tuple[str, ...]
    case_family: str
    doc_case_types: tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    """The special cues that refine a title match."""
    body: tuple[BodyRule, ...] = ()
    notices: tuple[NoticeRule, ...] = ()
    family_remap: tuple[Remap, ...] = ()
    case_number: tuple[CaseNumberRule, ...] = ()

    def codes(self) -> Iterable[tuple[str, str]]:
        """Every (where, code) the rules mention, for validation."""
        for rule in self.body:
            yield "rules.body", rule.when
            yield "rules.body", rule.code
        for notice in self.notices:
            yield from (("rules.notices", code) for code in notice.codes)
        for remap in self.family_remap:
            yield "rules.family_remap", remap.source
            yield "rules.family_remap", remap.target
        for cn_rule in self.case_number:
            yield "rules.case_number", cn_rule.code
            yield from (("rules.case_number", code) for code in cn_rule.doc_codes)


@dataclass(frozen=True)
class Taxonomy:
    """All document types with their binding orders per (case family, volume); validated when built."""
    types: tuple[DocType, ...]
    orders: Mapping[tuple[str, str], tuple[str, ...]]
    case_families: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    rules: Rules = Rules()
    default_family: str = "civil_first"

    def __post_init__(self) -> None:
        _check_types(self.types)
        known = {doc.code for doc in self.types}
        _check_orders(self.orders, known)
        _check_families(self.case_families, self.default_family, self.orders)
        _check_rules(self.rules, known, {family for family, _ in self.orders})

    @classmethod
    def load(cls, path: Path | None = None) -> Taxonomy:
        """Read the taxonomy file; by default the taxonomy.yaml of the `config` package."""
        if path is None:
            text = resources.files("config").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError(f"taxonomy file {path or DEFAULT_FILE} does not hold a mapping")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Taxonomy:
        """Build from the parsed YAML structure (see config/taxonomy.yaml for the layout)."""
        return cls(
            types=tuple(_parse_type(i, entry) for i, entry in enumerate(data.get("types") or [])),
            orders=MappingProxyType(_parse_orders(data.get("binding_orders") or {})),
            case_families=MappingProxyType(dict(data.get("case_families") or {})),
            rules=_parse_rules(data.get("rules") or {}),
            default_family=str(data.get("default_family", "civil_first")),
        )

    @cached_property
    def _index(self) -> Mapping[str, DocType]:
        return MappingProxyType({doc.code: doc for doc in self.types})

    @property
    def codes(self) -> tuple[str, ...]:
        """Every type code, in file order."""
        return tuple(doc.code for doc in self.types)

    @property
    def families(self) -> tuple[str, ...]:
        """Case families that have binding orders."""
        return tuple(dict.fromkeys(family for family, _ in self.orders))

    def get(self, code: str) -> DocType:
        """The type with this code; KeyError naming the known codes otherwise."""
        try:
            return self._index[code]
        except KeyError:
            raise KeyError(f"unknown document type {code!r}; known types: {', '.join(self.codes)}") from None

    def binding_order(self, family: str, volume: str) -> tuple[str, ...]:
        """Type codes in binding order for a case family ('civil_first', …) and volume ('ZJ'/'FJ')."""
        try:
            return self.orders[(family, volume)]
        except KeyError:
            known = ", ".join(f"{f}/{v}" for f, v in self.orders)
            raise KeyError(f"no binding order for {family}/{volume}; known: {known}") from None

    def family_of_case_type(self, type_code: str) -> str:
        """Case family of a case type code (民初 → civil_first, 执恢 → enforcement); unknown codes → default family."""
        return self.case_families.get(type_code.strip(), self.default_family)

    def sort_key(self, family: str, volume: str, code: str) -> int:
        """Position of `code` in the binding order; types not in the order all sort after those in it."""
        order = self.binding_order(family, volume)
        return order.index(code) if code in order else len(order)


def _parse_type(position: int, entry: Mapping[str, Any]) -> DocType:
    missing = [key for key in ("code", "name", "english", "stage", "volume") if not entry.get(key)]
    if missing:
        raise ValueError(f"taxonomy type #{position + 1} ({entry.get('code', '?')}) lacks {', '.join(missing)}")
    return DocType(
        code=str(entry["code"]), name=str(entry["name"]), english=str(entry["english"]),
        stage=str(entry["stage"]), volume=str(entry["volume"]),
        titles=_strings(entry.get("titles")), cues=_strings(entry.get("cues")),
        family=str(entry.get("family") or ""), numbered=bool(entry.get("numbered", True)),
    )


def _parse_orders(data: Mapping[str, Mapping[str, Iterable[str]]]) -> dict[tuple[str, str], tuple[str, ...]]:
    return {(str(family), str(volume)): _strings(codes)
            for family, volumes in data.items() for volume, codes in volumes.items()}


def _parse_rules(data: Mapping[str, Any]) -> Rules:
    return Rules(
        body=tuple(BodyRule(r["when"], _strings(r["words"]), r["code"]) for r in data.get("body") or []),
        notices=tuple(NoticeRule(r["word"], _strings(r["codes"])) for r in data.get("notices") or []),
        family_remap=tuple(Remap(r["family"], r["from"], r["to"]) for r in data.get("family_remap") or []),
        case_number=tuple(
            CaseNumberRule(r["code"], _strings(r["doc_codes"]), r["case_family"], _strings(r["doc_case_types"]))
            for r in data.get("case_number") or []),
    )


def _strings(values: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(str(value) for value in values or ())


def _check_types(types: tuple[DocType, ...]) -> None:
    seen: set[str] = set()
    for doc in types:
        if doc.code in seen:
            raise ValueError(f"duplicate document type code {doc.code!r} in the taxonomy")
        seen.add(doc.code)
        if doc.stage not in STAGES:
            raise ValueError(f"type {doc.code}: unknown stage {doc.stage!r}; expected one of {', '.join(STAGES)}")
        if doc.volume not in VOLUMES:
            raise ValueError(f"type {doc.code}: unknown volume {doc.volume!r}; expected ZJ or FJ")
        if doc.family and doc.family not in FAMILIES_2018:
            raise ValueError(f"type {doc.code}: {doc.family!r} is not one of the 2018 families")


def _check_orders(orders: Mapping[tuple[str, str], tuple[str, ...]], known: set[str]) -> None:
    for (family, volume), codes in orders.items():
        where = f"binding order {family}/{volume}"
        if volume not in VOLUMES:
            raise ValueError(f"{where}: unknown volume {volume!r}; expected ZJ or FJ")
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise ValueError(f"{where}: unknown type code(s) {', '.join(unknown)}")
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"{where}: type code(s) listed twice: {', '.join(repeated)}")


def _check_families(case_families: Mapping[str, str], default: str,
                    orders: Mapping[tuple[str, str], tuple[str, ...]]) -> None:
    with_orders = {family for family, _ in orders}
    if orders and default not in with_orders:
        raise ValueError(f"default family {default!r} has no binding order")
    for type_code, family in case_families.items():
        if family not in with_orders:
            raise ValueError(f"case type {type_code}: family {family!r} has no binding order")


def _check_rules(rules: Rules, known: set[str], families: set[str]) -> None:
    for where, code in rules.codes():
        if code not in known:
            raise ValueError(f"{where}: unknown type code {code!r}")
    for remap in rules.family_remap:
        if remap.family not in families:
            raise ValueError(f"rules.family_remap: unknown case family {remap.family!r}")
