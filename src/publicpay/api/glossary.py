"""One glossary for the JSON API: every field name means the same thing everywhere, so the
OpenAPI document fills in any description a schema did not give from here."""

from __future__ import annotations

from typing import Any

FIELDS: dict[str, str] = {
    "active": "是否为当前使用的密钥",
    "algorithm": "签名算法，SM2-SM3",
    "amount_due_fen": "今日应缴金额（分），含罚没项目逾期加处罚款",
    "amount_fen": "金额（分，整数）",
    "bank_serial": "代收银行交易流水号（幂等键）",
    "biz_no": "执收单位业务编号（单位内唯一，幂等键）",
    "booked_at": "入账时间（UTC，ISO 8601）",
    "booked_by": "入账方说明（审计记录以调用方 App ID 为准）",
    "change_fen": "找零（分）",
    "channel": "支付渠道：alipay、wechat、unionpay、counter（银行柜面）、cash（现金）",
    "check_code": "票据校验码（6位）",
    "code": "票据代码（8位）",
    "content_b64": "被签名内容的 Base64（原样字节）",
    "created_at": "创建时间（UTC，ISO 8601）",
    "ctx": "校验上下文",
    "cursor": "事件游标（递增）",
    "data": "事件数据",
    "detail": "错误说明",
    "devices": "设备列表",
    "due_date": "缴款期限（YYYY-MM-DD）",
    "events": "事件列表（按游标升序）",
    "expires_at": "订单失效时间（UTC，ISO 8601）",
    "id": "唯一标识",
    "input": "收到的值",
    "item_code": "非税收入项目编码",
    "item_name": "非税收入项目名称",
    "key_id": "密钥编号",
    "keys": "公钥列表",
    "last_seen_at": "最近一次心跳时间（UTC，ISO 8601）",
    "lines": "收费项目明细",
    "loc": "出错字段位置",
    "msg": "错误信息",
    "name": "名称",
    "next_cursor": "下次拉取时作为 after 传入的游标",
    "notice_pdf_url": "缴款通知书 PDF 地址",
    "number": "票据号码（10位）",
    "order_no": "平台支付订单号",
    "paid_at": "缴款成功时间（UTC，ISO 8601）",
    "paid_fen": "实缴金额（分）",
    "paper": "纸张状态：ok（正常）、low（纸少）、out（缺纸）",
    "pay_url": "缴款人缴费页面地址",
    "payment_code": "20位缴款码（区划6+年份2+类型2+序号9+校验位1）",
    "pdf_url": "票据 PDF 地址",
    "printer": "打印机状态（设备上报）",
    "public_key_pem": "SM2 公钥（PEM）",
    "qr_code": "渠道返回的二维码内容（钱包扫码）",
    "quantity": "数量",
    "receipt": "财政电子票据（开具后出现）",
    "receipt_ready": "电子票据是否已开具（已开具时可下载 /pay/{payment_code}/receipt.pdf）",
    "received_fen": "实收现金（分）",
    "refunded_fen": "已退款金额（分）",
    "refunds": "退款列表（按申请时间排序）",
    "remark": "备注",
    "reversed_at": "冲正时间（UTC，ISO 8601）",
    "signature_b64": "签名值：DER 编码 SEQUENCE{r,s} 的 Base64",
    "signatures": "签名列表：执收单位签名、财政监制签名",
    "signer": "签名方：unit（执收单位）或 finance（财政部门）",
    "signer_id": "SM2 签名者标识（默认 1234567812345678）",
    "site_id": "所属站点（便民点、服务大厅、合作银行网点）编号",
    "standard_fen": "收费标准（分/单位）",
    "status": "状态",
    "status_label": "状态（中文）",
    "type": "类型",
    "unit_of_measure": "计量单位",
    "url": "地址",
    "version": "设备软件版本",
    "xml_url": "票据 XML 地址",
}


def fill_descriptions(spec: dict[str, Any]) -> dict[str, Any]:
    for schema in spec.get("components", {}).get("schemas", {}).values():
        for name, prop in schema.get("properties", {}).items():
            if not prop.get("description") and name in FIELDS:
                prop["description"] = FIELDS[name]
    return spec
