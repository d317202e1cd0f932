"""Case numbers, ID numbers, credit codes and masking in OCR text."""
from __future__ import annotations

import pytest

from classify.identifiers import (
    CaseNumber,
    Identifier,
    find_case_numbers,
    find_identifiers,
    mask_identifier,
    mask_text,
    normalise_ocr_text,
    parse_case_number,
    valid_credit_code,
    valid_resident_id,
)

# Synthetic people: regions 990101/990203 do not exist; check characters are valid.
SYNTH_ID_A = "990101198506121238"
SYNTH_ID_B = "990203199002280043"
SYNTH_CREDIT = "91990101MA2B3C4D56"


# --- case numbers ---------------------------------------------------------------------------------------------------

def test_parses_a_modern_case_number_into_its_parts() -> None:
    number = parse_case_number("（2021）浙0803民初1234号")
    assert number == CaseNumber(2021, "浙0803", "", "民初", 1234, False)
    assert number.text == "（2021）浙0803民初1234号"


@pytest.mark.parametrize("raw", [
    "(2O21)浙O8O3民初l234号",
    "（ 2021 ）浙0803民初 1234号",
    "（２０２１）浙０８０３民初１２３４号",
    "〔2021〕浙0803民初1234号",
    "[2021]浙0803民初1234号",
    "（2021）浙08 03 民 初1234号",
])
def test_ocr_noise_and_bracket_variants_give_the_canonical_number(raw: str) -> None:
    number = parse_case_number(raw)
    assert number is not None
    assert number.text == "（2021）浙0803民初1234号"
    assert number.raw.replace(" ", "") != ""


def test_a_case_number_wrapped_over_two_lines_is_joined() -> None:
    page = "本院受理原告诉被告民间借贷纠纷一案，案号（2021）浙0803民\n初1234号，现已审理终结。"
    assert [n.text for n in find_case_numbers(page)] == ["（2021）浙0803民初1234号"]


def test_court_levels_and_special_mark() -> None:
    texts = ["（2019）最高法知民终1号", "（2020）沪01执恢12号", "（2022）粤民再7号", "（2023）京0105执保300号"]
    numbers = [parse_case_number(text) for text in texts]
    assert [n.court for n in numbers] == ["最高法", "沪01", "粤", "京0105"]
    assert [n.type_code for n in numbers] == ["民终", "执恢", "民再", "执保"]
    assert numbers[0].special == "知"
    assert [n.text for n in numbers] == texts


def test_legacy_numbers_keep_their_form() -> None:
    number = parse_case_number("（2012）玉区法民初字第1486号")
    assert number == CaseNumber(2012, "玉区法", "", "民初", 1486, True)
    assert number.text == "（2012）玉区法民初字第1486号"
    assert parse_case_number("(2014)沪一中民四(商)终字第1号").court == "沪一中"


@pytest.mark.parametrize("raw", ["（2021）京方圆内经证字第123号", "（2020）司鉴字第12号", "（2021）浙0803公证12号"])
def test_notary_and_appraisal_numbers_are_rejected_in_strict_mode(raw: str) -> None:
    assert parse_case_number(raw) is None
    assert find_case_numbers(f"依据{raw}公证书") == []


def test_non_strict_mode_accepts_unknown_type_codes() -> None:
    assert parse_case_number("（2021）京方圆内经证字第123号", strict=False) is not None


@pytest.mark.parametrize("raw", ["（1948）浙0803民初1号", "（2101）浙0803民初1号", "（2021）浙0803民初号"])
def test_years_out_of_range_and_missing_sequence_are_rejected(raw: str) -> None:
    assert parse_case_number(raw) is None


def test_parse_wants_exactly_one_number() -> None:
    assert parse_case_number("案号：（2021）浙0803民初1234号") is None
    assert parse_case_number("（2021）浙0803民初1号（2021）浙0803民初2号") is None
    assert parse_case_number("  （2021）浙0803民初1234号\n") is not None


def test_find_lists_distinct_numbers_in_reading_order() -> None:
    page = ("上诉人不服浙江省某某县人民法院（2021）浙0803民初1234号民事判决，本院于2022年立案，"
            "案号为（2022）浙08民终56号。原审（2021）浙0803民初1234号判决认定事实清楚。"
            "另查明（2010）浙杭民初字第88号案件已结。")
    assert [n.text for n in find_case_numbers(page)] == [
        "（2021）浙0803民初1234号", "（2022）浙08民终56号", "（2010）浙杭民初字第88号"]


