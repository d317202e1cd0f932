"""Finding a page's title in its layout and classifying the document it starts."""
from __future__ import annotations

import pytest

from classify.doctype import UNKNOWN, classify, find_title, refine_by_case_number, starts_document, title_family
from classify.taxonomy import Taxonomy
from ocr.types import Line, PageLayout, Word

WIDTH, HEIGHT = 2480, 3508          # A4 at 300 dpi
BODY_H, TITLE_H = 42, 78


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def centred(text: str, top: int, height: int, char_w: int | None = None) -> Line:
    width = len(text) * (char_w or height)
    return Line(text, (WIDTH - width) // 2, top, width, height, 90.0)


def body(text: str, top: int, left: int = 300) -> Line:
    return Line(text, left, top, min(len(text) * BODY_H, WIDTH - 2 * left), BODY_H, 88.0)


def page(*lines: Line) -> PageLayout:
    return PageLayout(WIDTH, HEIGHT, tuple(lines))


def court_document_first_page() -> PageLayout:
    return page(
        centred("浙江省某某县人民法院", 300, TITLE_H),
        centred("民 事 判 决 书", 420, TITLE_H, char_w=130),
        Line("（2021）浙0803民初1234号", 1500, 560, 900, BODY_H, 91.0),
        body("原告：柏林森，男，1980年3月2日出生，汉族，住某某省某某市。", 700),
        body("被告：某某贸易有限公司，住所地某某省某某市某某路1号。", 770),
        body("原告柏林森与被告某某贸易有限公司民间借贷纠纷一案，本院于2021年5月6日立案后，依法适用简易程序，", 840),
        body("公开开庭进行了审理。本案现已审理终结。", 910),
    )


# --- find_title ---------------------------------------------------------------------------------------------------------

def test_title_with_spaces_between_court_name_above_and_case_number_below() -> None:
    assert find_title(court_document_first_page()) == "民事判决书"


def test_title_is_the_tallest_centred_line() -> None:
    layout = page(
        centred("证据清单", 260, 60),
        centred("民事起诉状", 380, 96),
        body("原告：柏林森，男，汉族，住某某市。", 600),
        body("被告：葛秋云，女，汉族，住某某市。", 670),
        body("诉讼请求：", 740),
    )
    assert find_title(layout) == "民事起诉状"


def words_of(text: str, left: int, top: int, height: int) -> tuple[Word, ...]:
    return tuple(Word(char, 90.0, left + i * height, top, height, height) for i, char in enumerate(text))


def test_word_heights_decide_when_known() -> None:
    title = Line("授权委托书", 940, 380, 600, 100, 90.0, words_of("授权委托书", 940, 385, 90))
    # a box inflated by a stray mark: tall line, small glyphs
    stamped = Line("特别授权", 1060, 520, 360, 140, 80.0, words_of("特别授权", 1060, 560, 45))
    layout = page(title, stamped, body("委托人：柏林森，男，汉族。", 700), body("受托人：葛秋云，律师。", 770))
    assert find_title(layout) == "授权委托书"


def test_continuation_page_has_no_title() -> None:
    layout = page(
        body("二、被告于2020年1月向原告借款人民币十万元，约定三个月内归还，到期后经原告多次催讨，被告", 250),
        body("至今未还。为维护原告合法权益，特诉至法院，请求判如所请。", 320),
        centred("此致", 390, BODY_H),
        body("某某县人民法院", 460),
        body("具状人：柏林森", 530, left=1600),
    )
    assert find_title(layout) is None


def test_lines_low_on_the_page_or_off_centre_are_not_titles() -> None:
    low = page(body("正文第一行正文第一行正文第一行正文第一行正文第一行", 300), centred("送达回证", 2600, TITLE_H))
    left = page(Line("送达回证", 150, 300, 4 * TITLE_H, TITLE_H, 90.0), body("受送达人：柏林森", 500))
    assert find_title(low) is None
    assert find_title(left) is None


def test_court_name_case_number_and_digits_are_never_titles() -> None:
    layout = page(centred("浙江省某某县人民法院", 300, TITLE_H), centred("（2021）浙0803民初1234号", 420, TITLE_H),
                  centred("2021年5月6日", 540, TITLE_H))
    assert find_title(layout) is None


def test_a_centred_line_of_body_text_is_not_a_title_but_a_spaced_title_read_with_a_mark_is() -> None:
    """Sentence punctuation marks body text (法定代表人：…, 审判员，…) however it lies; a letter-spaced title whose gap
    read as a full stop is still a title."""
    layout = page(centred("法定代表人：罗欣，该公司董事长", 300, TITLE_H), body("住所地：某某省某某市某某路1号。", 500),
                  body("原告与被告买卖合同纠纷一案。", 570))
    assert find_title(layout) is None
    assert find_title(page(centred("收。条", 300, TITLE_H), body("今收到王某某交来货款人民币五万元。", 500),
                           body("收款人：赵某某", 570))) == "收。条"


def test_starts_document() -> None:
    assert starts_document("民事起诉状")
    assert not starts_document(None)
    assert not starts_document("  ")


# --- classify -------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("title", "code"), [
    ("民事起诉状", "COMPLAINT"),
    ("起诉状", "COMPLAINT"),
    ("民事答辩状", "DEFENSE"),
    ("民事反诉状", "COUNTERCLAIM"),
    ("授权委托书", "POA"),
    ("法定代表人身份证明书", "PARTY_ID"),
    ("证据目录", "EVIDENCE_LIST"),
    ("应诉通知书", "RESPONSE_NOTICE"),
    ("举证通知书", "ACCEPT_NOTICE"),
    ("送达地址确认书", "ADDRESS_CONFIRM"),
    ("送达回证", "SERVICE_PROOF"),
    ("传票", "SUMMONS"),
    ("开庭公告", "HEARING_NOTICE"),
    ("庭审笔录", "TRIAL_RECORD"),
    ("询问笔录", "INVESTIGATION"),
    ("民事调解书", "MEDIATION_DOC"),
    ("撤诉申请书", "WITHDRAWAL"),
    ("民事判决书", "JUDGMENT"),
    ("民事上诉状", "APPEAL"),
    ("备考表", "REMARKS"),
    ("卷内目录", "TOC"),
    ("合议庭评议笔录", "DELIBERATION"),
    ("审判委员会讨论记录", "COMMITTEE"),
    ("强制执行申请书", "ENF_APPLICATION"),
    ("执行通知书", "ENF_NOTICE"),
    ("协助执行通知书", "ASSIST_NOTICE"),
    ("限制消费令", "CONSUMPTION_LIMIT"),
    ("报告财产令", "PROPERTY_ORDER"),
    ("执行裁定书", "ENF_RULING"),
])
def test_listed_titles_classify_with_high_confidence(title: str, code: str, taxonomy: Taxonomy) -> None:
    guess = classify(title, "", taxonomy)
    assert guess.code == code
    assert guess.confidence >= 0.9


