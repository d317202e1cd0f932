"""Splitting a stack of recognised pages into documents: separators, titles, continuation pages, blanks, identity
copies, case routing and the printed-number rule."""
from __future__ import annotations

import pytest

from classify.segment import PageFacts, segment
from classify.separator import PATCH_T, separator_payload
from classify.taxonomy import Taxonomy

CASE = "（2024）浙0803民初1234号"
OTHER = "（2024）浙0803民初77号"


@pytest.fixture(scope="module")
def taxonomy():
    return Taxonomy.load()


def page(pid, title=None, text="", role="content", codes=()):
    return PageFacts(pid, role, title, text or (title or "正文继续"), tuple(codes))


def test_titles_start_documents_and_untitled_pages_continue(taxonomy):
    drafts = segment([page(1, "民事起诉状"), page(2), page(3, role="blank"), page(4, "授权委托书")], taxonomy,
                     stack_case=CASE, review_below=0.7)
    assert [(d.type_code, d.page_ids) for d in drafts] == [("COMPLAINT", (1, 2)), ("POA", (4,))]
    assert all(d.case_no == CASE and not d.review for d in drafts)


def test_separator_sheet_gives_case_type_and_volume(taxonomy):
    sheet = page(1, role="separator", codes=[separator_payload(OTHER, "DELIBERATION", "FJ")])
    drafts = segment([sheet, page(2, "合议庭评议笔录"), page(3)], taxonomy, stack_case=None, review_below=0.7)
    assert [(d.type_code, d.volume, d.case_no, d.page_ids, d.confidence) for d in drafts] == [
        ("DELIBERATION", "FJ", OTHER, (2, 3), 1.0)]
    assert drafts[0].separator_page_id == 1


def test_patch_t_splits_untitled_pages(taxonomy):
    drafts = segment([page(1, "民事起诉状"), page(2, role="separator", codes=[PATCH_T]), page(3, text="借条 今借到")],
                     taxonomy, stack_case=CASE, review_below=0.7)
    assert [d.page_ids for d in drafts] == [(1,), (3,)]


def test_identity_copy_starts_a_document_without_a_title(taxonomy):
    drafts = segment([page(1, "民事起诉状"), page(2, text="姓名 张三 公民身份号码 签发机关 某公安局 有效期限 2020.01.01")],
                     taxonomy, stack_case=CASE, review_below=0.7)
    assert [(d.type_code, d.title, d.review) for d in drafts] == [
        ("COMPLAINT", "民事起诉状", False), ("PARTY_ID", "居民身份证（复印件）", False)]


def test_loose_pages_route_by_the_case_number_they_show(taxonomy):
    drafts = segment([page(1, "传票", text=f"传票\n案号 {OTHER}"), page(2, "送达回证", text="送达回证 受送达人"),
                      ], taxonomy, stack_case=None, review_below=0.7)
    assert [d.case_no for d in drafts] == [OTHER, OTHER]     # the second follows the case routed before it


def test_unroutable_document_is_flagged(taxonomy):
    drafts = segment([page(1, "传票", text="传票 传唤事由")], taxonomy, stack_case=None, review_below=0.7)
    assert drafts[0].case_no is None and drafts[0].review and "route it by hand" in drafts[0].reason


def test_judgment_with_a_second_instance_number_is_the_higher_court_decision(taxonomy):
    text = "某某市中级人民法院\n民事判决书\n（2024）浙08民终55号\n判决如下"
    drafts = segment([page(1, "民事判决书", text=text)], taxonomy, stack_case=CASE, review_below=0.7)
    assert drafts[0].type_code == "HIGHER_COURT_DOC"


def test_identifiers_are_kept_masked(taxonomy):
    drafts = segment([page(1, "民事起诉状", text="原告：张三，公民身份号码11010519491231002X")], taxonomy,
                     stack_case=CASE, review_below=0.7)
    assert drafts[0].identifiers == (("resident_id", "110105********002X"),)
    assert ("原告", "张三") in drafts[0].parties


def test_a_page_printing_another_case_number_than_its_folder_is_flagged(taxonomy):
    own = "应诉通知书\n(2024)浙0803民初77号\n某某公司：\n本院受理原告诉你民间借贷纠纷一案"
    cited = "强制执行申请书\n申请执行人：某某\n请求事项：依据（2024）浙0803民初77号民事判决书强制执行"
    drafts = segment([page(1, "应诉通知书", own), page(2, "强制执行申请书", cited)], taxonomy, stack_case=CASE,
                     review_below=0.7)
    flagged, quoting = drafts
    assert flagged.case_no == CASE and flagged.review
    assert OTHER in flagged.reason and CASE in flagged.reason
    assert not quoting.review                     # a number cited in a sentence is not the page's own


