"""Seed catalogue: the vehicle office's 2 categories / 18 items, exit-entry, school, district.

Standards come from the official notices cited in domain-notes §3.2 (发改价格〔2004〕2831号,
〔2006〕1010号, 〔2017〕1186号, 〔2019〕914号). Budget subject codes below the 款 level could not
be verified (notes §9.4): they are illustrative and should be replaced by the province's table.
"""

from __future__ import annotations

from datetime import date

from publicpay.domain.catalogue import (
    BudgetLevel,
    Category,
    Destination,
    FeeItem,
    LevelShare,
    Split,
    Standard,
    StandardKind,
    single_level,
)

SINCE = date(2020, 1, 1)
COUNTY = single_level(BudgetLevel.COUNTY)
CENTRAL_LOCAL_HALF = Split((LevelShare(BudgetLevel.CENTRAL, 5), LevelShare(BudgetLevel.CITY, 5)))
PLATES = "发改价格〔2004〕2831号"
LICENCES = "发改价格〔2017〕1186号"
EXAMS = "发改价格〔2006〕1010号"


def _fixed(
    code: str,
    name: str,
    unit: str,
    yuan: int,
    basis: str,
    subject: str = "103040101",
    split: Split = COUNTY,
    category: Category = Category.ADMIN_FEE,
    destination: Destination = Destination.TREASURY,
) -> FeeItem:
    return FeeItem(
        code=code,
        name=name,
        category=category,
        budget_subject=subject,
        destination=destination,
        unit_of_measure=unit,
        split=split,
        standards=(Standard(StandardKind.FIXED, SINCE, amount_fen=yuan * 100, basis=basis),),
        legal_basis=basis,
    )


# 车管所: 类别一 号牌证照工本费 (10 items), 类别二 驾驶许可考试费 (8 items)
VEHICLE_OFFICE = (
    _fixed("GA0101", "汽车号牌", "副", 100, PLATES),
    _fixed("GA0102", "挂车号牌", "面", 50, PLATES),
    _fixed("GA0103", "摩托车号牌", "副", 35, PLATES),
    _fixed("GA0104", "机动车临时号牌", "张", 5, PLATES),
    _fixed("GA0105", "机动车行驶证", "本", 10, LICENCES),
    _fixed("GA0106", "机动车临时行驶证", "本", 10, LICENCES),
    _fixed("GA0107", "机动车驾驶证", "本", 10, LICENCES),
    _fixed("GA0108", "机动车登记证书", "本", 10, PLATES),
    _fixed("GA0109", "临时机动车驾驶许可", "本", 10, LICENCES),
    _fixed("GA0110", "机动车号牌专用固封装置", "个", 5, PLATES),
    _fixed("GA0201", "汽车驾驶人考试 微机无纸化(科目一)", "次", 60, EXAMS, "103040102"),
    _fixed("GA0202", "汽车驾驶人考试 红外线桩考仪", "次", 240, EXAMS, "103040102"),
    _fixed("GA0203", "汽车驾驶人考试 场内道路驾驶技能", "次", 90, EXAMS, "103040102"),
    _fixed("GA0204", "汽车驾驶人考试 实际道路驾驶技能", "次", 180, EXAMS, "103040102"),
    _fixed("GA0205", "摩托车驾驶人考试 微机无纸化(科目一)", "次", 60, EXAMS, "103040102"),
    _fixed("GA0206", "摩托车驾驶人考试 场地驾驶技能", "次", 80, EXAMS, "103040102"),
    _fixed("GA0207", "摩托车驾驶人考试 道路驾驶技能", "次", 140, EXAMS, "103040102"),
    _fixed("GA0208", "汽车驾驶人考试 安全文明驾驶常识", "次", 60, EXAMS, "103040102"),
)

TRAFFIC_FINE = FeeItem(
    code="FM0101",
    name="道路交通安全违法行为罚款",
    category=Category.FINE,
    budget_subject="1030501",
    destination=Destination.TREASURY,
    unit_of_measure="起",
    split=COUNTY,
    standards=(Standard(StandardKind.DECISION, SINCE, max_fen=200_000, basis="道路交通安全法"),),
    legal_basis="《中华人民共和国道路交通安全法》",
)

