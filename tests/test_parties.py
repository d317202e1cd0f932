"""Parties read from the party block of a document."""
from __future__ import annotations

from classify.parties import Party, find_parties

COMPLAINT = """民事起诉状
原告：柏林森，男，1980年3月2日出生，汉族，住某某省某某市某某路8号。
被告：某某贸易有限公司，住所地某某省某某市某某路1号。
法定代表人：葛秋云，该公司经理。
委托诉讼代理人：宁海川，某某律师事务所律师。
第三人：苗若溪；女，1990年出生。
诉讼请求：
1.判令被告归还借款十万元。
"""


def test_parties_of_a_complaint_in_order() -> None:
    assert find_parties(COMPLAINT) == [
        Party("原告", "柏林森"),
        Party("被告", "某某贸易有限公司"),
        Party("法定代表人", "葛秋云"),
        Party("委托诉讼代理人", "宁海川"),
        Party("第三人", "苗若溪"),
    ]


def test_roles_that_contain_other_roles() -> None:
    text = ("上诉人（原审被告）：柏林森，男。\n被上诉人（原审原告）：葛秋云，女。\n原审第三人：苗若溪。\n"
            "申请执行人：某某银行股份有限公司某某支行\n被执行人：宁海川(曾用名宁川)\n被申请人:  甄小满  \n")
    assert find_parties(text) == [
        Party("上诉人", "柏林森"),
        Party("被上诉人", "葛秋云"),
        Party("原审第三人", "苗若溪"),
        Party("申请执行人", "某某银行股份有限公司某某支行"),
        Party("被执行人", "宁海川"),
        Party("被申请人", "甄小满"),
    ]


def test_ocr_spaces_are_removed_and_duplicates_dropped() -> None:
    text = "原 告 ： 柏 林 森 ，男\n原告：柏林森，男，汉族。\n申请人：柏林森（身份证号略）"
    assert find_parties(text) == [Party("原告", "柏林森"), Party("申请人", "柏林森")]


def test_narrative_lines_are_not_party_lines() -> None:
    text = "原告诉称：被告拖欠货款。\n被告辩称：已经付清。\n本院认为，原告的诉讼请求成立。\n原告："
    assert find_parties(text) == []


def test_an_empty_role_line_does_not_take_the_next_line() -> None:
    assert find_parties("原告：\n被告：某某贸易有限公司") == [Party("被告", "某某贸易有限公司")]
