"""UnionPay ACP 5.1.0 wire formats: signing, certificate checks, answers, statement files.

Signing (acpsdk `SDKUtil.signByCertInfo`, signMethod `01`, version 5.1.0): every field except
`signature`, sorted by key, joined as `k=v` with `&` (raw values, no URL encoding); the lowercase
hex SHA-256 of that string is itself signed with SHA256withRSA (PKCS#1 v1.5), base64 →
`signature`. `certId` is the decimal serial number of the signing certificate.

Verifying a UnionPay message (acpsdk `CertUtil.verifyAndGetVerifyPubKey`): the message carries
its signing certificate in `signPubKeyCert` (PEM). It is trusted only if it is inside its validity
period, is signed by the configured UnionPay root (directly, or through intermediates given in the
same PEM bundle, like acpsdk's middle cert), and its subject CN names UnionPay
(third `@`-separated part of the CN = `中国银联股份有限公司`, so that a merchant certificate issued
by the same CA is not taken for UnionPay's). Then the signature is checked as above.

The statement file (对账文件) inside `fileContent`'s zip is read by `parse_statement`; its
format is documented in `publicpay/emulators/unionpay/statement.py`.

Synchronous answers are `k=v&k=v` with raw (not URL-encoded) values; a value holding `&` is
wrapped in braces (acpsdk `SDKUtil.convertResultStringToMap`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

UNIONPAY_NAME = "中国银联股份有限公司"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y%m%d%H%M%S"  # txnTime, payTimeout: Beijing time


class UntrustedMessage(Exception):
    """A message whose certificate or signature does not check out."""


def signing_string(fields: Mapping[str, str]) -> str:
    return "&".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "signature")


def _digest_hex(fields: Mapping[str, str]) -> bytes:
    return hashlib.sha256(signing_string(fields).encode("utf-8")).hexdigest().encode("ascii")


def sign(fields: Mapping[str, str], key: rsa.RSAPrivateKey) -> str:
    signature = key.sign(_digest_hex(fields), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("UnionPay signing key must be RSA")
    return key


def cert_id(cert: x509.Certificate) -> str:
    return str(cert.serial_number)


def _subject_identity(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    parts = str(names[0].value).split("@") if names else []
    return parts[2] if len(parts) > 2 else ""


def load_trust_anchors(pem: bytes) -> tuple[x509.Certificate, ...]:
    """The UnionPay root, optionally followed by intermediates (acp_prod_middle.cer) in one PEM."""
    anchors = tuple(x509.load_pem_x509_certificates(pem))
    if not any(cert.issuer == cert.subject for cert in anchors):
        raise ValueError("the UnionPay trust bundle must contain a self-signed root")
    return anchors


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    issuer_key = issuer.public_key()
    algorithm = cert.signature_hash_algorithm
    if cert.issuer != issuer.subject or not isinstance(issuer_key, rsa.RSAPublicKey):
        return False
    if algorithm is None:
        return False
    try:
        issuer_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


def _chains(cert: x509.Certificate, anchors: tuple[x509.Certificate, ...], depth: int = 0) -> bool:
    """True if `cert` is signed by an anchor that is (or chains to) a self-signed root."""
    for issuer in anchors:
        if issuer is cert or not _signed_by(cert, issuer):
            continue
        if issuer.issuer == issuer.subject or (depth < 3 and _chains(issuer, anchors, depth + 1)):
            return True
    return False


def trusted_unionpay_cert(pem: str, anchors: tuple[x509.Certificate, ...]) -> x509.Certificate:
    """The certificate in `signPubKeyCert` if it is valid now, chains to the UnionPay root in
    `anchors` and names UnionPay as its owner."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("latin-1"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise UntrustedMessage("signPubKeyCert is not a PEM certificate") from exc
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise UntrustedMessage("signPubKeyCert is outside its validity period")
    if not _chains(cert, anchors):
        raise UntrustedMessage("signPubKeyCert does not chain to the UnionPay root")
    if _subject_identity(cert) != UNIONPAY_NAME:
        raise UntrustedMessage("signPubKeyCert does not belong to UnionPay")
    return cert


