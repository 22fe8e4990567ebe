"""SM2-SM3 signatures interoperate with the OpenSSL 3 command line, in both directions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec as nist_ec

from publicpay.adapters.crypto import sm2

DISTID = "distid:1234567812345678"
DATA = '{"receipt":"32010126-0000001234","amount":"1409.50","payer":"张三"}'.encode()


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module", autouse=True)
def _require_openssl_3() -> None:
    version = _openssl("version").stdout
    assert version.startswith("OpenSSL 3"), f"these tests need the OpenSSL 3 CLI, got {version!r}"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[bytes, Path, Path]:
    private = sm2.generate_private_key_pem()
    (tmp_path / "key.pem").write_bytes(private)
    (tmp_path / "pub.pem").write_bytes(sm2.public_key_pem(private))
    (tmp_path / "data").write_bytes(DATA)
    return private, tmp_path / "key.pem", tmp_path / "pub.pem"


def _openssl_verify(pub: Path, data: Path, sig: Path, distid: str = DISTID) -> bool:
    result = _openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin", "-digest", "sm3",
        "-pkeyopt", distid, "-in", str(data), "-sigfile", str(sig),
    )  # fmt: skip
    return result.returncode == 0 and "Signature Verified Successfully" in result.stdout


def _openssl_sign(key: Path, data: Path, out: Path, distid: str = DISTID) -> bytes:
    result = _openssl(
        "pkeyutl", "-sign", "-inkey", str(key), "-rawin", "-digest", "sm3",
        "-pkeyopt", distid, "-in", str(data), "-out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


def test_openssl_accepts_our_signature(keys: tuple[bytes, Path, Path], tmp_path: Path) -> None:
    private, _, pub = keys
    (tmp_path / "sig").write_bytes(sm2.Sm2Signer(private).sign(DATA))
    assert _openssl_verify(pub, tmp_path / "data", tmp_path / "sig")


def test_we_accept_openssl_signature(keys: tuple[bytes, Path, Path], tmp_path: Path) -> None:
    private, key, _ = keys
    signature = _openssl_sign(key, tmp_path / "data", tmp_path / "osig")
    assert sm2.verify(sm2.public_key_pem(private), DATA, signature)


def test_openssl_generated_key_signs_and_verifies_both_ways(tmp_path: Path) -> None:
    key = tmp_path / "okey.pem"
    assert _openssl("genpkey", "-algorithm", "SM2", "-out", str(key)).returncode == 0
    pub = tmp_path / "opub.pem"
    assert _openssl("pkey", "-in", str(key), "-pubout", "-out", str(pub)).returncode == 0
    (tmp_path / "data").write_bytes(DATA)
    signer = sm2.Sm2Signer(key.read_bytes())
    (tmp_path / "sig").write_bytes(signer.sign(DATA))
    assert _openssl_verify(pub, tmp_path / "data", tmp_path / "sig")
    openssl_signature = _openssl_sign(key, tmp_path / "data", tmp_path / "osig")
    assert sm2.verify(pub.read_bytes(), DATA, openssl_signature)


def test_openssl_refuses_our_signature_over_tampered_data(
    keys: tuple[bytes, Path, Path], tmp_path: Path
) -> None:
    private, _, pub = keys
    (tmp_path / "sig").write_bytes(sm2.Sm2Signer(private).sign(DATA))
    (tmp_path / "tampered").write_bytes(DATA.replace(b"1409.50", b"1.50"))
    assert not _openssl_verify(pub, tmp_path / "tampered", tmp_path / "sig")


def test_signer_id_is_part_of_the_signature(keys: tuple[bytes, Path, Path], tmp_path: Path) -> None:
    private, _, pub = keys
    (tmp_path / "sig").write_bytes(sm2.Sm2Signer(private).sign(DATA))
    assert not _openssl_verify(
        pub, tmp_path / "data", tmp_path / "sig", "distid:ALICE123@YAHOO.COM"
    )


def test_we_refuse_openssl_signature_over_tampered_data(
    keys: tuple[bytes, Path, Path], tmp_path: Path
) -> None:
    private, key, _ = keys
    signature = _openssl_sign(key, tmp_path / "data", tmp_path / "osig")
    assert not sm2.verify(sm2.public_key_pem(private), DATA + b" ", signature)


def test_wrong_key_fails_in_both_directions(keys: tuple[bytes, Path, Path], tmp_path: Path) -> None:
    private, key, _ = keys
    other = sm2.generate_private_key_pem()
    (tmp_path / "other.pem").write_bytes(sm2.public_key_pem(other))
    (tmp_path / "sig").write_bytes(sm2.Sm2Signer(private).sign(DATA))
    assert not _openssl_verify(tmp_path / "other.pem", tmp_path / "data", tmp_path / "sig")
    openssl_signature = _openssl_sign(key, tmp_path / "data", tmp_path / "osig")
    assert not sm2.verify(sm2.public_key_pem(other), DATA, openssl_signature)


def test_signature_made_with_another_signer_id_verifies_only_with_that_id(
    keys: tuple[bytes, Path, Path], tmp_path: Path
) -> None:
    private, key, _ = keys
    alice = "ALICE123@YAHOO.COM"
    signature = _openssl_sign(key, tmp_path / "data", tmp_path / "osig", f"distid:{alice}")
    public = sm2.public_key_pem(private)
    assert sm2.verify(public, DATA, signature, signer_id=alice.encode())
    assert not sm2.verify(public, DATA, signature)
    assert not sm2.verify(public, DATA + b"x", signature, signer_id=alice.encode())
    default_signature = sm2.Sm2Signer(private).sign(DATA)
    assert not sm2.verify(public, DATA, default_signature, signer_id=alice.encode())


def test_signature_is_a_der_sequence_of_two_integers(
    keys: tuple[bytes, Path, Path], tmp_path: Path
) -> None:
    private, _, _ = keys
    (tmp_path / "sig").write_bytes(sm2.Sm2Signer(private).sign(DATA))
    parsed = _openssl("asn1parse", "-inform", "DER", "-in", str(tmp_path / "sig")).stdout
    lines = parsed.strip().splitlines()
    assert "SEQUENCE" in lines[0]
    assert len(lines) == 3
    assert all("INTEGER" in line for line in lines[1:])


def test_garbage_signature_is_invalid_not_an_error(keys: tuple[bytes, Path, Path]) -> None:
    private, _, _ = keys
    public = sm2.public_key_pem(private)
    assert not sm2.verify(public, DATA, b"")
    assert not sm2.verify(public, DATA, b"\x30\x06\x02\x01\x01\x02\x01\x01")
    assert not sm2.verify(public, DATA, b"not der", signer_id=b"ALICE")


def test_non_sm2_keys_are_refused() -> None:
    p256 = nist_ec.generate_private_key(nist_ec.SECP256R1())
    pem = p256.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="SM2"):
        sm2.verify(pem, DATA, b"")
    with pytest.raises(ValueError, match="SM2 public key"):
        sm2.verify(b"-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n", DATA, b"")


def test_signer_exposes_its_public_key_and_id(keys: tuple[bytes, Path, Path]) -> None:
    private, _, pub = keys
    signer = sm2.Sm2Signer(private)
    assert signer.public_key_pem == pub.read_bytes()
    assert signer.signer_id == b"1234567812345678"
    assert signer.algorithm == "SM2-SM3"
    assert signer.sign(DATA) != signer.sign(DATA)  # randomised k
