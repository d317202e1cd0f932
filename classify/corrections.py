"""People's corrections applied to a stack's documents as classification drafted them.

Classification runs again whenever a stack changes (a page arrives, a page is retried); the corrections recorded
for the stack are applied to its fresh drafts every time, in the order they were made, so a person's correction is
never undone. Corrections name pages, never documents (documents are made again each time): "the document holding
page 12 is a judgment", "a new document starts at page 15", "page 9 goes after the pages of the document holding
page 30". A correction about pages of other stacks changes here only what lies in this stack: a page moved away
leaves it, a page moved in from elsewhere joins the document it was moved to.

Each draft is a dict with at least `page_ids`, `case_no`, `volume`, `type_code`, `title`, `confidence`, `review`,
`reason` and `corrected`; every draft a correction changed is marked `corrected`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from classify.taxonomy import Taxonomy

KINDS = ("type", "split", "merge", "reorder", "move", "rescan", "replace", "remove")
SPLIT_STEP = 1e-6     # a part split off binds after the part before it: received orders are epoch seconds, whose
                      # float keeps ≈ 2.4e-7 s; a page's position times this stays well below the next file's 1e-3


@dataclass
class Applied:
    drafts: list[dict]
    left_out: dict[int, str] = field(default_factory=dict)      # page id → role: "replaced" | "removed"
    moved_to: dict[int, str] = field(default_factory=dict)      # page id → case, for pages of this stack in no
                                                                # document of it: filed elsewhere, or left out


def apply(drafts: list[dict], corrections: list[dict], taxonomy: Taxonomy) -> Applied:
    """The drafts with every correction applied, in order; what each one cannot find in this stack it leaves."""
    state = Applied([dict(d, page_ids=list(d["page_ids"])) for d in drafts])
    for correction in sorted(corrections, key=lambda c: c["id"]):
        STEPS[correction["kind"]](state, correction["detail"], taxonomy, correction["actor"])
        state.drafts = [d for d in state.drafts if d["page_ids"]]
    return state


def _holding(state: Applied, page_id: int) -> dict | None:
    return next((d for d in state.drafts if page_id in d["page_ids"]), None)


def _mark(draft: dict, actor: str) -> None:
    """Changed by a person. Only giving it its type confirms the type: a document in review stays there after its
    pages were moved, split or merged."""
    draft.update(corrected=True, reason=f"corrected by {actor}")


def _type(state: Applied, detail: dict, taxonomy: Taxonomy, actor: str) -> None:
    draft = _holding(state, detail["page"])
    if draft is None:
        return
    found = taxonomy.get(detail["type_code"])
    confirmed = found.code == draft["type_code"] and not draft.get("corrected")
    draft.update(type_code=found.code, title=found.name.split("/")[0], volume=found.volume, confidence=1.0,
                 review=False)
    if confirmed:        # the type filed automatically, confirmed by a person: right, not corrected
        draft.update(reason=f"type confirmed by {actor}")
    else:
        _mark(draft, actor)


def _split(state: Applied, detail: dict, taxonomy: Taxonomy, actor: str) -> None:
    draft = _holding(state, detail["page"])
    if draft is None or draft["page_ids"][0] == detail["page"]:
        return
    at = draft["page_ids"].index(detail["page"])
    second = dict(draft, page_ids=draft["page_ids"][at:], separator_page_id=None,
                  received_order=draft["received_order"] + at * SPLIT_STEP)
    draft["page_ids"] = draft["page_ids"][:at]
    _mark(draft, actor)
    _mark(second, actor)
    state.drafts.insert(state.drafts.index(draft) + 1, second)


def _merge(state: Applied, detail: dict, taxonomy: Taxonomy, actor: str) -> None:
    """The second document's pages (as they were when merged) follow the first's, in whichever stack each is."""
    first, second = _holding(state, detail["page"]), _holding(state, detail["with_page"])
    if first is not None and first is second:
        return
    joining = [p for p in detail["pages"] if first is None or p not in first["page_ids"]]
    if second is not None:
        second["page_ids"] = [p for p in second["page_ids"] if p not in joining]
        _mark(second, actor)
        if first is None:
            state.moved_to.update({p: detail["case"] for p in joining})
    if first is not None:
        first["page_ids"] += joining
        _mark(first, actor)


def _reorder(state: Applied, detail: dict, taxonomy: Taxonomy, actor: str) -> None:
    draft = _holding(state, detail["page"])
    if draft is None:
        return
    listed = [p for p in detail["order"] if p in draft["page_ids"]]
    draft["page_ids"] = listed + [p for p in draft["page_ids"] if p not in listed]
    _mark(draft, actor)


def _move(state: Applied, detail: dict, taxonomy: Taxonomy, actor: str) -> None:
    page = detail["page"]
    source = _holding(state, page)
    if source is not None:
        source["page_ids"].remove(page)
        _mark(source, actor)
    away = source is not None or page in state.moved_to        # a page of this stack, filed here or elsewhere
    if detail.get("to_page") is not None:
        target = _holding(state, detail["to_page"])
        if target is not None:
            target["page_ids"].append(page)
            _mark(target, actor)
            state.moved_to.pop(page, None)
        elif away:
            state.moved_to[page] = detail["to_case"]
    elif source is not None:
        alone = dict(source, page_ids=[page], case_no=detail["to_case"], separator_page_id=None)
        _mark(alone, actor)
        state.drafts.append(alone)
    elif away:
        state.moved_to[page] = detail["to_case"]


def _rescan(state: Applied, detail: dict, taxonomy: Taxonomy, actor: str) -> None:
    """The page stays where it is until its rescan replaces it: the case's status lists it meanwhile."""


def _replace(state: Applied, detail: dict, taxonomy: Taxonomy, actor: str) -> None:
    old, new = detail["page"], detail["by"]
    elsewhere = _holding(state, new)
    if elsewhere is not None:
        elsewhere["page_ids"].remove(new)
    draft = _holding(state, old)
    if draft is not None:
        draft["page_ids"][draft["page_ids"].index(old)] = new
        _mark(draft, actor)
        state.left_out[old] = "replaced"
        state.moved_to[old] = draft["case_no"]            # out of the dossier, still the case's in the record
    elif elsewhere is not None:
        state.moved_to[new] = detail["case"]


def _remove(state: Applied, detail: dict, taxonomy: Taxonomy, actor: str) -> None:
    draft = _holding(state, detail["page"])
    if draft is not None:
        draft["page_ids"].remove(detail["page"])
        _mark(draft, actor)
        state.left_out[detail["page"]] = "removed"
        state.moved_to[detail["page"]] = draft["case_no"]


STEPS = {"type": _type, "split": _split, "merge": _merge, "reorder": _reorder, "move": _move, "rescan": _rescan,
         "replace": _replace, "remove": _remove}