PASSPORT = FeeItem(
    code="GA0301",
    name="普通护照",
    category=Category.ADMIN_FEE,
    budget_subject="103040103",
    destination=Destination.TREASURY,
    unit_of_measure="本",
    split=CENTRAL_LOCAL_HALF,
    standards=(
        Standard(
            StandardKind.FIXED,
            date(2000, 1, 1),
            date(2017, 2, 28),
            amount_fen=20_000,
            basis="计价格〔2000〕293号",
        ),
        Standard(
            StandardKind.FIXED,
            date(2017, 3, 1),
            date(2019, 6, 30),
            amount_fen=16_000,
            basis="发改价格〔2017〕1186号",
        ),
        Standard(
            StandardKind.FIXED, date(2019, 7, 1), amount_fen=12_000, basis="发改价格〔2019〕914号"
        ),
    ),
    legal_basis="发改价格〔2019〕914号",
)

EXIT_ENTRY = (
    PASSPORT,
    _fixed(
        "GA0302",
        "往来港澳通行证",
        "证",
        60,
        "发改价格〔2019〕914号",
        "103040103",
        CENTRAL_LOCAL_HALF,
    ),
    _fixed("GA0303", "港澳签注（一次有效）", "件", 15, LICENCES, "103040103", CENTRAL_LOCAL_HALF),
    _fixed("GA0304", "港澳签注（二次有效）", "件", 30, LICENCES, "103040103", CENTRAL_LOCAL_HALF),
    _fixed(
        "GA0305", "出入境通行证（一次有效）", "证", 15, LICENCES, "103040103", CENTRAL_LOCAL_HALF
    ),
    _fixed(
        "GA0306", "出入境通行证（多次有效）", "证", 80, LICENCES, "103040103", CENTRAL_LOCAL_HALF
    ),
)

SCHOOL = (
    _fixed(
        "JY0101",
        "普通高中学费",
        "学期",
        1_100,
        "浙价费〔2015〕230号",
        "103040201",
        destination=Destination.SPECIAL_ACCOUNT,
    ),
    _fixed(
        "JY0102",
        "普通高中住宿费",
        "学期",
        800,
        "浙价费〔2015〕230号",
        "103040201",
        destination=Destination.SPECIAL_ACCOUNT,
    ),
)


def _decision(
    code: str, name: str, category: Category, subject: str, unit: str, max_yuan: int | None = None
) -> FeeItem:
    return FeeItem(
        code=code,
        name=name,
        category=category,
        budget_subject=subject,
        destination=Destination.TREASURY,
        unit_of_measure=unit,
        split=COUNTY,
        standards=(
            Standard(StandardKind.DECISION, SINCE, max_fen=max_yuan * 100 if max_yuan else None),
        ),
    )


DISTRICT = (
    _fixed("ZR0101", "不动产登记费（住宅）", "件", 80, "发改价格规〔2016〕2559号", "103043211"),
    FeeItem(
        code="CG0101",
        name="城市道路占用费",
        category=Category.ADMIN_FEE,
        budget_subject="103043301",
        destination=Destination.TREASURY,
        unit_of_measure="平方米·月",
        split=COUNTY,
        standards=(
            Standard(
                StandardKind.RANGE, SINCE, min_fen=500, max_fen=3_000, basis="浙价费〔2008〕207号"
            ),
        ),
    ),
    _decision("CG0201", "城市管理行政罚款", Category.FINE, "1030501", "起", 50_000),
    _decision("GZ0101", "行政事业单位国有房产出租收入", Category.STATE_RESOURCE, "1030702", "笔"),
    _decision("GZ0201", "国有资本经营收益", Category.STATE_CAPITAL, "1030601", "笔"),
    _decision("ZX0101", "残疾人就业保障金", Category.SPECIAL, "1030218", "笔"),
)

ALL_ITEMS = VEHICLE_OFFICE + (TRAFFIC_FINE,) + EXIT_ENTRY + SCHOOL + DISTRICT
