"""Batch rows grouped into payables: continuation rows, inconsistencies, limits, and how a refusal
of one payable is spread over its rows."""

from __future__ import annotations

from publicpay.domain.payable_batches import (
    MAX_LINES,
    BatchReport,
    BatchRow,
    BatchStatus,
    RowStatus,
    drafts,
    reasons_text,
    row_results,
)
from publicpay.domain.payables import LineRequest, PayerType

ID = "330105196311138236"


def _row(row: int, biz_no: str = "A", item: str = "JY0101", **kw: object) -> BatchRow:
    payer = {"payer_name": "李娜", "payer_type": PayerType.PERSON, "id_no": ID}
    return BatchRow(row=row, biz_no=biz_no, item_code=item, **{**payer, **kw})  # type: ignore[arg-type]


def test_rows_sharing_a_biz_no_become_one_payable_with_several_lines() -> None:
    rows = [
        _row(2, item="JY0101"),
        BatchRow(row=3, biz_no="B", payer_name="王芳", payer_type=PayerType.PERSON, id_no=ID,
                 item_code="JY0101"),
        BatchRow(row=4, biz_no="A", item_code="JY0102", quantity=2),
    ]  # fmt: skip
    first, second = drafts(rows)
    assert first.errors == {}
    assert second.errors == {}
    assert [r.row for r in first.rows] == [2, 4]
    assert first.lines == (LineRequest("JY0101", 1, None), LineRequest("JY0102", 2, None))
    assert first.payer is not None
    assert first.payer.name == "李娜"


def test_a_continuation_row_with_another_payer_refuses_the_whole_payable() -> None:
    [draft] = drafts([_row(2), _row(3, item="JY0102", payer_name="王芳"), _row(4, item="JY0102")])
    assert draft.errors == {
        3: {"payer.name": "与第2行（同一业务编号）的缴款人姓名不一致"},
        2: {"biz_no": "同一业务编号（A）的第3行有误，整笔缴款单未登记"},
        4: {"biz_no": "同一业务编号（A）的第3行有误，整笔缴款单未登记"},
    }


def test_required_fields_limits_and_cell_errors_are_reported_per_row() -> None:
    rows = [
        BatchRow(row=2, biz_no="A", item_code=""),
        _row(3, biz_no="", quantity=0),
        _row(4, biz_no="C", amount_fen=0, remark="备" * 501, errors={"due_date": "坏日期"}),
    ]
    a, no_biz_no, c = drafts(rows)
    assert a.errors == {
        2: {
            "payer.name": "缴款人姓名不能为空",
            "payer.type": "请填写缴款人类型：个人或单位",
            "payer.id_no": "证件号码不能为空",
            "item_code": "项目编码不能为空",
        }
    }
    assert no_biz_no.errors == {
        3: {"quantity": "数量应为1–100000的整数", "biz_no": "业务编号不能为空"}
    }
    assert set(c.errors[4]) == {"amount_fen", "remark", "due_date"}


def test_a_payable_has_at_most_fifty_lines() -> None:
    [draft] = drafts([_row(n) for n in range(2, 2 + MAX_LINES + 1)])
    assert draft.errors[2 + MAX_LINES] == {"biz_no": "同一业务编号最多50行（收费项目）"}


def test_a_refusal_of_the_payable_goes_to_the_rows_it_is_about() -> None:
    [draft] = drafts([_row(2), _row(3, item="XX9999")])
    spread = draft.refusals({"items[1].item_code": "收费项目 XX9999 不存在"}, "收费项目校验未通过")
    assert spread == {
        3: {"item_code": "收费项目 XX9999 不存在"},
        2: {"biz_no": "同一业务编号（A）的第3行有误，整笔缴款单未登记"},
    }
    assert draft.refusals({}, "登记冲突")[2] == {"row": "登记冲突"}
    assert reasons_text(spread[3]) == "项目编码：收费项目 XX9999 不存在"


def test_the_report_shows_payment_codes_only_once_registered() -> None:
    [draft] = drafts([_row(2), _row(3, item="JY0102")])
    results = row_results(draft, RowStatus.ACCEPTED, amounts=[110000, 80000], payment_code="3301")
    dry = BatchReport.of(BatchStatus.DRY_RUN, results, 0)
    done = BatchReport.of(BatchStatus.REGISTERED, results, 1)
    assert [r.payment_code for r in dry.rows] == [None, None]
    assert [r.payment_code for r in done.rows] == ["3301", "3301"]
    assert (done.amount_fen, done.payable_count, done.count(RowStatus.ACCEPTED)) == (190000, 1, 2)
    assert BatchReport.from_json(done.to_json()) == done


def test_rows_survive_a_round_trip_through_json() -> None:
    row = _row(7, due_date=None, phone="13900139000", errors={"quantity": "数量应为正整数"})
    assert BatchRow.from_json(row.to_json()) == row
