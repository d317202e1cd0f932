"""The cause of action (案由) read from what court papers print, in the forms courts print it — not only the
synthetic generator's sentences."""
from __future__ import annotations

import pytest

from classify.cause import case_cause, causes_in


@pytest.mark.parametrize("text, cause", [
    ("原告张三与被告李四民间借贷纠纷一案，本院于2024年3月1日立案后", "民间借贷纠纷"),
    ("你诉嘉兴市某某物业服务有限公司物业服务合同纠纷一案的起诉状已收到。", "物业服务合同纠纷"),   # longest name
    ("案由：机动车交通事故责任纠纷\n审判员：王五", "机动车交通事故责任纠纷"),
    ("案 由  离婚纠纷   被传唤人  李四", "离婚纠纷"),                                       # a form's cells
    ("案由：新类型网络服务纠纷", "新类型网络服务纠纷"),                                    # not listed: as printed
    ("被告人王某某盗窃罪一案，由某某区人民检察院提起公诉", "盗窃罪"),
    ("申请执行人与被执行人买卖合同\n纠纷一案，经本院审理", "买卖合同纠纷"),                  # broken over lines
    ("原告甲与被告乙生命权、身体权、健康权纠纷一案", "生命权、身体权、健康权纠纷"),
])
def test_the_cause_is_read_where_papers_print_it(text, cause):
    assert causes_in(text) == [cause]


def test_a_page_printing_no_cause_gives_none_and_the_case_takes_the_one_printed_most():
    assert causes_in("本院认为，被告应当承担还款责任。一案两诉不予支持") == []
    papers = ["案由：民间借贷纠纷", "原告甲与被告乙民间借贷纠纷一案", "另案甲诉丙买卖合同纠纷一案"]
    assert case_cause(papers) == "民间借贷纠纷"
    assert case_cause(["正文", ""]) is None
