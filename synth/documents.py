"""Text of the papers of a synthetic civil first-instance (民初) case and an enforcement (执) case, page by page."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from synth.people import Company, Lawyer, Person, Place, make_lawyer, make_name, make_party, make_phone, make_place

STYLES = ("title", "court", "caseno", "body", "plain", "right", "center", "row", "front", "back", "card_title", "gap")
TYPE_NAMES = {
    "COMPLAINT": "民事起诉状", "PARTY_ID": "身份证明", "POA": "授权委托书", "EVIDENCE_LIST": "证据目录",
    "ACCEPT_NOTICE": "受理案件通知书", "RESPONSE_NOTICE": "应诉通知书", "SUMMONS": "传票", "TRIAL_RECORD": "庭审笔录",
    "JUDGMENT": "民事判决书", "SERVICE_PROOF": "送达回证", "ENF_APPLICATION": "强制执行申请书",
    "ENF_NOTICE": "执行通知书", "ENF_RULING": "执行裁定书",
}
CN_DIGITS = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Line:
    """One logical line: a paragraph the renderer wraps, a styled heading, or a table row (cells)."""
    text: str
    style: str = "body"
    cells: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page:
    """One sheet of paper: its lines top to bottom; layout 'text' or 'idcard'; seal marks an official stamp."""
    lines: tuple[Line, ...]
    layout: str = "text"
    seal: bool = False

    @property
    def title_index(self) -> int | None:
        """Index of the title line, None on a continuation page."""
        return next((i for i, line in enumerate(self.lines) if line.style in ("title", "card_title")), None)

    @property
    def title(self) -> str | None:
        index = self.title_index
        return None if index is None else self.lines[index].text


@dataclass(frozen=True)
class Document:
    """One court or party document with the type code a classifier is expected to give it."""
    type_code: str
    title: str
    pages: tuple[Page, ...]
    issuer: str  # "court" or "party"


@dataclass(frozen=True)
class Court:
    """A basic-level people's court: its printed name and its case-number code (province abbreviation + 4 digits)."""
    name: str
    code: str
    place: Place

    @property
    def appeal_court(self) -> str:
        return f"{self.place.province}{self.place.city}市中级人民法院"


@dataclass(frozen=True)
class Cause:
    """A cause of action with the words its papers use for the money claimed."""
    name: str
    money: str
    story: str


@dataclass(frozen=True)
class CaseFacts:
    """Everything the papers of one case share."""
    case_no: str
    court: Court
    cause: Cause
    plaintiff: Person | Company
    defendant: Person | Company
    lawyer: Lawyer
    judge: str
    clerk: str
    amount: int
    deal_date: dt.date
    filed: dt.date
    office_phone: str
    basis_no: str = ""


@dataclass(frozen=True)
class CaseFile:
    """A synthetic case: number, kind ('civil' or 'enforcement'), court and its documents in the order they arise."""
    case_no: str
    kind: str
    court: Court
    cause: str
    documents: tuple[Document, ...]


CAUSES = (
    Cause("民间借贷纠纷", "借款本金", "loan"),
    Cause("买卖合同纠纷", "货款", "sale"),
)


def make_court(rng: random.Random, place: Place | None = None) -> Court:
    """An invented district court with a well-formed basic-court code such as 浙0803."""
    place = place or make_place(rng)
    code = f"{place.abbr}{rng.randint(1, 19):02d}{rng.randint(2, 12):02d}"
    return Court(f"{place.prefix}人民法院", code, place)


def case_number(year: int, court: Court, type_code: str, seq: int) -> str:
    """A 2016-format case number, e.g. （2024）浙0803民初1234号."""
    return f"（{year}）{court.code}{type_code}{seq}号"