def test_family_labels_follow_the_2018_standard(taxonomy: Taxonomy) -> None:
    assert classify("民事判决书", "", taxonomy).family == "判决书"
    assert classify("民事起诉状", "", taxonomy).family == "书状"
    assert classify("传票", "", taxonomy).family == "传票"
    assert classify("限制消费令", "", taxonomy).family == "法院令"


@pytest.mark.parametrize(("title", "code"), [
    ("预交诉讼费用通知书", "FEE"),
    ("缴纳案件受理费通知书", "FEE"),
    ("应诉及举证通知书", "RESPONSE_NOTICE"),
    ("案件立案通知书", "ACCEPT_NOTICE"),
    ("开庭时间通知书", "SUMMONS"),
    ("协助冻结通知书", "ASSIST_NOTICE"),
    ("执行案件结案通知书", "ENF_CLOSURE"),
])
def test_notices_are_told_apart_by_the_word_before_tongzhishu(title: str, code: str, taxonomy: Taxonomy) -> None:
    guess = classify(title, "", taxonomy)
    assert guess.code == code
    assert guess.family == "通知书"
    assert guess.confidence >= 0.8


def test_ruling_with_preservation_words_is_preservation(taxonomy: Taxonomy) -> None:
    text = "申请人柏林森于2021年5月6日向本院提出财产保全申请。裁定如下：冻结被申请人葛秋云银行存款十万元。"
    guess = classify("民事裁定书", text, taxonomy, "民初")
    assert (guess.code, guess.family) == ("PRESERVATION", "裁定书")
    assert guess.confidence >= 0.9


