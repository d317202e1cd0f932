"""Invented parties for synthetic case files: people, companies, places, IDs and credit codes with valid checksums."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱郭何高林罗郑梁谢宋唐许韩冯邓曾肖田董潘蒋余杜叶程苏魏吕丁任沈姚姜崔钟谭陆汪范金石廖贾夏付方白邹熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝邵万钱严武戴孔汤"
)
GIVEN_CHARS = tuple(
    "伟娜敏静丽强军洋勇艳娟涛明超秀平刚英华玉萍红建文辉鹏宇浩凯健俊帆晨欣婷雪琳晓海波峰斌志东林佳慧颖丹新春"
)
ETHNICITIES = ("汉",) * 9 + ("回",)
# (province, abbreviation used in case numbers)
PROVINCES = (
    ("浙江省", "浙"), ("江苏省", "苏"), ("福建省", "闽"), ("山东省", "鲁"), ("湖南省", "湘"),
    ("四川省", "川"), ("广东省", "粤"), ("河南省", "豫"), ("安徽省", "皖"), ("江西省", "赣"),
)
CITIES = ("云屏", "望川", "清澜", "景原", "明溪", "桐川", "青川", "南溪", "江源", "安和")
DISTRICTS = ("柳溪", "桐泽", "梧江", "松岩", "新城", "兰塘", "东湖", "北岸", "河西", "湖滨")
STREETS = ("望江路", "明湖路", "文澜街", "清风路", "锦绣路", "东园路", "光明路", "滨河路", "春晖路", "新安街", "学院路", "长乐路")
BRANDS = ("华禾", "瑞丰", "恒泰", "嘉禾", "宏达", "金诚", "博远", "远航", "联创", "卓越", "汇通", "安达", "新达", "中和")
TRADES = ("建材", "商贸", "科技", "物流", "机械", "工程", "纺织", "电子", "食品", "家具", "贸易", "装饰工程")
COMPANY_FORMS = ("有限公司", "有限公司", "有限责任公司", "股份有限公司")
LAW_FIRM_BRANDS = ("明正", "天衡", "正和", "君安", "致远", "恒信", "公允", "博达")
POSITIONS = ("执行董事", "总经理", "董事长", "执行董事兼总经理")


@dataclass(frozen=True)
class Place:
    """An invented city and district inside a real province."""
    province: str
    abbr: str
    city: str
    district: str

    @property
    def prefix(self) -> str:
        return f"{self.province}{self.city}市{self.district}区"


@dataclass(frozen=True)
class Person:
    """A natural person with the fields court papers print."""
    name: str
    sex: str
    birth: dt.date
    ethnicity: str
    address: str
    id_number: str
    phone: str


@dataclass(frozen=True)
class Company:
    """A legal person with its registered seat, credit code and legal representative."""
    name: str
    address: str
    credit_code: str
    legal_rep: Person
    position: str
    phone: str


@dataclass(frozen=True)
class Lawyer:
    """An agent ad litem from an invented law firm."""
    name: str
    firm: str
    phone: str


def id_check_char(first17: str) -> str:
    """GB 11643 check character of the first 17 digits of a resident ID."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def resident_id_valid(number: str) -> bool:
    """True when an 18-character resident ID has a correct GB 11643 check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return id_check_char(number[:17]) == number[17].upper()


def credit_check_char(first17: str) -> str:
    """GB 32100 check character of the first 17 characters of a unified social credit code."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_valid(code: str) -> bool:
    """True when an 18-character unified social credit code has a correct GB 32100 check character."""
    if len(code) != 18 or any(c not in CREDIT_ALPHABET for c in code):
        return False
    return credit_check_char(code[:17]) == code[17]


def org_check_char(first8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def fake_region(rng: random.Random) -> str:
    """A 6-digit administrative region code that no real region uses (99xxxx)."""
    return f"99{rng.randint(1, 99):02d}{rng.randint(1, 99):02d}"


def make_resident_id(rng: random.Random, birth: dt.date, male: bool) -> str:
    """A resident ID with a valid check character, from a non-existent region; odd order digit = male."""
    order = rng.randrange(0, 500) * 2 + (1 if male else 0)
    first17 = f"{fake_region(rng)}{birth:%Y%m%d}{order:03d}"
    return first17 + id_check_char(first17)


def make_credit_code(rng: random.Random) -> str:
    """A company's unified social credit code (91 + fake region + organisation code) with valid check characters."""
    body = "".join(rng.choice(CREDIT_ALPHABET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    first17 = "91" + fake_region(rng) + body + org_check_char(body)
    return first17 + credit_check_char(first17)


def make_phone(rng: random.Random) -> str:
    """A mobile number from the unassigned-looking 199-0000-xxxx block."""
    return f"1990000{rng.randrange(10000):04d}"


def make_place(rng: random.Random) -> Place:
    """An invented city and district in a real province."""
    province, abbr = rng.choice(PROVINCES)
    return Place(province, abbr, rng.choice(CITIES), rng.choice(DISTRICTS))


def make_address(rng: random.Random, place: Place | None = None) -> str:
    """A street address in an invented place, optionally inside a given one."""
    place = place or make_place(rng)
    address = f"{place.prefix}{rng.choice(STREETS)}{rng.randint(1, 399)}号"
    if rng.random() < 0.5:
        address += f"{rng.randint(1, 30)}幢{rng.randint(1, 4)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}室"
    return address


def make_name(rng: random.Random) -> str:
    """A Chinese personal name: one surname and one or two given-name characters."""
    size = 1 if rng.random() < 0.3 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(size))


def make_person(rng: random.Random, place: Place | None = None) -> Person:
    """A natural person born 1950–2000 with a valid resident ID and a 199 phone number."""
    male = rng.random() < 0.55
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(50 * 365))
    return Person(
        name=make_name(rng),
        sex="男" if male else "女",
        birth=birth,
        ethnicity=rng.choice(ETHNICITIES),
        address=make_address(rng, place),
        id_number=make_resident_id(rng, birth, male),
        phone=make_phone(rng),
    )


def make_company(rng: random.Random, place: Place | None = None) -> Company:
    """A company with an invented trade name (e.g. 云屏华禾建材有限公司) and a valid credit code."""
    place = place or make_place(rng)
    name = f"{place.city}{rng.choice(BRANDS)}{rng.choice(TRADES)}{rng.choice(COMPANY_FORMS)}"
    return Company(
        name=name,
        address=make_address(rng, place),
        credit_code=make_credit_code(rng),
        legal_rep=make_person(rng, place),
        position=rng.choice(POSITIONS),
        phone=make_phone(rng),
    )


def make_lawyer(rng: random.Random, place: Place) -> Lawyer:
    """A lawyer of an invented firm in the given province."""
    firm = f"{place.province[:-1]}{rng.choice(LAW_FIRM_BRANDS)}律师事务所"
    return Lawyer(make_name(rng), firm, make_phone(rng))


def make_party(rng: random.Random, place: Place | None = None, company_share: float = 0.4) -> Person | Company:
    """A person or, with probability company_share, a company."""
    if rng.random() < company_share:
        return make_company(rng, place)
    return make_person(rng, place)
