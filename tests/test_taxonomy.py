"""The taxonomy file loads, is consistent and gives the binding orders of DOMAIN.md."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from classify.taxonomy import STAGES, VOLUMES, Taxonomy

CIVIL_FIRST_ZJ = (
    "COVER", "TOC", "FLOW_FORM", "TIMELINE", "COMPLAINT", "PARTY_ID", "EVIDENCE_LIST", "ACCEPT_NOTICE", "FEE",
    "RESPONSE_NOTICE", "ADDRESS_CONFIRM", "SERVICE_PROOF", "DEFENSE", "COUNTERCLAIM", "POA", "EVIDENCE",
    "PRESERVATION", "INVESTIGATION", "PRETRIAL_CONF", "APPRAISAL", "SUMMONS", "HEARING_NOTICE", "TRIAL_RECORD",
    "ARGUMENT", "MEDIATION_RECORD", "MEDIATION_DOC", "WITHDRAWAL", "JUDGMENT", "RULING", "DECISION",
    "PRONOUNCE_RECORD", "APPEAL", "APPEAL_TRANSFER", "RETURN_LETTER", "HIGHER_COURT_DOC", "EFFECTIVE_CERT",
    "EXHIBIT_DISPOSAL", "REMARKS", "BACK_COVER",
)
INTERNAL = ("COVER", "TOC", "FILE_REVIEW", "TRIAL_REPORT", "DELIBERATION", "JUDGES_MEETING", "COMMITTEE",
            "DRAFT_ORIGINAL", "INTERNAL_APPROVAL", "REQUEST_REPLY", "REMARKS", "BACK_COVER")
ENFORCEMENT = ("ENF_FLOW_FORM", "ENF_APPLICATION", "ENF_BASIS", "ENF_ACCEPT_NOTICE", "ENF_NOTICE", "PROPERTY_ORDER",
               "CONSUMPTION_LIMIT", "ASSET_QUERY", "ENF_RULING", "ASSIST_NOTICE", "ENF_RECORD", "AUCTION",
               "ENF_SETTLEMENT", "ENF_FUNDS", "SANCTION", "ENF_CLOSURE")


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


@pytest.fixture()
def raw() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[1] / "config" / "taxonomy.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_domain_type_is_present(taxonomy: Taxonomy) -> None:
    assert set(CIVIL_FIRST_ZJ + INTERNAL + ENFORCEMENT) <= set(taxonomy.codes)


def test_civil_first_main_volume_has_the_39_types_in_domain_order(taxonomy: Taxonomy) -> None:
    assert taxonomy.binding_order("civil_first", "ZJ") == CIVIL_FIRST_ZJ


def test_internal_volume_order(taxonomy: Taxonomy) -> None:
    for family in ("civil_first", "civil_second", "enforcement"):
        assert taxonomy.binding_order(family, "FJ") == INTERNAL


def test_second_instance_order_follows_domain(taxonomy: Taxonomy) -> None:
    order = taxonomy.binding_order("civil_second", "ZJ")
    assert order[:5] == ("COVER", "TOC", "APPEAL_TRANSFER", "LOWER_COURT_DOC", "APPEAL")
    assert order.index("TRIAL_RECORD") < order.index("CASE_REPORT") < order.index("DELIBERATION")
    assert order[-3:] == ("SERVICE_PROOF", "REMARKS", "BACK_COVER")


def test_enforcement_order_lists_the_enforcement_types_in_domain_order(taxonomy: Taxonomy) -> None:
    order = taxonomy.binding_order("enforcement", "ZJ")
    assert tuple(code for code in order if code in ENFORCEMENT) == ENFORCEMENT


def test_every_binding_order_code_exists(taxonomy: Taxonomy) -> None:
    for (family, volume), codes in taxonomy.orders.items():
        for code in codes:
            assert taxonomy.get(code).code == code, f"{family}/{volume}"


def test_types_carry_valid_attributes(taxonomy: Taxonomy) -> None:
    for doc in taxonomy.types:
        assert doc.stage in STAGES and doc.volume in VOLUMES and doc.name and doc.english
    unnumbered = {doc.code for doc in taxonomy.types if not doc.numbered}
    assert unnumbered == {"COVER", "TOC", "REMARKS", "BACK_COVER"}


def test_type_details(taxonomy: Taxonomy) -> None:
    complaint = taxonomy.get("COMPLAINT")
    assert complaint.name == "民事起诉状/口头起诉笔录" and complaint.stage == "FILING" and complaint.volume == "ZJ"
    assert "民事起诉状" in complaint.titles and "起诉状" in complaint.titles and "诉讼请求" in complaint.cues
    assert complaint.family == "书状"
    assert taxonomy.get("DELIBERATION").volume == "FJ"
    assert taxonomy.get("FILE_REVIEW").stage == "PRETRIAL"
    assert taxonomy.get("ENF_APPLICATION").stage == "FILING"
    assert taxonomy.get("ENF_NOTICE").stage == "ENFORCEMENT"


def test_get_unknown_code_names_it(taxonomy: Taxonomy) -> None:
    with pytest.raises(KeyError, match="NO_SUCH_TYPE"):
        taxonomy.get("NO_SUCH_TYPE")


def test_case_type_families(taxonomy: Taxonomy) -> None:
    assert taxonomy.family_of_case_type("民初") == "civil_first"
    assert taxonomy.family_of_case_type("民终") == "civil_second"
    assert taxonomy.family_of_case_type("执恢") == "enforcement"
    assert taxonomy.family_of_case_type("执") == "enforcement"
    assert taxonomy.family_of_case_type("刑初") == "civil_first"   # unknown → civil first-instance ordering


def test_sort_key_puts_unlisted_types_last(taxonomy: Taxonomy) -> None:
    codes = ["JUDGMENT", "ENF_NOTICE", "COMPLAINT", "COVER", "TRIAL_REPORT"]
    ordered = sorted(codes, key=lambda code: taxonomy.sort_key("civil_first", "ZJ", code))
    assert ordered == ["COVER", "COMPLAINT", "JUDGMENT", "ENF_NOTICE", "TRIAL_REPORT"]


def test_unknown_binding_order_raises(taxonomy: Taxonomy) -> None:
    with pytest.raises(KeyError, match="criminal"):
        taxonomy.binding_order("criminal", "ZJ")


def test_load_from_an_explicit_path(tmp_path: Path, raw: dict[str, Any]) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert Taxonomy.load(path).codes == Taxonomy.load().codes


def test_unknown_code_in_a_binding_order_is_rejected(raw: dict[str, Any]) -> None:
    raw["binding_orders"]["civil_first"]["ZJ"] = [*raw["binding_orders"]["civil_first"]["ZJ"], "NOT_A_TYPE"]
    with pytest.raises(ValueError, match="civil_first/ZJ.*NOT_A_TYPE"):
        Taxonomy.from_dict(raw)


def test_duplicate_type_code_is_rejected(raw: dict[str, Any]) -> None:
    raw["types"].append(dict(raw["types"][0]))
    with pytest.raises(ValueError, match="duplicate.*COVER"):
        Taxonomy.from_dict(raw)


def test_bad_stage_and_rule_codes_are_rejected(raw: dict[str, Any]) -> None:
    bad_stage = {**raw, "types": [{**raw["types"][0], "stage": "LATER"}, *raw["types"][1:]]}
    with pytest.raises(ValueError, match="COVER.*LATER"):
        Taxonomy.from_dict(bad_stage)
    raw["rules"]["body"].append({"when": "RULING", "words": ["x"], "code": "MISSING"})
    with pytest.raises(ValueError, match="rules.body.*MISSING"):
        Taxonomy.from_dict(raw)