APPEAL = "（2025）浙04民终318号"
APPELLATE = ("浙江省嘉兴市中级人民法院\n民事判决书\n" + APPEAL + "\n上诉人（原审被告）：王某，男。\n"
             "上诉人不服浙江省嘉兴市南湖区人民法院" + CASE + "民事判决，向本院提起上诉。\n判决如下：驳回上诉，维持原判。")
FIRST = ("浙江省嘉兴市南湖区人民法院\n民事判决书\n" + CASE + "\n原告：李某，女。\n被告：王某，男。\n"
         "判决如下：被告于本判决生效之日起十日内偿还借款。")


def test_in_a_second_instance_case_the_decisions_own_number_tells_which_court_made_it(taxonomy):
    """The appellate judgment cites the first-instance number in its text: its own, under its title, is 民终, so
    it is the case's own decision; the first-instance judgment printing 民初 under its title is the lower court's."""
    drafts = segment([page(1, "民事判决书", APPELLATE), page(2, "民事判决书", FIRST)], taxonomy, stack_case=APPEAL,
                     review_below=0.7)
    assert [(d.type_code, d.page_ids) for d in drafts] == [("JUDGMENT", (1,)), ("LOWER_COURT_DOC", (2,))]



OPEN = frozenset({CASE, OTHER, "（2024）浙0802民初1234号", "（2023）浙0803民初1234号"})


def test_a_loose_page_whose_case_number_ocr_garbled_is_routed_to_the_one_open_case_it_can_be(taxonomy):
    text = "传票\n案号（2024）浙O8O3民韧77号\n被传唤人 李四"          # 初 misread, O for 0: only 77 of 2024 is open
    drafts = segment([page(1, "传票", text=text)], taxonomy, stack_case=None, review_below=0.7, open_cases=OPEN)
    assert (drafts[0].case_no, drafts[0].review) == (OTHER, False)
    assert f"taken as {OTHER}" in drafts[0].reason


def test_a_garbled_number_that_could_be_two_open_cases_is_sent_to_review_not_guessed(taxonomy):
    text = "传票\n案号（2024）浙080民初1234号\n被传唤人 李四"         # one digit lost: 0803 or 0802
    drafts = segment([page(1, "传票", text=text)], taxonomy, stack_case=None, review_below=0.7, open_cases=OPEN)
    assert drafts[0].case_no is None and drafts[0].review
    assert ("case number read as (2024)浙080民初1234号 is not one that can be trusted (（2024）浙0802民初1234号, "
            "（2024）浙0803民初1234号)") in drafts[0].reason
    unknown = segment([page(1, "传票", text="传票\n案号（2024）浙0803民韧999号")], taxonomy, stack_case=None,
                      review_below=0.7, open_cases=OPEN)
    assert unknown[0].case_no is None and "no open case of that year and number" in unknown[0].reason


def test_an_untitled_page_with_a_courts_name_at_its_top_starts_a_document_for_review(taxonomy):
    """The title of a notice did not read, but the court's name and the notice's own number at its top did: the
    notice is not taken as a page of the identity card before it; typed from its words, it goes to review."""
    card = "居民身份证\n姓名 王某\n签发机关 某某县公安局\n有效期限 2020.01.01-2040.01.01"
    notice = f"浙江省嘉兴市南湖区人民法院\n{CASE}\n李某：\n你诉王某借款合同纠纷一案的起诉状已收到。经审查，起诉符合" \
             "法定受理条件，本院决定立案审理。请于接到本通知书后七日内预交案件受理费。"
    drafts = segment([page(1, None, card), page(2, None, notice), page(3, None, "本院地址：某某路1号")], taxonomy,
                     stack_case=CASE, review_below=0.7)
    assert [d.page_ids for d in drafts] == [(1,), (2, 3)]
    assert drafts[0].type_code == "PARTY_ID" and drafts[1].review


def test_untitled_pages_after_an_evidence_list_are_the_evidence_it_lists(taxonomy):
    listing = "证据目录\n序号 证据名称 证据来源 证明目的\n1 借条 原告 借款事实\n2 转账凭证 银行 款项交付"
    more = "序号 证据名称 证据来源 证明目的\n3 催款短信 原告 催收事实"
    slip = "中国工商银行网上银行电子回单\n付款人：李某 收款人：王某\n金额：人民币伍万元整"
    note = "借条\n今借到李某人民币伍万元整，一年内归还。\n借款人：王某"
    drafts = segment([page(1, "民事起诉状"), page(2, "证据目录", listing), page(3, None, more), page(4, None, slip),
                      page(5, None, note), page(6, "授权委托书")], taxonomy, stack_case=CASE, review_below=0.7)
    assert [(d.type_code, d.page_ids) for d in drafts] == [
        ("COMPLAINT", (1,)), ("EVIDENCE_LIST", (2, 3)), ("EVIDENCE", (4, 5)), ("POA", (6,))]
    assert not drafts[2].review


