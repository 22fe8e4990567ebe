"""我的缴费记录 over HTTP: proof by payment code + name or by ID number + one-time code (sent by the
demo sender, read from its log), the list across units with receipts, the session, logout, the
portal cart; every bad input answers a Chinese page and changes nothing it should not."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx

from publicpay.adapters.messages.senders import LogSender
from publicpay.domain.codes import citizen_id_check_char
from tests.conftest import payable_body
from tests.integration.receipt_kit import drain, pay
from tests.support.client import SignedClient
from tests.support.polling import wait_until


def new_person() -> dict[str, str]:
    first17 = f"330105198{secrets.randbelow(10)}0{secrets.randbelow(9) + 1}1{secrets.randbelow(9)}"
    first17 += f"{secrets.randbelow(1000):03d}"
    return {
        "name": "欧阳" + secrets.choice("娜伟芳磊"),
        "id_no": first17 + citizen_id_check_char(first17),
        "phone": "139" + f"{secrets.randbelow(10**8):08d}",
    }


def register(api: SignedClient, person: dict[str, str], item: str = "GA0101") -> str:
    body = payable_body(person, item)
    body["payer"]["phone"] = person["phone"]
    response = api.post("/api/v1/payables", body)
    assert response.status_code == 201, response.text
    return str(response.json()["payment_code"])


def browser(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=10)


def sent_code(stack: Any, phone: str) -> str:
    sender = stack.container.message_sender
    assert isinstance(sender, LogSender)
    masked = phone[:3] + "****" + phone[-4:]
    for _, _, to, text in sender.logged():
        if to == masked and "验证码" in text:
            found = re.search(r"验证码(\d{6})", text)
            assert found is not None
            return found.group(1)
    raise AssertionError(f"no code sent to {masked}")


def ask_code(client: httpx.Client, person: dict[str, str]) -> httpx.Response:
    return client.post(
        "/pay/history/send-code", data={"id_no": person["id_no"], "phone": person["phone"]}
    )


def test_proof_by_id_and_one_time_code_lists_payables_across_units_with_receipts(
    stack: Any, api: SignedClient, school_api: SignedClient
) -> None:
    person = new_person()
    paid = register(api, person)
    unpaid = register(school_api, person, stack.info["units"][2]["items"][0])
    pay(stack, paid)
    drain(stack)
    client = browser(stack.info["base_url"])
    asked = ask_code(client, person)
    assert asked.status_code == 200
    assert "验证码已发送" in asked.text
    assert person["phone"][-4:] in asked.text
    assert person["id_no"] not in asked.text
    done = client.post("/pay/history/verify", data={"code": sent_code(stack, person["phone"])})
    assert done.status_code == 303
    page = client.get("/pay/history")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert paid in page.text
    assert unpaid in page.text
    assert f"/pay/{paid}/receipt.pdf" in page.text
    assert "汽车号牌" in page.text  # the items of each payable
    assert person["name"] not in page.text
    assert person["id_no"] not in page.text
    assert client.get(f"/pay/{paid}/receipt.pdf").headers["content-type"] == "application/pdf"


def test_proof_by_payment_code_and_name(stack: Any, api: SignedClient) -> None:
    person = new_person()
    code = register(api, person)
    client = browser(stack.info["base_url"])
    wrong = client.post("/pay/history/by-code", data={"payment_code": code, "name": "李四"})
    assert wrong.status_code == 422
    assert "缴款码或缴款人姓名不符" in wrong.text
    assert "pp_history" not in wrong.cookies
    right = client.post("/pay/history/by-code", data={"payment_code": code, "name": person["name"]})
    assert right.status_code == 303
    assert code in client.get("/pay/history").text


def test_logout_wipes_the_session(stack: Any, api: SignedClient) -> None:
    person = new_person()
    code = register(api, person)
    client = browser(stack.info["base_url"])
    client.post("/pay/history/by-code", data={"payment_code": code, "name": person["name"]})
    assert code in client.get("/pay/history").text
    out = client.post("/pay/history/logout", follow_redirects=True)
    assert "已退出" in out.text
    assert code not in out.text
    assert code not in client.get("/pay/history").text


def test_a_forged_or_expired_session_cookie_shows_the_proof_forms(
    stack: Any, api: SignedClient
) -> None:
    person = new_person()
    code = register(api, person)
    client = browser(stack.info["base_url"])
    client.post("/pay/history/by-code", data={"payment_code": code, "name": person["name"]})
    value = client.cookies["pp_history"]
    id_hash, expiry, mac = value.split(".")
    forged = browser(stack.info["base_url"])
    forged.cookies.set("pp_history", f"{id_hash}.{int(expiry, 16) + 3600:x}.{mac}", path="/")
    assert code not in forged.get("/pay/history").text
    expired = browser(stack.info["base_url"])
    expired.cookies.set("pp_history", f"{id_hash}.1.{mac}", path="/")
    assert 'id="proof-by-id"' in expired.get("/pay/history").text


def test_codes_refuse_wrong_replayed_other_phone_and_too_many_attempts(
    stack: Any, api: SignedClient
) -> None:
    person = new_person()
    register(api, person)
    client = browser(stack.info["base_url"])
    ask_code(client, person)
    code = sent_code(stack, person["phone"])
    wrong = "000000" if code != "000000" else "111111"
    bad = client.post("/pay/history/verify", data={"code": wrong})
    assert bad.status_code == 422
    assert "验证码错误，还可尝试4次" in bad.text
    assert client.post("/pay/history/verify", data={"code": code}).status_code == 303
    replay = browser(stack.info["base_url"])
    replay.cookies.update(client.cookies)  # the pending cookie was deleted on success
    ask_code(replay, person)  # a new code; then the old one is no longer the newest
    again = replay.post("/pay/history/verify", data={"code": code})
    assert again.status_code == 422

    other = {**person, "phone": "138" + person["phone"][3:]}  # a code asked for another phone
    third = browser(stack.info["base_url"])
    ask_code(third, person)
    fresh = sent_code(stack, person["phone"])
    third_other = browser(stack.info["base_url"])
    ask_code(third_other, other)  # nothing is sent to a phone not on record: same answer
    refused = third_other.post("/pay/history/verify", data={"code": fresh})
    assert refused.status_code == 422
    assert "验证码" in refused.text

    tries = browser(stack.info["base_url"])
    tries.cookies.update(third.cookies)
    for _ in range(5):
        tries.post("/pay/history/verify", data={"code": wrong})
    spent = tries.post("/pay/history/verify", data={"code": fresh})
    assert spent.status_code == 422
    assert "重新获取" in spent.text


def test_an_unknown_id_gets_the_same_answer_and_no_message(stack: Any) -> None:
    person = new_person()
    sender = stack.container.message_sender
    before = len(sender.logged())
    answer = ask_code(browser(stack.info["base_url"]), person)
    assert answer.status_code == 200
    assert "验证码已发送" in answer.text
    assert all(person["phone"][-4:] not in to for _, _, to, _ in sender.logged()[: -before or None])


def test_bad_input_to_the_proof_forms(stack: Any) -> None:
    client = browser(stack.info["base_url"])
    bad_id = client.post("/pay/history/send-code", data={"id_no": "123", "phone": "13900000000"})
    assert bad_id.status_code == 422
    assert "身份证号码有误" in bad_id.text
    person = new_person()
    bad_phone = client.post("/pay/history/send-code", data={"id_no": person["id_no"], "phone": "1"})
    assert bad_phone.status_code == 422
    assert "手机号码有误" in bad_phone.text
    no_pending = client.post("/pay/history/verify", data={"code": "123456"})
    assert no_pending.status_code == 422
    assert "重新输入身份证号" in no_pending.text
    typo = client.post("/pay/history/by-code", data={"payment_code": "123", "name": "张三"})
    assert typo.status_code == 422
    assert "缴款码有误" in typo.text
    assert client.post("/pay/history/cart", data={"payment_codes": ["x"]}).status_code == 401


def test_codes_per_id_are_limited(stack: Any, api: SignedClient) -> None:
    person = new_person()
    register(api, person)
    answers = [ask_code(browser(stack.info["base_url"]), person) for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert answers[5].status_code == 422
    assert "过于频繁" in answers[5].text


def test_portal_cart_pays_several_in_one_payment(stack: Any, api: SignedClient) -> None:
    person = new_person()
    codes = [register(api, person), register(api, person, "GA0102")]
    client = browser(stack.info["base_url"])
    client.post("/pay/history/by-code", data={"payment_code": codes[0], "name": person["name"]})
    page = client.post("/pay/history/cart", data={"payment_codes": codes})
    assert page.status_code == 200, page.text
    qr = re.search(r'data-qr-code="([^"]+)"', page.text)
    assert qr is not None
    paid = httpx.post(
        f"{stack.info['base_url']}/emulator/alipay/scan", json={"qr_code": qr.group(1)}, timeout=15
    )
    assert paid.status_code == 200, paid.text
    for code in codes:
        wait_until(
            lambda code=code: (
                httpx.get(f"{stack.info['base_url']}/api/v1/pay/{code}").json()["status"] == "paid"
            ),
            interval_s=0.05,
        )


def test_portal_cart_refuses_others_payables_and_mixed_accounts(
    stack: Any, api: SignedClient, school_api: SignedClient
) -> None:
    person, stranger = new_person(), new_person()
    mine = register(api, person)
    theirs = register(api, stranger)
    client = browser(stack.info["base_url"])
    client.post("/pay/history/by-code", data={"payment_code": mine, "name": person["name"]})
    refused = client.post("/pay/history/cart", data={"payment_codes": [mine, theirs]})
    assert refused.status_code == 422
    assert "请勾选您本人待缴的缴款单" in refused.text
    school = register(school_api, person, stack.info["units"][2]["items"][0])
    mixed = client.post("/pay/history/cart", data={"payment_codes": [mine, school]})
    if mixed.status_code == 409:  # the school collects through an account of its own
        assert "不同收款账户" in mixed.text
    else:
        assert mixed.status_code == 200
    assert httpx.get(f"{stack.info['base_url']}/api/v1/pay/{theirs}").json()["status"] == "unpaid"


def test_cart_from_several_payment_codes_typed_on_the_lookup_page(
    stack: Any, api: SignedClient
) -> None:
    person = new_person()
    codes = [register(api, person), register(api, person, "GA0102")]
    client = browser(stack.info["base_url"])
    page = client.post("/pay/cart", data={"codes": f"{codes[0]}\n{codes[1]}"})
    assert page.status_code == 200, page.text
    assert 'id="cart-qr"' in page.text
    assert all(code in page.text for code in codes)


def test_cart_from_codes_refuses_bad_input(stack: Any, api: SignedClient) -> None:
    person = new_person()
    code = register(api, person)
    client = browser(stack.info["base_url"])
    one = client.post("/pay/cart", data={"codes": f"{code} {code}"})
    assert one.status_code == 422
    assert "至少两个不同的缴款码" in one.text
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)  # another check digit: always wrong
    typo = client.post("/pay/cart", data={"codes": f"{code}\n{mistyped}"})
    assert typo.status_code == 422
    assert "有误" in typo.text
    paid = register(api, person)
    pay(stack, paid)
    refused = client.post("/pay/cart", data={"codes": f"{code},{paid}"})
    assert refused.status_code == 422
    assert "不能再支付" in refused.text
    assert httpx.get(f"{stack.info['base_url']}/api/v1/pay/{code}").json()["status"] == "unpaid"
