"""The kiosk's filing form pre-filled from complaint and enforcement-application text, typed and as OCR reads it."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from classify.filing_form import FIELDS, Field, prefill
from classify.identifiers import credit_code_check, resident_id_check
from ocr.engine import OcrOptions, recognise


def _resident(first17: str) -> str:
    return first17 + resident_id_check(first17)


def _credit(first17: str) -> str:
    return first17 + credit_code_check(first17)


# Synthetic parties: regions 99xxxx exist nowhere; check characters computed, so the numbers are valid.
ID_A = _resident("99010119850612123")
ID_B = _resident("99020319900228004")
ID_REP = _resident("99030519770101551")
CREDIT = _credit("91990101MA2B3C4D5")
ID_WRONG = ID_A[:17] + ("1" if ID_A[17] != "1" else "2")

PERSON_V_PERSON = f"""民事起诉状
原告：柏林森，男，1985年6月12日出生，汉族，住某某省云屏市柳溪区望江路8号，公民身份号码{ID_A}，联系电话138 1234 5678。
被告：葛秋云，女，1990年2月28日出生，汉族，住某某省望川市桐泽区明湖路1号，公民身份号码{ID_B}，联系电话13900001111。
诉讼请求：
1.判令被告葛秋云向原告归还借款100000元；
2.判令被告支付自2023年7月1日起至实际清偿之日止的逾期利息（以100000元为基数，按一年期贷款市
场报价利率计算）；
3.本案诉讼费用由被告承担。
事实与理由：
2023年1月1日，被告因资金周转需要向原告借款100000元，并出具借条一份。原告与被告民间借贷纠纷一案，特诉至贵院。
"""

COMPANY_DEFENDANT = f"""民 事 起 诉 状
原告：苗若溪，女，汉族，住某某省清澜市梧江区文澜街3号
身份证号：{ID_B}
委托诉讼代理人：宁海川，某某律师事务所律师，电话13700002222。
被告：清澜市瑞丰建材有限公司，住所地某某省清澜市松岩区清风路9号，
统一社会信用代码：{CREDIT}
法定代表人：甄小满，该公司执行董事，公民身份号码{ID_REP}。
案由：买卖合同纠纷
诉讼请求：1、判令被告支付货款
58000元；2、本案诉讼费由被告负担。
事实和理由：
原告向被告供应建材，被告至今未付清货款。
"""

ENFORCEMENT = f"""强制执行申请书
申请执行人：柏林森，男，汉族，住某某省云屏市柳溪区望江路8号，公民身份号码{ID_WRONG}。
被执行人：清澜市瑞丰建材有限公司，统一社会信用代码{CREDIT}。
执行依据：某某省云屏市柳溪区人民法院（2023）浙0803民初1234号民事判决书。
请求事项：
一、强制被执行人支付货款58000元及逾期利息；
二、本案执行费用由被执行人负担。
"""
ENFORCEMENT_PAGE_2 = """事实与理由：
申请执行人与被执行人买卖合同纠纷一案，判决已发生法律效力，被执行人至今未履行。
此致
某某省云屏市柳溪区人民法院
联系电话：15912345678
"""


def _form(texts: list[str]) -> dict[str, Field]:
    fields = prefill(texts)
    assert [f.name for f in fields] == list(FIELDS)
    return {f.name: f for f in fields}


def _values(form: dict[str, Field]) -> dict[str, str]:
    return {name: field.value for name, field in form.items()}


def test_a_person_v_person_complaint_fills_every_field() -> None:
    form = _form([PERSON_V_PERSON])
    assert _values(form) == {
        "plaintiff": "柏林森", "plaintiff_id": ID_A, "defendant": "葛秋云", "defendant_id": ID_B,
        "cause": "民间借贷纠纷",
        "claims": "1.判令被告葛秋云向原告归还借款100000元;\n"
                  "2.判令被告支付自2023年7月1日起至实际清偿之日止的逾期利息(以100000元为基数,按一年期贷款市场报价利率计算);\n"
                  "3.本案诉讼费用由被告承担。",
        "phone": "13812345678",
    }
    assert all(field.found for field in form.values())


def test_a_company_defendant_gets_its_credit_code_not_its_representatives_id() -> None:
    form = _form([COMPANY_DEFENDANT])
    assert form["plaintiff"].value == "苗若溪" and form["plaintiff_id"].value == ID_B      # ID on the next line
    assert form["defendant"].value == "清澜市瑞丰建材有限公司"
    assert form["defendant_id"].value == CREDIT
    assert form["cause"].value == "买卖合同纠纷"
    assert form["claims"].value == "1、判令被告支付货款58000元;2、本案诉讼费由被告负担。"   # as printed: one line
    assert form["phone"].value == "13700002222"          # the plaintiff's agent: the plaintiff gave none


def test_an_enforcement_application_over_two_pages_with_a_misread_id() -> None:
    form = _form([ENFORCEMENT, ENFORCEMENT_PAGE_2])
    assert form["plaintiff"] == Field("plaintiff", "柏林森", True)
    assert form["plaintiff_id"] == Field("plaintiff_id", "", False)       # checksum wrong: typed, not guessed
    assert form["defendant"].value == "清澜市瑞丰建材有限公司" and form["defendant_id"].value == CREDIT
    assert form["cause"].value == "买卖合同纠纷"
    assert form["claims"].value == "一、强制被执行人支付货款58000元及逾期利息;\n二、本案执行费用由被执行人负担。"
    assert form["phone"].value == "15912345678"           # outside any party's lines, not the respondent's


def test_fields_not_in_the_text_are_left_to_be_typed() -> None:
    text = ("上诉人（原审被告）：甄小满，男，汉族\n被上诉人（原审原告）：宁海川，男，身份证号" + ID_A +
            "\n事实与理由：一审认定事实错误。\n")
    form = _form([text])
    assert form["plaintiff"].value == "甄小满" and form["defendant"].value == "宁海川"
    assert form["defendant_id"].value == ID_A
    missing = [name for name, field in form.items() if not field.found]
    assert missing == ["plaintiff_id", "cause", "claims", "phone"]
    assert all(form[name].value == "" for name in missing)


def test_a_respondents_phone_is_not_the_filers() -> None:
    text = f"原告：某某银行股份有限公司云屏支行，统一社会信用代码{CREDIT}\n被告：葛秋云，电话13900001111\n"
    form = _form([text])
    assert form["plaintiff_id"].value == CREDIT
    assert form["phone"] == Field("phone", "", False)


def test_nothing_readable_gives_an_empty_form() -> None:
    assert [(f.value, f.found) for f in prefill(["", "证据目录\n1.借条"])] == [("", False)] * len(FIELDS)


# --- a rendered page, as the kiosk's scanner delivers it ----------------------------------------------------------

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
A4_300DPI = (2480, 3508)


def _render(lines: list[str], px: int = 50) -> np.ndarray:
    """An A4 page at 300 dpi with each line printed in 12-point WenQuanYi Micro Hei, greyscale."""
    page = Image.new("L", A4_300DPI, 255)
    draw, font = ImageDraw.Draw(page), ImageFont.truetype(FONT, px)
    for row, line in enumerate(lines):
        draw.text((300, 300 + row * round(px * 1.8)), line, font=font, fill=0)
    return np.asarray(page)


def test_prefill_reads_a_rendered_complaint_through_ocr() -> None:
    page = _render([
        "民事起诉状",
        "原告：柏林森，男，汉族，住某某省云屏市柳溪区望江路8号",
        f"公民身份号码：{ID_A}",
        "被告：葛秋云，女，汉族，住某某省望川市桐泽区明湖路1号",
        "诉讼请求：",
        "1.判令被告归还借款100000元；",
        "2.本案诉讼费用由被告承担。",
        "事实与理由：",
        "被告向原告借款后至今未还。",
    ])
    result = recognise(page, 300, OcrOptions(), pdf=False)
    form = _form([result.text])
    assert form["plaintiff"].value == "柏林森", result.text
    assert form["plaintiff_id"].value == ID_A, result.text
    assert form["defendant"].value == "葛秋云", result.text
    assert form["claims"].found and "归还借款" in form["claims"].value, result.text