def _bound(drafts, family: str) -> list[str]:
    from dossier.export import volumes_in_order
    documents = [{"id": n, "volume": d.volume, "type_code": d.type_code, "received_order": n}
                 for n, d in enumerate(drafts)]
    return [d["type_code"] for _, ordered in volumes_in_order(documents, Taxonomy.load(), family) for d in ordered]


def test_a_second_instance_volume_binds_the_first_instance_judgment_after_the_transfer_letter(taxonomy):
    """Scanned as the file came: the appellate judgment first; bound with the lower court's judgment after the
    appeal transfer letter and the appellate decision near the end."""
    transfer = "浙江省嘉兴市南湖区人民法院\n上诉案件移送函\n浙江省嘉兴市中级人民法院：\n王某不服本院" + CASE + "民事判决，提起上诉。"
    stack = [page(1, "民事判决书", APPELLATE), page(2, "上诉案件移送函", transfer), page(3, "民事判决书", FIRST),
             page(4, "民事上诉状", "民事上诉状\n上诉人：王某\n上诉请求：撤销" + CASE + "民事判决"),
             page(5, "送达回证", "浙江省嘉兴市中级人民法院\n送达回证\n案号 " + APPEAL)]
    drafts = segment(stack, taxonomy, stack_case=APPEAL, review_below=0.7)
    assert _bound(drafts, "civil_second") == ["APPEAL_TRANSFER", "LOWER_COURT_DOC", "APPEAL", "JUDGMENT",
                                              "SERVICE_PROOF"]


def test_an_enforcement_volume_binds_the_judgment_it_enforces_after_the_application(taxonomy):
    enf = "（2025）浙0402执1888号"
    application = "强制执行申请书\n申请执行人：李某\n被执行人：王某\n执行依据：" + CASE + "民事判决书\n请求事项：强制执行借款五万元"
    ruling = "浙江省嘉兴市南湖区人民法院\n执行裁定书\n" + enf + "\n本院依据已经发生法律效力的" + CASE + "民事判决，裁定如下"
    stack = [page(1, "执行裁定书", ruling), page(2, "民事判决书", FIRST), page(3, "强制执行申请书", application)]
    drafts = segment(stack, taxonomy, stack_case=enf, review_below=0.7)
    assert _bound(drafts, "enforcement") == ["ENF_APPLICATION", "ENF_BASIS", "ENF_RULING"]


def test_the_page_after_an_identity_card_copy_starts_the_next_document(taxonomy):
    """A copy of an identity card is never continued: the power of attorney after it, its title unread, is a
    document of its own (typed from its words), not a second page of the card."""
    card = "姓名 王某\n性别 男 民族 汉\n住址 某某省某某市\n公民身份号码 990101199001011238\n签发机关 某某县公安局\n有效期限 2020"
    poa = "委托人：王某，男，住某某市。\n受托人：赵某，某某律师事务所律师。\n现委托上列受托人在我与李某借款合同纠纷一案中，作为我的诉讼代理人。\n代理权限：特别授权。"
    drafts = segment([page(1, None, card), page(2, None, poa)], taxonomy, stack_case=CASE, review_below=0.5)
    assert [(d.type_code, d.page_ids) for d in drafts][0] == ("PARTY_ID", (1,))
    assert drafts[1].page_ids == (2,)


def test_a_complaints_closing_page_addressed_to_the_court_continues_it(taxonomy):
    """此致 and the court's name open the last page of a party's paper: whom it is addressed to, not a court's head."""
    closing = "此致\n某某省某某市某某区人民法院\n具状人：王某\n附：本诉状副本一份。"
    drafts = segment([page(1, "民事起诉状", "民事起诉状\n原告：王某"), page(2, None, closing)], taxonomy,
                     stack_case=CASE, review_below=0.5)
    assert [(d.type_code, d.page_ids) for d in drafts] == [("COMPLAINT", (1, 2))]


def test_a_page_that_read_no_text_sends_its_document_to_review(taxonomy):
    """A page with ink from which nothing was read may begin another document: its document is not sure."""
    drafts = segment([page(1, "应诉通知书", "应诉通知书\n本院受理原告诉你买卖合同纠纷一案。"),
                      PageFacts(2, "content", None, " \n")], taxonomy, stack_case=CASE, review_below=0.5)
    assert [(d.type_code, d.page_ids, d.review) for d in drafts] == [("RESPONSE_NOTICE", (1, 2), True)]
    assert drafts[0].confidence < 0.5 and "page 2 read no text" in drafts[0].reason
