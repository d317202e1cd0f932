"""The end-to-end scenario shared by the command-line run (test_corrections.py) and the HTTP run (test_e2e_api.py):
the paper handed in, and what the product must say before it is corrected and once it is."""
from __future__ import annotations

import dataclasses

FLAGGED_FIGURES = {"coverage": (1, 1), "digitisation_cases": (0, 1), "digitisation_pages": (3, 4),
                   "timeliness": (0, 1), "usability": (0, 1), "cataloguing_accuracy": (3, 3),
                   "single_set_archiving": (0, 0)}


# The order the first stack is scanned in, with each scan's noise seed: claim page 2 left out, claim page 1 fed a
# second time after the notice, which is filed behind the claim's first page.
HANDED_IN = (("claim1", 1), ("notice", 4), ("claim1", 2), ("id", 3))


def handed_in_pages(case) -> dict:
    """The rendered pages handed in: the statement of claim (2 pages), the identity card, the notice of acceptance
    with its top — the court's name, its title and its case number — cut off the copy, so nothing on the page says
    a document begins there."""
    from synth.render import render_page
    docs = {d.type_code: d for d in case.documents}
    notice = docs["ACCEPT_NOTICE"].pages[0]
    untitled = dataclasses.replace(notice, lines=tuple(l for l in notice.lines
                                                       if l.style not in ("court", "title", "caseno")))
    return {"claim1": render_page(docs["COMPLAINT"].pages[0]).image,
            "claim2": render_page(docs["COMPLAINT"].pages[1]).image,
            "id": render_page(docs["PARTY_ID"].pages[0]).image, "notice": render_page(untitled).image}


def check_flagged(status: dict) -> None:
    """The status before any correction: the earliest FILING time kept, the receipt's flags, the documents."""
    assert status["case"]["stage"] == "FILING"                 # the earliest time reported, whatever came first
    assert status["case"]["stages"] == {"FILING": "2026-03-02T09:00:00+08:00"}
    receipt = status["receipts"][0]
    assert (receipt["pages_received"], receipt["pages_scanned"], receipt["pages_distinct"]) == (4, 4, 3)
    twice = receipt["scanned_twice"][0]
    assert status["missing"] == [
        "stage FILING since 2026-03-02: no notice of acceptance (受理案件通知书/诉讼风险提示书/举证通知书)",
        "receipt R-1: 4 pages received, 3 scanned (4 scanned, 1 of them twice)",
        f"receipt R-1: page 3 is page 1 scanned again (pages {twice['page_id']} and {twice['same_as']})"]
    # the notice, untitled, went with the claim's first page; the sheet fed twice starts a statement of claim again
    assert [(d["type_code"], d["pages"]) for d in status["documents"]] == [("COMPLAINT", 2), ("COMPLAINT", 1),
                                                                          ("PARTY_ID", 1)]
    assert status["digitised"] is False


def green_figures(documents: list[dict]) -> dict:
    """The figures once everything is corrected: digitised after its 2026-03-03 deadline, so not in time."""
    return {"coverage": (1, 1), "digitisation_cases": (1, 1), "digitisation_pages": (4, 4), "timeliness": (0, 1),
            "usability": (1, 1),
            "cataloguing_accuracy": (len(documents) - sum(d["corrected"] for d in documents), len(documents)),
            "single_set_archiving": (0, 0)}


def misfiled(status: dict) -> tuple[dict, int]:
    """The document the notice was filed in (the claim's first page and the notice), and the notice's page."""
    holder = status["documents"][0]
    return holder, holder["page_ids"][1]


def handed_in_later(earlier: dict, later: dict) -> dict:
    """The document the page handed in later was filed as: the one whose pages all came after the first stack."""
    first = max(p for d in earlier["documents"] for p in d["page_ids"])
    return next(d for d in later["documents"] if d["page_ids"][0] > first)


def check_green(final: dict, claim: dict, loose: dict, card: dict, notice_page: int) -> None:
    """The status once corrected: nothing missing, the three documents as they should be, the receipt matched;
    the identity card's copy was filed right from the start."""
    assert final["missing"] == [] and final["digitised"] is True, final["missing"]
    filed = [(d["type_code"], d["page_ids"], d["corrected"]) for d in final["documents"]]
    assert filed == [("COMPLAINT", claim["page_ids"] + loose["page_ids"], True), ("ACCEPT_NOTICE", [notice_page], True),
                     ("PARTY_ID", card["page_ids"], False)], filed        # in the order scanned
    receipt = final["receipts"][0]
    assert (receipt["pages_distinct"], receipt["digitised"], receipt["flags"]) == (4, True, [])
    assert final["pages"]["removed"] == 1
