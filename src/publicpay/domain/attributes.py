"""Business attributes of payables (W1+): what the window finds a business record by — plate
number, driving licence number, case number … — registered by the business system with the
payable. Values may identify a person: stored encrypted, looked up by keyed hash of the
normalised value, shown masked."""

from __future__ import annotations

import re
from collections.abc import Mapping

ATTRIBUTE_LABELS = {
    "plate_no": "号牌号码",
    "licence_no": "驾驶证号",
    "case_no": "案件编号",
    "vin": "车辆识别代号",
}
MAX_ATTRIBUTES = 10
MAX_VALUE = 40
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
_SEPARATORS = re.compile(r"[\s·\-\.]+")


def normalise(value: str) -> str:
    """The lookup form: no spaces or separators, upper case (浙A·12345 = 浙a12345)."""
    return _SEPARATORS.sub("", value).upper()


def mask(value: str) -> str:
    """Keep the first two and the last two characters: 浙A***45."""
    value = normalise(value)
    if len(value) <= 4:
        return value[:1] + "*" * (len(value) - 1)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def validate(attributes: Mapping[str, str]) -> dict[str, str]:
    """Field errors (Chinese) of registered attributes; empty when they are fine."""
    errors: dict[str, str] = {}
    if len(attributes) > MAX_ATTRIBUTES:
        errors["attributes"] = f"业务属性最多{MAX_ATTRIBUTES}项"
    for name, value in attributes.items():
        if not _NAME.match(name):
            errors[f"attributes.{name}"] = "属性名应为小写字母开头的字母、数字或下划线，至多20位"
        elif not normalise(value) or len(value) > MAX_VALUE:
            errors[f"attributes.{name}"] = f"属性值不能为空且不超过{MAX_VALUE}个字符"
    return errors


def label(name: str) -> str:
    return ATTRIBUTE_LABELS.get(name, name)