def cn_date(day: dt.date) -> str:
    """A date in Chinese numerals as court documents sign it: 二〇二四年三月五日."""
    year = "".join(CN_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{_cn_number(day.month)}月{_cn_number(day.day)}日"


def _cn_number(n: int) -> str:
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else CN_DIGITS[tens] + "十")
    return head + ("" if ones == 0 else CN_DIGITS[ones])


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day some years later or earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def ymd(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def court_fee(amount: int) -> int:
    """Case acceptance fee for a money claim under the national fee schedule (whole yuan)."""
    bands = ((10_000, 0.0), (100_000, 0.025), (200_000, 0.02), (500_000, 0.015), (1_000_000, 0.01))
    fee, low = 50.0, 10_000
    for high, rate in bands[1:]:
        fee += max(0, min(amount, high) - low) * rate
        low = high
    return round(fee)


def enforcement_fee(amount: int) -> int:
    """Application fee for enforcing a money judgment (whole yuan)."""
    fee = 50 + max(0, min(amount, 500_000) - 10_000) * 0.015 + max(0, min(amount, 5_000_000) - 500_000) * 0.01
    return round(fee)


def _party_lines(role: str, party: Person | Company, style: str, full: bool = True) -> list[Line]:
    """The 原告/被告/申请人 block of one party."""
    if isinstance(party, Company):
        return [
            Line(f"{role}：{party.name}，住所地{party.address}，统一社会信用代码{party.credit_code}。", style),
            Line(f"法定代表人：{party.legal_rep.name}，该公司{party.position}。", style),
        ]
    text = f"{role}：{party.name}，{party.sex}，{ymd(party.birth)}出生，{party.ethnicity}族，住{party.address}"
    if full:
        text += f"，公民身份号码{party.id_number}，联系电话{party.phone}"
    return [Line(text + "。", style)]


def _court_head(facts: CaseFacts, title: str) -> list[Line]:
    return [Line(facts.court.name, "court"), Line(title, "title"), Line(facts.case_no, "caseno")]


def _sign(*texts: str) -> list[Line]:
    return [Line(t, "right") for t in texts]


def _doc(type_code: str, issuer: str, *pages: Page) -> Document:
    title = next(p.title for p in pages if p.title is not None)
    return Document(type_code, title, tuple(pages), issuer)


def _page(lines: list[Line], seal: bool = False, layout: str = "text") -> Page:
    return Page(tuple(lines), layout, seal)


def _facts_story(f: CaseFacts) -> str:
    p, d = f.plaintiff.name, f.defendant.name
    if f.cause.story == "loan":
        return (f"{ymd(f.deal_date)}，被告{d}因资金周转需要向原告{p}借款{f.amount}元，并出具借条一份，约定借款期限为六个月。"
                f"原告于当日通过银行转账方式向被告交付了全部借款。")
    return (f"{ymd(f.deal_date)}，原告{p}与被告{d}签订《建材买卖合同》一份，约定由原告向被告供应钢材、水泥等建筑材料，"
            f"被告应于收货后三十日内付清货款。合同签订后，原告依约供货，经双方对账确认，被告尚欠原告货款{f.amount}元。")


def _claims(f: CaseFacts, verb: str) -> list[str]:
    return [
        f"1.{verb}被告{f.defendant.name}向原告支付{f.cause.money}{f.amount}元；",
        f"2.{verb}被告支付自{ymd(f.deal_date + dt.timedelta(days=180))}起至实际清偿之日止的逾期利息"
        f"（以{f.amount}元为基数，按一年期贷款市场报价利率计算）；",
        "3.本案诉讼费用由被告承担。",
    ]


def complaint(f: CaseFacts) -> Document:
    """民事起诉状: a title page and a continuation page with 此致 and the signature."""
    first = [Line("民事起诉状", "title"), *_party_lines("原告", f.plaintiff, "plain"),
             Line(f"委托诉讼代理人：{f.lawyer.name}，{f.lawyer.firm}律师。", "plain"),
             *_party_lines("被告", f.defendant, "plain"), Line("诉讼请求：", "plain"),
             *[Line(c, "body") for c in _claims(f, "判令")], Line("事实与理由：", "plain"), Line(_facts_story(f))]
    second = [
        Line(f"上述{f.cause.money}到期后，原告多次向被告催讨，被告均以各种理由推脱，至今分文未付。"
             "被告的行为已严重侵害了原告的合法权益。"),
        Line("为维护原告的合法权益，根据《中华人民共和国民法典》及《中华人民共和国民事诉讼法》的相关规定，"
             "特向贵院提起诉讼，请求依法判如所请。"),
        Line("此致", "body"), Line(f.court.name, "plain"), Line("", "gap"),
        *_sign(f"具状人：{f.plaintiff.name}", ymd(f.filed)),
        Line("附：本诉状副本一份。", "plain"),
    ]
    return _doc("COMPLAINT", "party", _page(first), _page(second))


def party_id(person: Person, place: Place, issued: dt.date) -> Document:
    """A photocopy of a 居民身份证, front above back, on one A4 sheet."""
    valid = f"{issued:%Y.%m.%d}-{add_years(issued, 20):%Y.%m.%d}"
    lines = [
        Line("", "front", ("姓名", person.name)),
        Line("", "front", ("性别", person.sex, "民族", person.ethnicity)),
        Line("", "front", ("出生", ymd(person.birth))),
        Line("", "front", ("住址", person.address)),
        Line("", "front", ("公民身份号码", person.id_number)),
        Line("中华人民共和国", "back"),
        Line("居民身份证", "card_title"),
        Line("", "back", ("签发机关", f"{place.city}市公安局{place.district}分局")),
        Line("", "back", ("有效期限", valid)),
        Line("本复印件与原件核对一致", "right"),
    ]
    lines = [_with_cell_text(line) for line in lines]
    return _doc("PARTY_ID", "party", _page(lines, layout="idcard"))


def _with_cell_text(line: Line) -> Line:
    return Line(" ".join(line.cells), line.style, line.cells) if line.cells else line


def poa(f: CaseFacts, role: str, other: str) -> Document:
    """授权委托书 of the plaintiff (or judgment creditor) to its lawyer, special authority."""
    matter = f.cause.name + ("执行" if role == "申请执行人" else "")
    lines = [Line("授权委托书", "title"), *_party_lines("委托人", f.plaintiff, "plain", full=False),
             Line(f"受托人：{f.lawyer.name}，{f.lawyer.firm}律师，联系电话{f.lawyer.phone}。", "plain"),
             Line(f"现委托上列受托人在{role}{f.plaintiff.name}与{other}{f.defendant.name}{matter}一案中，"
                  "作为我方的代理人。"),
             Line(f"代理人{f.lawyer.name}的代理权限为：{_authority(role)}"),
             Line("", "gap"), *_sign(f"委托人：{f.plaintiff.name}", f"受托人：{f.lawyer.name}", ymd(f.filed))]
    return _doc("POA", "party", _page(lines))


def _authority(role: str) -> str:
    if role == "申请执行人":
        return "特别授权，代为申请强制执行，代为提供财产线索，代为进行执行和解，代为领取执行款，代为签收法律文书。"
    return ("特别授权，代为起诉、应诉，代为承认、放弃、变更诉讼请求，代为进行和解、调解，"
            "代为提起反诉或者上诉，代为签收法律文书。")


def evidence_list(f: CaseFacts) -> Document:
    """证据目录 as a three-column table: number, evidence, purpose."""
    p, d = f.plaintiff.name, f.defendant.name
    money = "借条" if f.cause.story == "loan" else "《建材买卖合同》"
    items = [
        ("原告身份证明", "证明原告的诉讼主体资格"),
        ("被告身份信息", "证明被告的诉讼主体资格"),
        (money, f"证明原告与被告之间存在{f.cause.name[:-2]}关系"),
        ("银行转账凭证" if f.cause.story == "loan" else "送货单及对账单", f"证明被告尚欠原告{f.cause.money}{f.amount}元"),
        ("催款短信记录", "证明原告多次向被告催讨未果"),
    ]
    rows = [Line("", "row", ("序号", "证据名称", "证明目的"))]
    rows += [Line("", "row", (str(i), name, goal)) for i, (name, goal) in enumerate(items, 1)]
    lines = [Line("证据目录", "title"), Line(f"案由：{f.cause.name}", "plain"),
             Line(f"提交人：原告{p}　对方当事人：被告{d}", "plain"), *[_with_cell_text(r) for r in rows],
             Line("", "gap"), *_sign(f"提交人：{p}", ymd(f.filed))]
    return _doc("EVIDENCE_LIST", "party", _page(lines))


def accept_notice(f: CaseFacts) -> Document:
    """受理案件通知书 to the plaintiff."""
    fee = court_fee(f.amount)
    day = f.filed + dt.timedelta(days=2)
    lines = [*_court_head(f, "受理案件通知书"), Line(f"{f.plaintiff.name}：", "plain"),
             Line(f"你诉{f.defendant.name}{f.cause.name}一案的起诉状已收到。经审查，起诉符合法定受理条件，"
                  "本院决定立案审理。现将有关事项通知如下："),
             Line("一、在诉讼过程中，当事人必须依法行使诉讼权利，遵守诉讼秩序，履行诉讼义务。"),
             Line(f"二、应在接到本通知书后七日内，向本院预交案件受理费{fee}元。期满不预交的，按自动撤回起诉处理。"),
             Line("三、当事人应当对自己提出的主张提供证据，并在举证期限内向本院提交。"),
             Line(f"四、本案由审判员{f.judge}独任审理，书记员{f.clerk}担任记录。"),
             Line("", "gap"), *_sign(cn_date(day)),
             Line(f"联系人：{f.clerk}　联系电话：{f.office_phone}", "plain")]
    return _doc("ACCEPT_NOTICE", "court", _page(lines, seal=True))


def response_notice(f: CaseFacts) -> Document:
    """应诉通知书 to the defendant."""
    day = f.filed + dt.timedelta(days=3)
    lines = [*_court_head(f, "应诉通知书"), Line(f"{f.defendant.name}：", "plain"),
             Line(f"本院受理原告{f.plaintiff.name}诉你{f.cause.name}一案，现将起诉状副本送达给你，"
                  "并将有关事项通知如下："),
             Line("一、你应在收到起诉状副本之日起十五日内向本院提交答辩状，并按对方当事人的人数提出副本。"
                  "你在答辩期内不提交答辩状的，不影响本院审理。"),
             Line("二、当事人应当对自己提出的主张提供证据。逾期提交证据的，应当承担相应的法律后果。"),
             Line("三、你可以委托一至二人作为诉讼代理人。委托他人代为诉讼的，须向本院提交授权委托书。"),
             Line("", "gap"), *_sign(cn_date(day))]
    return _doc("RESPONSE_NOTICE", "court", _page(lines, seal=True))


def summons(f: CaseFacts, hearing: dt.datetime) -> Document:
    """传票 summoning the defendant to the hearing."""
    d = f.defendant
    rows = [("案由", f.cause.name), ("被传唤人", d.name), ("工作单位或住址", d.address),
            ("传唤事由", "开庭"), ("应到时间", f"{ymd(hearing.date())}{hearing.hour}时{hearing.minute:02d}分"),
            ("应到处所", f"本院第{_cn_number(hearing.day % 6 + 1)}法庭")]
    lines = [*_court_head(f, "传票"), *[_with_cell_text(Line("", "row", r)) for r in rows],
             Line("注意事项：", "plain"), Line("1.被传唤人必须准时到达应到处所。", "plain"),
             Line("2.本传票由被传唤人携带来院报到。", "plain"),
             Line("3.被传唤人收到传票后，应在送达回证上签名或者盖章。", "plain"),
             Line("", "gap"), *_sign(f"审判员：{f.judge}", f"书记员：{f.clerk}", cn_date(f.filed + dt.timedelta(days=5)))]
    return _doc("SUMMONS", "court", _page(lines, seal=True))


def trial_record(f: CaseFacts, hearing: dt.datetime) -> Document:
    """庭审笔录, two pages of questions and answers."""
    p, d = f.plaintiff.name, f.defendant.name
    end = hearing + dt.timedelta(minutes=75)
    first = [Line("庭审笔录", "title"),
             Line(f"时间：{ymd(hearing.date())}{hearing.hour}时{hearing.minute:02d}分至"
                  f"{end.hour}时{end.minute:02d}分", "plain"),
             Line(f"地点：本院第{_cn_number(hearing.day % 6 + 1)}法庭", "plain"), Line(f"案号：{f.case_no}", "plain"),
             Line(f"案由：{f.cause.name}", "plain"), Line(f"审判员：{f.judge}　书记员：{f.clerk}", "plain"),
             Line("审判员：现在开庭。首先核对当事人及诉讼代理人的身份。", "plain"),
             Line(f"原告：原告{p}，委托诉讼代理人{f.lawyer.name}，{f.lawyer.firm}律师。", "plain"),
             Line(f"被告：被告{d}。", "plain"),
             Line("审判员：当事人对对方出庭人员的身份有无异议？", "plain"), Line("原告：没有异议。", "plain"),
             Line("被告：没有异议。", "plain"),
             Line(f"审判员：本案由审判员{f.judge}独任审理，书记员{f.clerk}担任记录。当事人是否申请回避？", "plain"),
             Line("原告：不申请。", "plain"), Line("被告：不申请。", "plain"),
             Line("审判员：现在进行法庭调查。由原告陈述诉讼请求及事实和理由。", "plain"),
             Line("原告：诉讼请求和事实理由与起诉状一致，不再重复。", "plain")]
    second = [Line("审判员：被告进行答辩。", "plain"),
              Line(f"被告：对欠款{f.amount}元没有异议，因经营困难暂时无力偿还，请求法庭允许分期支付。", "plain"),
              Line("审判员：原告是否同意分期支付？", "plain"), Line("原告：不同意，请求依法判决。", "plain"),
              Line("审判员：双方对对方提交的证据发表质证意见。", "plain"),
              Line("被告：对证据的真实性没有异议。", "plain"),
              Line("审判员：法庭调查结束，现在进行法庭辩论。", "plain"),
              Line("原告：坚持起诉意见。被告应当按约履行付款义务。", "plain"), Line("被告：同意原告的意见。", "plain"),
              Line("审判员：双方是否愿意调解？", "plain"), Line("原告：不愿意。", "plain"),
              Line("审判员：双方作最后陈述。", "plain"), Line("原告：请求支持原告的全部诉讼请求。", "plain"),
              Line("被告：请求法庭从轻处理。", "plain"), Line("审判员：现在休庭。庭后阅看笔录并签字。", "plain"),
              Line("", "gap"), Line(f"原告（签名）：{p}　被告（签名）：{d}", "plain"),
              Line(f"审判员：{f.judge}　书记员：{f.clerk}", "plain")]
    return _doc("TRIAL_RECORD", "court", _page(first), _page(second))


def judgment(f: CaseFacts, hearing: dt.datetime, pages: int) -> Document:
    """民事判决书 on two or three pages."""
    p, d = f.plaintiff.name, f.defendant.name
    fee = court_fee(f.amount)
    day = hearing.date() + dt.timedelta(days=14)
    head = [*_court_head(f, "民事判决书"), *_party_lines("原告", f.plaintiff, "body", full=False),
            Line(f"委托诉讼代理人：{f.lawyer.name}，{f.lawyer.firm}律师。"),
            *_party_lines("被告", f.defendant, "body", full=False),
            Line(f"原告{p}与被告{d}{f.cause.name}一案，本院于{ymd(f.filed)}立案后，依法适用简易程序，"
                 f"公开开庭进行了审理。原告{p}的委托诉讼代理人{f.lawyer.name}、被告{d}到庭参加诉讼。本案现已审理终结。")]
    claims = [Line(f"{p}向本院提出诉讼请求：" + "".join(_claims(f, "判令")))]
    reasons = [Line("事实和理由：" + _facts_story(f) + "被告经原告多次催讨仍未付款。"),
               Line(f"{d}辩称，对欠款事实没有异议，但因经营困难暂时无力偿还，请求分期支付。"),
               Line("本院经审理认定事实如下：" + _facts_story(f)),
               Line(f"本院认为，合法的债权债务关系受法律保护。被告{d}未按约定履行付款义务，应当承担相应的民事责任。"
                    "原告要求被告支付逾期利息的诉讼请求，于法有据，本院予以支持。"),
               Line("依照《中华人民共和国民法典》第五百七十七条、第六百七十五条，"
                    "《中华人民共和国民事诉讼法》第六十七条之规定，判决如下：")]
    orders = [Line(f"一、被告{d}于本判决生效之日起十日内支付原告{p}{f.cause.money}{f.amount}元及逾期利息；"),
              Line(f"二、驳回原告{p}的其他诉讼请求。"),
              Line("如果未按本判决指定的期间履行给付金钱义务，应当依照《中华人民共和国民事诉讼法》第二百六十四条之规定，"
                   "加倍支付迟延履行期间的债务利息。"),
              Line(f"案件受理费{fee}元，减半收取{fee // 2}元，由被告{d}负担。"),
              Line("如不服本判决，可以在判决书送达之日起十五日内，向本院递交上诉状，并按对方当事人的人数提出副本，"
                   f"上诉于{f.court.appeal_court}。")]
    tail = [Line("", "gap"), *_sign(f"审判员　{f.judge}", cn_date(day)), Line("本件与原本核对无异", "plain"),
            *_sign(f"书记员　{f.clerk}")]
    if pages == 2:
        return _doc("JUDGMENT", "court", _page(head + claims + reasons[:1]),
                    _page(reasons[2:] + orders + tail, seal=True))
    return _doc("JUDGMENT", "court", _page(head + claims), _page(reasons + orders[:2]),
                _page(orders[2:] + tail, seal=True))


def service_proof(f: CaseFacts, served: dt.date, papers: str, to: Person | Company) -> Document:
    """送达回证: the form the recipient signs, as a two-column table."""
    rows = [("案号", f.case_no), ("案由", f.cause.name), ("受送达人", to.name), ("送达地址", to.address),
            ("送达文书名称及件数", papers), ("受送达人签名或者盖章", f"{to.name}　{ymd(served)}"),
            ("送达人", f"{f.clerk}、{f.judge}"), ("备考", "直接送达")]
    lines = [Line(f.court.name, "court"), Line("送达回证", "title"),
             *[_with_cell_text(Line("", "row", r)) for r in rows], Line("", "gap"),
             Line("填发人：" + f.clerk, "plain"), *_sign(cn_date(served))]
    return _doc("SERVICE_PROOF", "court", _page(lines, seal=True))


def enf_application(f: CaseFacts, effective: dt.date) -> Document:
    """强制执行申请书 of the judgment creditor: requests on the first page, reasons and signature on the second."""
    d = f.defendant.name
    first = [Line("强制执行申请书", "title"), *_party_lines("申请执行人", f.plaintiff, "plain"),
             *_party_lines("被执行人", f.defendant, "plain"),
             Line(f"执行依据：{f.court.name}{f.basis_no}民事判决书。", "plain"), Line("执行请求：", "plain"),
             Line(f"1.强制被执行人{d}支付{f.cause.money}{f.amount}元及逾期利息；"),
             Line("2.强制被执行人加倍支付迟延履行期间的债务利息；"), Line("3.本案执行费用由被执行人负担。")]
    second = [Line("事实与理由：", "plain"),
              Line(f"申请执行人与被执行人{f.cause.name}一案，经{f.court.name}审理，作出{f.basis_no}民事判决书，"
                   f"该判决已于{ymd(effective)}发生法律效力。被执行人至今未履行判决确定的义务。"),
              Line("为维护申请执行人的合法权益，特依据《中华人民共和国民事诉讼法》的相关规定，向贵院申请强制执行。"),
              Line("此致", "body"), Line(f.court.name, "plain"), Line("", "gap"),
              *_sign(f"申请执行人：{f.plaintiff.name}", ymd(f.filed)),
              Line(f"附：{f.basis_no}民事判决书及生效证明各一份。", "plain")]
    return _doc("ENF_APPLICATION", "party", _page(first), _page(second))


def enf_notice(f: CaseFacts) -> Document:
    """执行通知书 ordering the debtor to perform."""
    fee = court_fee(f.amount)
    lines = [*_court_head(f, "执行通知书"), Line(f"{f.defendant.name}：", "plain"),
             Line(f"{f.plaintiff.name}申请执行你{f.cause.name}一案，本院作出的{f.basis_no}民事判决书已经发生法律效力。"
                  f"申请执行人于{ymd(f.filed)}向本院申请强制执行，本院依法立案执行。"
                  "依照《中华人民共和国民事诉讼法》的规定，责令你履行下列义务："),
             Line(f"一、支付申请执行人{f.plaintiff.name}{f.cause.money}{f.amount}元及逾期利息；"),
             Line("二、加倍支付迟延履行期间的债务利息；"),
             Line(f"三、负担案件受理费{fee // 2}元、申请执行费{enforcement_fee(f.amount)}元。"),
             Line("你应当自收到本通知之日起立即履行上述义务。逾期不履行的，本院将依法强制执行，"
                  "并可依法将你纳入失信被执行人名单，限制高消费。"),
             Line("特此通知。"), Line("", "gap"), *_sign(cn_date(f.filed + dt.timedelta(days=3))),
             Line(f"执行员：{f.judge}　书记员：{f.clerk}", "plain")]
    return _doc("ENF_NOTICE", "court", _page(lines, seal=True))


def enf_ruling(f: CaseFacts, chief: str, member: str) -> Document:
    """执行裁定书 freezing the debtor's deposits or attaching property."""
    p, d = f.plaintiff.name, f.defendant.name
    lines = [*_court_head(f, "执行裁定书"), *_party_lines("申请执行人", f.plaintiff, "body", full=False),
             *_party_lines("被执行人", f.defendant, "body", full=False),
             Line(f"本院在执行申请执行人{p}与被执行人{d}{f.cause.name}一案中，因被执行人未按执行通知履行法律文书确定的义务，"
                  "依照《中华人民共和国民事诉讼法》第二百四十九条、第二百五十条之规定，裁定如下："),
             Line(f"冻结、划拨被执行人{d}在金融机构的存款{f.amount}元，或者查封、扣押、拍卖、变卖其同等价值的财产。"),
             Line("本裁定立即执行。"), Line("", "gap"),
             *_sign(f"审判长　{chief}", f"审判员　{member}", f"审判员　{f.judge}", cn_date(f.filed + dt.timedelta(days=20))),
             Line("本件与原本核对无异", "plain"), *_sign(f"书记员　{f.clerk}")]
    return _doc("ENF_RULING", "court", _page(lines, seal=True))


def _id_holder(party: Person | Company) -> Person:
    return party.legal_rep if isinstance(party, Company) else party


def _issued(rng: random.Random, person: Person, filed: dt.date) -> dt.date:
    """Issue date of an ID card still valid when the case is filed."""
    earliest = max(add_years(person.birth, 16), add_years(filed, -19))
    span = max(1, (filed - earliest).days - 30)
    return earliest + dt.timedelta(days=rng.randrange(span))


def _issuer_place(person: Person) -> Place:
    """The invented city and district printed by the police office that issued a person's card."""
    address = person.address
    province = address[: address.index("省") + 1]
    city = address[len(province): address.index("市")]
    district = address[address.index("市") + 1: address.index("区")]
    return Place(province, "", city, district)


def _facts(rng: random.Random, court: Court, case_no: str, filed: dt.date, company_share: float) -> CaseFacts:
    cause = rng.choice(CAUSES)
    home = court.place
    plaintiff = make_party(rng, home if rng.random() < 0.7 else None, 0.7 if cause.story == "sale" else 0.15)
    defendant = make_party(rng, home if rng.random() < 0.7 else None, company_share)
    return CaseFacts(
        case_no=case_no, court=court, cause=cause, plaintiff=plaintiff, defendant=defendant,
        lawyer=make_lawyer(rng, home), judge=make_name(rng), clerk=make_name(rng),
        amount=rng.randrange(20, 600) * 1000, deal_date=filed - dt.timedelta(days=rng.randrange(200, 700)), filed=filed,
        office_phone=make_phone(rng),
    )


def _filing_date(rng: random.Random, year: int) -> dt.date:
    return dt.date(year, 1, 5) + dt.timedelta(days=rng.randrange(230))


def civil_case(rng: random.Random, court: Court, year: int = 2024, seq: int | None = None) -> CaseFile:
    """A 民初 case from complaint to proof of service of the judgment."""
    case_no = case_number(year, court, "民初", seq or rng.randint(100, 9999))
    f = _facts(rng, court, case_no, _filing_date(rng, year), 0.4)
    day = f.filed + dt.timedelta(days=rng.randrange(30, 55))
    hearing = dt.datetime(day.year, day.month, day.day, rng.choice((9, 14)), rng.choice((0, 30)))
    holder = _id_holder(f.plaintiff)
    either_company = isinstance(f.plaintiff, Company) or isinstance(f.defendant, Company)
    docs = (
        complaint(f), party_id(holder, _issuer_place(holder), _issued(rng, holder, f.filed)), poa(f, "原告", "被告"),
        evidence_list(f), accept_notice(f), response_notice(f), summons(f, hearing), trial_record(f, hearing),
        judgment(f, hearing, 3 if either_company else rng.choice((2, 3))),
        service_proof(f, hearing.date() + dt.timedelta(days=17), "民事判决书一份", f.defendant),
    )
    return CaseFile(case_no, "civil", court, f.cause.name, docs)


def enforcement_case(rng: random.Random, court: Court, year: int = 2024, seq: int | None = None) -> CaseFile:
    """A 执 case enforcing an earlier judgment of the same court."""
    case_no = case_number(year, court, "执", seq or rng.randint(100, 5999))
    filed = _filing_date(rng, year)
    f = _facts(rng, court, case_no, filed, 0.4)
    basis = case_number(year - 1, court, "民初", rng.randint(100, 9999))
    f = CaseFacts(**{**f.__dict__, "basis_no": basis})
    effective = filed - dt.timedelta(days=rng.randrange(20, 120))
    holder = _id_holder(f.plaintiff)
    docs = (
        enf_application(f, effective), party_id(holder, _issuer_place(holder), _issued(rng, holder, filed)),
        poa(f, "申请执行人", "被执行人"), enf_notice(f), enf_ruling(f, make_name(rng), make_name(rng)),
        service_proof(f, filed + dt.timedelta(days=6), "执行通知书、执行裁定书各一份", f.defendant),
    )
    return CaseFile(case_no, "enforcement", court, f.cause.name, docs)