def verify_message(fields: Mapping[str, str], anchors: tuple[x509.Certificate, ...]) -> None:
    """Raise `UntrustedMessage` unless `fields` are signed by a UnionPay certificate."""
    cert = trusted_unionpay_cert(fields.get("signPubKeyCert", ""), anchors)
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise UntrustedMessage("signPubKeyCert does not hold an RSA key")
    try:
        signature = base64.b64decode(fields.get("signature", ""), validate=True)
        public_key.verify(signature, _digest_hex(fields), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise UntrustedMessage("bad signature") from exc


def parse_answer(text: str) -> dict[str, str]:
    """Parse a synchronous ACP answer: `k=v&k=v`, raw values, `{...}` protecting `&`."""
    fields: dict[str, str] = {}
    index = 0
    while index < len(text):
        equals = text.index("=", index)
        key = text[index:equals]
        end, value = _read_value(text, equals + 1)
        if not key:
            raise ValueError("empty field name")
        fields[key] = value
        index = end + 1
    return fields


def _read_value(text: str, start: int) -> tuple[int, str]:
    """(index of the `&` or end that closes the value, value) — braces nest."""
    depth = 0
    position = start
    while position < len(text):
        char = text[position]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "&" and depth == 0:
            break
        position += 1
    if depth != 0:
        raise ValueError("unbalanced braces")
    return position, text[start:position]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One row of a statement file."""

    txn_type: str  # 01 payment, 04 refund, 31 cancel
    txn_sub_type: str
    order_id: str
    query_id: str
    orig_query_id: str
    txn_time: str  # yyyyMMddHHmmss, Beijing
    trace_no: str
    trace_time: str  # MMddHHmmss
    settle_date: str  # MMdd
    amount_fen: int
    resp_code: str


def _statement_line(row: str) -> StatementLine:
    parts = row.split("|")
    if len(parts) != 11 or not parts[9].isascii() or not parts[9].isdigit():
        raise ValueError(f"bad statement row: {row!r}")
    txn_type, sub_type, order_id, query_id, orig_query_id, txn_time = parts[:6]
    trace_no, trace_time, settle_date, amount, resp_code = parts[6:]
    return StatementLine(
        txn_type,
        sub_type,
        order_id,
        query_id,
        orig_query_id,
        txn_time,
        trace_no,
        trace_time,
        settle_date,
        int(amount),
        resp_code,
    )


def parse_statement(data: bytes) -> list[StatementLine]:
    """Rows of a statement file (`UnionPayGateway.fetch_statement`); `ValueError` if malformed."""
    lines = data.decode("utf-8").splitlines()
    if len(lines) < 3 or not lines[0].startswith("#UNIONPAY-ACP-STATEMENT|"):
        raise ValueError("not a UnionPay statement")
    rows = [_statement_line(line) for line in lines[2:] if line and not line.startswith("#")]
    total = next((line for line in lines if line.startswith("#TOTAL|")), "")
    if f"|count={len(rows)}|" not in total:
        raise ValueError("statement total does not match its rows")
    return rows


def beijing_time(moment: datetime) -> str:
    """yyyyMMddHHmmss in Asia/Shanghai, as txnTime and payTimeout are written."""
    return moment.astimezone(SHANGHAI).strftime(TIME_FORMAT)


def paid_at(fields: Mapping[str, str]) -> datetime | None:
    """UTC completion time: traceTime (MMddHHmmss, Beijing) in txnTime's year, else txnTime."""
    try:
        sent = datetime.strptime(fields["txnTime"], TIME_FORMAT).replace(tzinfo=SHANGHAI)
        trace = fields.get("traceTime", "")
        if len(trace) != 10:
            return sent.astimezone(UTC)
        year = sent.year + (1 if trace[:4] < f"{sent:%m%d}" else 0)
        done = datetime.strptime(f"{year}{trace}", TIME_FORMAT).replace(tzinfo=SHANGHAI)
    except (KeyError, ValueError):
        return None
    return done.astimezone(UTC)


def parse_fen(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"bad amount {text!r}")
    return int(text)


def statement_from_file_content(file_content: str) -> bytes:
    """The text file inside `fileContent` (base64 of a zip); `ValueError` if it is not one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(file_content, validate=True)))
        names = [name for name in archive.namelist() if name.endswith(".txt")]
        if len(names) != 1:
            raise ValueError("expected one .txt statement in the zip")
        return archive.read(names[0])
    except (binascii.Error, zipfile.BadZipFile) as exc:
        raise ValueError("fileContent is not a base64 zip") from exc