def test_ruling_with_withdrawal_words_is_withdrawal(taxonomy: Taxonomy) -> None:
    text = "原告柏林森于2021年6月1日向本院提出撤诉申请。裁定如下：准许原告柏林森撤回起诉。"
    assert classify("民 事 裁 定 书", text, taxonomy).code == "WITHDRAWAL"


def test_plain_ruling_stays_a_ruling(taxonomy: Taxonomy) -> None:
    assert classify("民事裁定书", "裁定如下：驳回原告柏林森的起诉。", taxonomy).code == "RULING"


def test_shared_titles_follow_the_case_family(taxonomy: Taxonomy) -> None:
    assert classify("受理案件通知书", "", taxonomy, "民初").code == "ACCEPT_NOTICE"
    assert classify("受理案件通知书", "", taxonomy, "执").code == "ENF_ACCEPT_NOTICE"
    assert classify("评估报告", "", taxonomy, "民初").code == "APPRAISAL"
    assert classify("评估报告", "", taxonomy, "执恢").code == "AUCTION"


def test_judgment_in_an_enforcement_case_is_the_enforcement_basis(taxonomy: Taxonomy) -> None:
    assert classify("民事判决书", "判决如下", taxonomy, "执").code == "ENF_BASIS"


def test_title_containing_a_listed_title(taxonomy: Taxonomy) -> None:
    guess = classify("诉前财产保全担保书（副本）", "", taxonomy)
    assert guess.code == "PRESERVATION"
    assert guess.confidence >= 0.8


def test_fuzzy_title_with_one_wrong_character(taxonomy: Taxonomy) -> None:
    guess = classify("民事起拆状", "", taxonomy)
    assert guess.code == "COMPLAINT"
    assert 0.7 <= guess.confidence < 0.9


def test_fuzzy_title_with_one_dropped_character(taxonomy: Taxonomy) -> None:
    assert classify("送达地确认书", "", taxonomy).code == "ADDRESS_CONFIRM"


def test_short_titles_are_not_matched_fuzzily(taxonomy: Taxonomy) -> None:
    assert classify("传单", "", taxonomy).code == UNKNOWN


def test_body_cues_give_a_low_confidence_guess(taxonomy: Taxonomy) -> None:
    text = "诉讼请求：1.判令被告归还借款十万元。事实与理由：……此致某某县人民法院 具状人：柏林森"
    guess = classify(None, text, taxonomy)
    assert guess.code == "COMPLAINT"
    assert 0 < guess.confidence <= 0.6


def test_unknown_page(taxonomy: Taxonomy) -> None:
    guess = classify("会议室使用登记", "周一上午九点", taxonomy)
    assert (guess.code, guess.confidence, guess.family) == (UNKNOWN, 0.0, "")


def test_unknown_page_keeps_the_coarse_family(taxonomy: Taxonomy) -> None:
    guess = classify("支付令", "", taxonomy)
    assert (guess.code, guess.confidence, guess.family) == (UNKNOWN, 0.0, "支付令")
    assert title_family("合议庭组成人员告知书") == "告知书"


def test_found_title_flows_into_classify(taxonomy: Taxonomy) -> None:
    layout = court_document_first_page()
    guess = classify(find_title(layout), layout.text, taxonomy, "民初")
    assert guess.code == "JUDGMENT"


def test_case_number_rules_for_higher_and_lower_court_documents(taxonomy: Taxonomy) -> None:
    assert refine_by_case_number("JUDGMENT", "民初", "民终", taxonomy) == "HIGHER_COURT_DOC"
    assert refine_by_case_number("RULING", "民终", "民初", taxonomy) == "LOWER_COURT_DOC"
    assert refine_by_case_number("JUDGMENT", "民初", "民初", taxonomy) == "JUDGMENT"
