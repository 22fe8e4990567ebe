"""Rendered e-receipt and payment notice PDFs, checked with poppler (pdftotext, pdffonts,
pdftoppm) and zbar (zbarimg) as an independent reader would."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from publicpay.adapters.payables.notice import FINE_LATE_FEE_NOTE, NoticeData, render_notice
from publicpay.adapters.receipts.pdf import DEFAULT_FONT_PATH, ReceiptPdfRenderer
from publicpay.domain.amounts_in_words import amount_in_words
from publicpay.domain.receipts.receipts import ReceiptFace, ReceiptKind, ReceiptLine
from publicpay.services.receipts.building import ReceiptPolicy

VERIFY_URL = "https://pay.example.gov.cn/receipts/verify?code=32010126&no=0013933922&check=235456"
LINES = (
    ReceiptLine("103043211", "不动产登记费（住宅类）", "件", 1, 8000, 8000),
    ReceiptLine("103050501", "交通违法罚款", "次", 1, 132950, 132950),
)
FACE = ReceiptFace(
    code="32010126",
    number="0013933922",
    check_code="235456",
    issued_at=datetime(2026, 11, 22, 2, 15, tzinfo=UTC),
    payer_name="张三",
    payer_code="11010519491231002X",
    unit_name="如皋市自然资源和规划局",
    unit_code="12320900E875065319",
    lines=LINES,
    total_fen=140950,
    total_in_words=amount_in_words(140950),
    payee="李四",
    checker="王五",
    payment_code="32068226010000000170",
    channel_name="微信支付",
    verify_url=VERIFY_URL,
    title="江苏省非税收入统一票据（电子）",
    remark="R&D <测试> 备注",
)
NOTICE = NoticeData(
    payment_code="32068226010000000170",
    pay_url="https://pay.example.gov.cn/pay/32068226010000000170",
    unit_name="如皋市公安局交通警察大队",
    payer_name="张三",
    payer_id_masked="110105********002X",
    lines=(ReceiptLine("103050501", "交通违法罚款", "次", 1, 20000, 20000),),
    total_fen=20000,
    issued_on=date(2026, 11, 22),
    due_date=date(2026, 12, 7),
    late_fee_note=FINE_LATE_FEE_NOTE,
    banks=("中国建设银行", "中国工商银行"),
)


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _text(pdf: Path) -> str:
    return _run("pdftotext", "-layout", str(pdf), "-")


def _qr_payloads(pdf: Path) -> list[str]:
    _run("pdftoppm", "-r", "200", "-png", "-singlefile", str(pdf), str(pdf.with_suffix("")))
    result = subprocess.run(
        ["zbarimg", "-q", "--raw", str(pdf.with_suffix(".png"))],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.split()


def _assert_only_embedded_wqy_subsets(pdf: Path) -> None:
    fonts = [line.split() for line in _run("pdffonts", str(pdf)).splitlines()[2:]]
    assert fonts
    for name, *_, emb, sub, uni, _obj, _gen in fonts:
        assert "+WenQuanYiMicroHei" in name
        assert (emb, sub, uni) == ("yes", "yes", "yes")


@pytest.fixture(scope="module")
def renderer() -> ReceiptPdfRenderer:
    assert Path(DEFAULT_FONT_PATH).exists(), "install fonts-wqy-microhei"
    return ReceiptPdfRenderer()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_receipt_pdf_shows_the_face_as_extractable_chinese_text(
    renderer: ReceiptPdfRenderer, tmp_path: Path
) -> None:
    pdf = _write(tmp_path, "r.pdf", renderer.render(FACE))
    text = _text(pdf)
    for expected in (
        "江苏省非税收入统一票据（电子）", "财政票据监制章", "票据代码：32010126",
        "票据号码：0013933922", "校验码：235456", "开票日期：2026-11-22", "交款人：张三",
        "110105********002X", "不动产登记费（住宅类）", "壹仟肆佰零玖元伍角", "¥1,409.50",
        "1,329.50", "3206 8226 0100 0000 0170", "微信支付", "R&D <测试> 备注",
        "复核人：王五", "收款人：李四", "如皋市自然资源和规划局",
    ):  # fmt: skip
        assert expected in text, expected
    assert "非税收入" in text
    assert "重复打印" not in text
    assert "红字" not in text


def test_receipt_pdf_is_a5_landscape_with_only_the_embedded_cjk_subset(
    renderer: ReceiptPdfRenderer, tmp_path: Path
) -> None:
    pdf = _write(tmp_path, "r.pdf", renderer.render(FACE))
    assert "595.276 x 419.528 pts" in _run("pdfinfo", str(pdf))
    _assert_only_embedded_wqy_subsets(pdf)


def test_receipt_qr_decodes_to_the_verify_url(renderer: ReceiptPdfRenderer, tmp_path: Path) -> None:
    pdf = _write(tmp_path, "r.pdf", renderer.render(FACE))
    assert _qr_payloads(pdf) == [VERIFY_URL]


def test_reprint_is_marked(renderer: ReceiptPdfRenderer, tmp_path: Path) -> None:
    pdf = _write(tmp_path, "r.pdf", renderer.render(FACE, reprint=True))
    assert "重复打印" in _text(pdf)


def test_red_receipt_shows_red_mark_negative_amounts_and_the_original(
    renderer: ReceiptPdfRenderer, tmp_path: Path
) -> None:
    red = replace(
        FACE,
        number="0013933923",
        kind=ReceiptKind.RED,
        lines=tuple(replace(line, amount_fen=-line.amount_fen) for line in LINES),
        total_fen=-140950,
        total_in_words="负" + amount_in_words(140950),
        original_code="32010126",
        original_number="0013933922",
    )
    text = _text(_write(tmp_path, "red.pdf", renderer.render(red)))
    assert "红字" in text
    assert "原票据代码：32010126" in text
    assert "原票据号码：0013933922" in text
    assert "票据号码：0013933923" in text
    assert "-¥1,409.50" in text
    assert "负壹仟肆佰零玖元伍角" in text


def test_each_receipt_gets_its_own_number_and_qr(
    renderer: ReceiptPdfRenderer, tmp_path: Path
) -> None:
    other_url = VERIFY_URL.replace("0013933922", "0013933924")
    other = replace(FACE, number="0013933924", verify_url=other_url)
    pdf = _write(tmp_path, "o.pdf", renderer.render(other))
    assert "票据号码：0013933924" in _text(pdf)
    assert _qr_payloads(pdf) == [other_url]


@pytest.mark.parametrize(
    ("number", "check_code", "fen"),
    [("0000000001", "000000", 1), ("0013933925", "987654", 140950), ("9999999999", "505050", -99)],
)
def test_fixed_mask_qr_of_real_verify_urls_decodes(
    renderer: ReceiptPdfRenderer, tmp_path: Path, number: str, check_code: str, fen: int
) -> None:
    url = ReceiptPolicy("https://pay.example.gov.cn").verify_url(
        "33010126", number, check_code, FACE.issued_at, fen
    )
    face = replace(FACE, number=number, check_code=check_code, verify_url=url)
    assert _qr_payloads(_write(tmp_path, "q.pdf", renderer.render(face))) == [url]


def test_notice_pdf_shows_code_amounts_due_date_and_instructions(tmp_path: Path) -> None:
    pdf = _write(tmp_path, "n.pdf", render_notice(NOTICE))
    text = _text(pdf)
    for expected in (
        "非税收入缴款通知书", "3206 8226 0100 0000 0170", "如皋市公安局交通警察大队",
        "110105********002X", "交通违法罚款", "人民币贰佰元整", "¥200.00",
        "2026年12月07日前", "百分之三加处罚款", "扫码支付", "柜面缴款", "自助机缴款",
        "中国建设银行、中国工商银行",
    ):  # fmt: skip
        assert expected in text, expected
    assert "595.276 x 841.89 pts" in _run("pdfinfo", str(pdf))
    _assert_only_embedded_wqy_subsets(pdf)


def test_notice_qr_decodes_to_the_pay_url(tmp_path: Path) -> None:
    pdf = _write(tmp_path, "n.pdf", render_notice(NOTICE))
    assert _qr_payloads(pdf) == [NOTICE.pay_url]


def test_notice_without_late_fee_or_due_date_says_so(tmp_path: Path) -> None:
    plain = replace(NOTICE, late_fee_note="", due_date=None, banks=())
    text = _text(_write(tmp_path, "n.pdf", render_notice(plain)))
    assert "加处罚款" not in text
    assert "缴款期限：" in text
    assert "到代收银行任一营业网点" in text


def test_notice_refuses_inconsistent_totals() -> None:
    with pytest.raises(ValueError, match="sum of the line amounts"):
        replace(NOTICE, total_fen=1)
