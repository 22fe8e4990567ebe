"""Payment code serials are a keyed permutation of the payable's sequence number: a bijection
(distinct payables, distinct codes), unrelated for consecutive payables, and out of reach of the
serials that older codes hold (cycle-walking above a floor)."""

from __future__ import annotations

import hashlib
import hmac
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicpay.adapters.crypto.secretbox import SecretBox
from publicpay.domain.codes import (
    PAYMENT_CODE_KEY_PURPOSE,
    SERIALS,
    SerialPermutation,
    make_payment_code,
    parse_payment_code,
    payment_code_permutation,
)

KEY = hashlib.sha256(b"test payment code key").digest()
keys = st.binary(min_size=16, max_size=32)


def test_the_permutation_covers_the_payment_code_serials() -> None:
    assert SerialPermutation(KEY).size == SERIALS == 10**9


@pytest.mark.parametrize(("left", "right"), [(1, 1), (1, 2), (2, 2)])
def test_it_is_a_bijection_on_small_domains(left: int, right: int) -> None:
    permute = SerialPermutation(KEY, left=left, right=right)
    assert sorted(permute(x) for x in range(permute.size)) == list(range(permute.size))


@settings(max_examples=30, deadline=None)
@given(keys, st.sampled_from([(1, 1), (1, 2), (2, 1)]))
def test_it_is_a_bijection_for_any_key(key: bytes, digits: tuple[int, int]) -> None:
    permute = SerialPermutation(key, left=digits[0], right=digits[1])
    images = [permute(x) for x in range(permute.size)]
    assert sorted(images) == list(range(permute.size))
    assert all(permute.inverse(y) == x for x, y in enumerate(images))


@settings(max_examples=30, deadline=None)
@given(keys, st.integers(min_value=0, max_value=998))
def test_cycle_walking_above_a_floor_is_a_bijection_of_what_is_left(key: bytes, floor: int) -> None:
    permute = SerialPermutation(key, floor=floor, left=1, right=2)
    kept = range(floor, permute.size)
    assert sorted(permute(x) for x in kept) == list(kept)
    assert all(permute.inverse(permute(x)) == x for x in kept)


@given(keys, st.integers(min_value=0, max_value=SERIALS - 1))
def test_the_inverse_undoes_it_on_the_full_domain(key: bytes, serial: int) -> None:
    permute = SerialPermutation(key)
    permuted = permute(serial)
    assert 0 <= permuted < SERIALS
    assert permute.inverse(permuted) == serial


def test_serials_are_unique_over_a_range_and_consecutive_ones_unrelated() -> None:
    permute = SerialPermutation(KEY)
    serials = [permute(n) for n in range(1, 20_001)]
    assert len(set(serials)) == len(serials)
    close = sum(1 for a, b in itertools.pairwise(serials) if abs(a - b) < 10**6)
    assert close < 100  # random serials are this close about 0.2 % of the time
    assert sum(1 for n, s in enumerate(serials, start=1) if s == n) < 3


def test_another_key_gives_another_permutation() -> None:
    ours = [SerialPermutation(KEY)(n) for n in range(1, 100)]
    theirs = [SerialPermutation(KEY[::-1])(n) for n in range(1, 100)]
    assert sum(1 for a, b in zip(ours, theirs, strict=True) if a == b) < 3


def test_codes_keep_the_layout_and_the_check_digit() -> None:
    serial = SerialPermutation(KEY)(42)
    code = make_payment_code("330105", 2026, "01", serial)
    parts = parse_payment_code(code)
    assert (parts.region, parts.year, parts.type_code.value, parts.serial) == (
        "330105", 2026, "01", serial,
    )  # fmt: skip
    assert len(code) == 20


def test_the_key_is_a_subkey_of_the_platform_secret() -> None:
    box, other = SecretBox("secret one" * 4), SecretBox("secret two" * 4)
    key = box.subkey(PAYMENT_CODE_KEY_PURPOSE)
    assert len(key) == 32
    assert key == SecretBox("secret one" * 4).subkey(PAYMENT_CODE_KEY_PURPOSE)
    assert key != other.subkey(PAYMENT_CODE_KEY_PURPOSE)
    assert SerialPermutation(key)(7) != SerialPermutation(other.subkey(PAYMENT_CODE_KEY_PURPOSE))(7)


def test_bad_parameters_are_bugs() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        SerialPermutation(b"short")
    with pytest.raises(ValueError, match="leaves no serials"):
        SerialPermutation(KEY, floor=SERIALS)
    with pytest.raises(ValueError, match="outside"):
        SerialPermutation(KEY, floor=1000)(999)
    with pytest.raises(ValueError, match="outside"):
        SerialPermutation(KEY)(SERIALS)


def _reference(key: bytes, serial: int, left: int = 4, right: int = 5, rounds: int = 10) -> int:
    """The permutation as first released: each round keys HMAC-SHA256 afresh."""
    a, b = divmod(serial, 10**right)
    for i in range(rounds):
        message = bytes((i, left, right)) + b.to_bytes(8, "big")
        f = int.from_bytes(hmac.digest(key, message, "sha256")[:16], "big")
        a, b = b, (a + f) % 10 ** (left if i % 2 == 0 else right)
    return a * 10**right + b


@given(keys, st.integers(min_value=0, max_value=SERIALS - 1))
def test_serials_stay_those_of_earlier_releases(key: bytes, serial: int) -> None:
    # a different round function would be another permutation: new codes could then collide
    # with codes already issued
    assert SerialPermutation(key)(serial) == _reference(key, serial)


@settings(max_examples=30)
@given(st.binary(min_size=65, max_size=200), st.integers(min_value=0, max_value=SERIALS - 1))
def test_a_key_longer_than_a_hash_block_is_hashed_first_as_hmac_does(
    key: bytes, serial: int
) -> None:
    assert SerialPermutation(key)(serial) == _reference(key, serial)


def test_the_payment_codes_permutation_is_made_once_per_key_and_floor() -> None:
    permute = payment_code_permutation(KEY, 1000)

    assert permute is payment_code_permutation(KEY, 1000)
    assert permute == SerialPermutation(KEY, floor=1000)
    assert payment_code_permutation(KEY, 0) != permute
