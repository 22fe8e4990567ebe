"""SM2 signatures with SM3 digest (GB/T 32918, GB/T 35276) on native Tongsuo via tongsuopy.

Signatures are DER `SEQUENCE {r INTEGER, s INTEGER}` over Z || message, where
Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) and ID is the signer id.

tongsuopy exposes no call to set the distinguishing id; Tongsuo's default id is
"1234567812345678" (the GM/T 0009 default), which is what we sign with. OpenSSL 3 defaults to an
empty id, so an OpenSSL verifier must pass `-pkeyopt distid:1234567812345678`
(tests/integration/test_sm2_openssl.py proves both directions). Verifying a signature made with
any other id falls back to computing Z and the curve arithmetic in Python (~4 ms).
"""

from __future__ import annotations

import functools

from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.exceptions import InternalError, InvalidSignature

DEFAULT_SIGNER_ID = b"1234567812345678"
ALGORITHM = "SM2-SM3"

# SM2 recommended curve parameters (GB/T 32918.5).
_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0


def generate_private_key_pem() -> bytes:
    """A fresh SM2 private key as unencrypted PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SM2())
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def public_key_pem(private_pem: bytes) -> bytes:
    """The SubjectPublicKeyInfo PEM of an SM2 private key."""
    return _public_pem(_load_private(private_pem).public_key())


class Sm2Signer:
    """Signs with one SM2 key, SM3 digest, signer id 1234567812345678."""

    algorithm = ALGORITHM
    signer_id = DEFAULT_SIGNER_ID

    def __init__(self, private_key_pem: bytes) -> None:
        self._key = _load_private(private_key_pem)
        self.public_key_pem = _public_pem(self._key.public_key())

    def sign(self, data: bytes) -> bytes:
        """DER SEQUENCE {r, s} over `data`."""
        return bytes(self._key.sign(data, ec.ECDSA(hashes.SM3())))


def verify(
    public_key_pem: bytes,
    data: bytes,
    signature_der: bytes,
    signer_id: bytes = DEFAULT_SIGNER_ID,
) -> bool:
    """True when `signature_der` is a valid SM2-SM3 signature of `data` under the key and id.

    Raises ValueError when `public_key_pem` is not an SM2 public key.
    """
    key = _load_public(public_key_pem)
    if _decode_der_signature(signature_der) is None:
        return False
    if signer_id == DEFAULT_SIGNER_ID:
        try:
            key.verify(signature_der, data, ec.ECDSA(hashes.SM3()))
        except (InvalidSignature, InternalError, ValueError):
            return False
        return True
    numbers = key.public_numbers()
    return _verify_with_id(numbers.x, numbers.y, data, signature_der, signer_id)


def _public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _load_private(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "SM2":
        raise ValueError("not an SM2 private key")
    return key


@functools.lru_cache(maxsize=64)
def _load_public(pem: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except Exception as exc:  # tongsuopy raises assorted errors for garbage input
        raise ValueError("not an SM2 public key in PEM form") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "SM2":
        raise ValueError("not an SM2 public key")
    return key


def sm3(data: bytes) -> bytes:
    """The SM3 digest (GB/T 32905) of `data`."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return bytes(digest.finalize())


_sm3 = sm3


def z_value(x: int, y: int, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
    """Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 §5.5)."""
    entl = (len(signer_id) * 8).to_bytes(2, "big")
    fields = (_A, _B, _GX, _GY, x, y)
    return _sm3(entl + signer_id + b"".join(v.to_bytes(32, "big") for v in fields))


def _verify_with_id(x: int, y: int, data: bytes, signature_der: bytes, signer_id: bytes) -> bool:
    parsed = _decode_der_signature(signature_der)
    if parsed is None or len(signer_id) >= 8192:
        return False
    r, s = parsed
    if not (1 <= r < _N and 1 <= s < _N):
        return False
    t = (r + s) % _N
    if t == 0:
        return False
    e = int.from_bytes(_sm3(z_value(x, y, signer_id) + data), "big")
    point = _add(_multiply((_GX, _GY), s), _multiply((x, y), t))
    if point is None:
        return False
    return (e + point[0]) % _N == r


def _decode_der_signature(der: bytes) -> tuple[int, int] | None:
    """Strict DER SEQUENCE of two positive INTEGERs, or None."""
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2 or der[1] > 0x7F:
        return None
    values: list[int] = []
    pos = 2
    for _ in range(2):
        if pos + 2 > len(der) or der[pos] != 0x02:
            return None
        size = der[pos + 1]
        body = der[pos + 2 : pos + 2 + size]
        if size == 0 or size > 33 or len(body) != size or body[0] & 0x80:
            return None
        if size > 1 and body[0] == 0 and not body[1] & 0x80:
            return None  # non-minimal encoding
        values.append(int.from_bytes(body, "big"))
        pos += 2 + size
    if pos != len(der):
        return None
    return values[0], values[1]


_Point = tuple[int, int] | None
_Jacobian = tuple[int, int, int]


def _multiply(point: tuple[int, int], k: int) -> _Point:
    result: _Jacobian = (1, 1, 0)
    addend: _Jacobian = (point[0], point[1], 1)
    while k:
        if k & 1:
            result = _jacobian_add(result, addend)
        addend = _jacobian_double(addend)
        k >>= 1
    return _to_affine(result)


def _add(p: _Point, q: _Point) -> _Point:
    if p is None or q is None:
        return p if q is None else q
    return _to_affine(_jacobian_add((p[0], p[1], 1), (q[0], q[1], 1)))


def _to_affine(p: _Jacobian) -> _Point:
    x, y, z = p
    if z == 0:
        return None
    z_inv = pow(z, -1, _P)
    return x * z_inv * z_inv % _P, y * z_inv * z_inv * z_inv % _P


def _jacobian_double(p: _Jacobian) -> _Jacobian:
    x, y, z = p
    if z == 0 or y == 0:
        return (1, 1, 0)
    ysq = y * y % _P
    s = 4 * x * ysq % _P
    m = (3 * x * x + _A * pow(z, 4, _P)) % _P
    nx = (m * m - 2 * s) % _P
    ny = (m * (s - nx) - 8 * ysq * ysq) % _P
    return nx, ny, 2 * y * z % _P


def _jacobian_add(p: _Jacobian, q: _Jacobian) -> _Jacobian:
    if p[2] == 0:
        return q
    if q[2] == 0:
        return p
    z1z1, z2z2 = p[2] * p[2] % _P, q[2] * q[2] % _P
    u1, u2 = p[0] * z2z2 % _P, q[0] * z1z1 % _P
    s1, s2 = p[1] * q[2] * z2z2 % _P, q[1] * p[2] * z1z1 % _P
    if u1 == u2:
        return _jacobian_double(p) if s1 == s2 else (1, 1, 0)
    h, r = (u2 - u1) % _P, (s2 - s1) % _P
    h2 = h * h % _P
    h3 = h * h2 % _P
    u1h2 = u1 * h2 % _P
    nx = (r * r - h3 - 2 * u1h2) % _P
    ny = (r * (u1h2 - nx) - s1 * h3) % _P
    return nx, ny, h * p[2] * q[2] % _P