def test_normalise_fixes_case_numbers_and_digit_runs_only() -> None:
    text = normalise_ocr_text("（2O21）浙O8O3民\n初l234号 金额1O0元 Hello World")
    assert text == "(2021)浙0803民初1234号 金额100元 Hello World"


def test_normalise_fixes_id_numbers_read_with_letters() -> None:
    assert normalise_ocr_text("身份证号 99O1O1198506121238 ") == f"身份证号 {SYNTH_ID_A} "


# --- resident IDs and credit codes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["11010519491231002X", "360426199101010071", SYNTH_ID_A, SYNTH_ID_B,
                                   "11010519491231002x"])
def test_valid_resident_ids(value: str) -> None:
    assert valid_resident_id(value)


@pytest.mark.parametrize("value", [
    "110105194912310021",   # wrong check character
    "360426199101010072",   # wrong check character
    "990101198502301234",   # 30 February
    "99010119850612123",    # 17 characters
    "9901011985061212X8",   # X not last
])
def test_invalid_resident_ids(value: str) -> None:
    assert not valid_resident_id(value)


def test_old_fifteen_digit_ids_need_a_valid_date() -> None:
    assert valid_resident_id("990101850612123")
    assert not valid_resident_id("990101851312123")


def test_credit_codes() -> None:
    assert valid_credit_code("91110000600037341L")
    assert valid_credit_code(SYNTH_CREDIT)
    assert not valid_credit_code("91110000600037341K")
    assert not valid_credit_code("91110000600037341")
    assert not valid_credit_code("9111000060003734IL")   # I is not in the alphabet


def test_find_identifiers_keeps_only_checksum_valid_ones() -> None:
    text = (f"原告身份证号{SYNTH_ID_A}，被告统一社会信用代码{SYNTH_CREDIT}；"
            f"另一号码990101198506121239无效；再写一次{SYNTH_ID_A}。")
    assert find_identifiers(text) == [Identifier("resident_id", SYNTH_ID_A), Identifier("credit_code", SYNTH_CREDIT)]


def test_all_digit_tokens_are_tried_as_ids_first() -> None:
    assert find_identifiers("号码 360426199101010071") == [Identifier("resident_id", "360426199101010071")]


def test_find_identifiers_reads_full_width_and_ocr_noise() -> None:
    assert find_identifiers("身份证：９９０１０１１９８５０６１２１２３８") == [Identifier("resident_id", SYNTH_ID_A)]
    assert find_identifiers("身份证：99O1O1198506121238") == [Identifier("resident_id", SYNTH_ID_A)]


# --- masking ----------------------------------------------------------------------------------------------------------

def test_mask_identifier_keeps_region_and_last_four() -> None:
    assert mask_identifier("11010519491231002X") == "110105********002X"
    assert mask_identifier("91110000600037341L") == "911100********341L"


def test_mask_text_hides_ids_phones_cards_and_credit_codes_in_a_log_line() -> None:
    line = (f"2024-05-06 09:12:33 kiosk-3 filed for 申请人身份证{SYNTH_ID_B} "
            f"(invalid one 990203199002280044), phone 13912345678, 电话：+86 139-1234-5678, "
            f"card 6222021234567890123, 卡号 6222 0212 3456 7890, company {SYNTH_CREDIT}, "
            f"old id 990101850612123, case （2021）浙0803民初1234号")
    masked = mask_text(line)
    for clear in (SYNTH_ID_B, "990203199002280044", "13912345678", "1234-5678", "6222021234567890123",
                  "0212 3456", SYNTH_CREDIT, "990101850612123"):
        assert clear not in masked
    assert "990203********0043" in masked
    assert "139****5678" in masked
    assert "（2021）浙0803民初1234号" in masked
    assert masked.startswith("2024-05-06 09:12:33 kiosk-3")


def test_mask_text_leaves_ordinary_text_alone() -> None:
    text = "收到材料3份共12页，金额100000元，时间20240506。"
    assert mask_text(text) == text
