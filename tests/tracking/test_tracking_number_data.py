"""The public tracking-number test vectors (jkeen/tracking_number_data, tests/fixtures/tracking_number_data/)
run against our detection: every valid number of a courier we claim is detected as that courier with an https
link, and no invalid one is accepted for it, not even when the fulfilment names that courier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tracking_numbers import DEFINITIONS
from tracking_numbers.definition import TrackingNumberDefinition
from tracking_numbers.types import Courier

from app.tracking.carriers import detect_carrier, normalize_tracking_number, tracking_link

DATA_SET = Path(__file__).parents[1] / "fixtures" / "tracking_number_data" / "couriers"

CLAIMED_COURIERS = ["amazon", "dhl", "fedex", "ontrac", "s10", "ups", "usps"]
"""The data set's couriers whose numbers the app claims (every product of each), by `courier_code`."""

OUR_CARRIER = {
    "amazon": "amazon_logistics",
    "dhl": "dhl_express",
    "fedex": "fedex",
    "ontrac": "ontrac",
    "ups": "ups",
    "usps": "usps",
}
"""The carrier code each courier's numbers detect as; S10 items go by their country suffix (below)."""

S10_POSTS = {"TH": "thailand_post", "GB": "royal_mail", "JP": "japan_post", "CA": "canada_post", "US": "usps"}
"""S10 items of these posts are our own carriers'; any other country's are the data set's `s10` carrier."""

COMPANY = {
    "amazon_logistics": "Amazon Logistics",
    "dhl_express": "DHL Express",
    "fedex": "FedEx",
    "ontrac": "OnTrac",
    "ups": "UPS",
    "usps": "USPS",
    "thailand_post": "Thailand Post",
    "royal_mail": "Royal Mail",
    "japan_post": "Japan Post",
    "canada_post": "Canada Post",
}
"""The `tracking_company` a merchant would give each carrier (S10 items of other posts have no one name)."""

WITHOUT_A_PAGE = {"ontrac": "the data set's page is http", "s10": "the data set gives no page"}
"""Carriers we know only from the data set and without an https page: the fulfilment's own link is kept."""

FULFILMENT_URL = "https://shop.example/track/123"


def expected_carrier(courier: str, number: str) -> str:
    if courier == "s10":
        return S10_POSTS.get(normalize_tracking_number(number)[-2:], "s10")
    return OUR_CARRIER[courier]


def _specs() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(DATA_SET.glob("*.json"))]


def _vectors(kind: str) -> list:
    return [
        pytest.param(spec["courier_code"], number, id=f"{product['name']}:{number.replace(' ', '')}")
        for spec in _specs()
        if spec["courier_code"] in CLAIMED_COURIERS
        for product in spec["tracking_numbers"]
        for number in product.get("test_numbers", {}).get(kind, [])
    ]


def test_every_claimed_courier_has_its_data_set_file() -> None:
    assert sorted(spec["courier_code"] for spec in _specs()) == sorted(CLAIMED_COURIERS)


@pytest.mark.parametrize(("courier", "number"), _vectors("valid"))
def test_valid_vector_is_detected_as_its_courier_with_an_https_link(courier: str, number: str) -> None:
    code = expected_carrier(courier, number)
    found = detect_carrier(number)
    assert found is not None and found.code == code
    hinted = detect_carrier(number, hint=COMPANY.get(code))
    assert hinted is not None and hinted.code == code
    name, url = tracking_link(number, COMPANY.get(code), FULFILMENT_URL)
    assert url is not None and url.startswith("https://")
    if code in WITHOUT_A_PAGE:
        assert url == FULFILMENT_URL
    else:
        assert url != FULFILMENT_URL and normalize_tracking_number(number) in url
        assert name == found.name


@pytest.mark.parametrize(("courier", "number"), _vectors("invalid"))
def test_invalid_vector_is_not_accepted_for_its_courier(courier: str, number: str) -> None:
    code = expected_carrier(courier, number)
    for hint in (None, COMPANY.get(code)):
        found = detect_carrier(number, hint=hint)
        assert found is None or found.code != code, f"accepted as {code} with hint {hint!r}"


def test_fixtures_are_the_data_set_version_the_package_was_generated_from() -> None:
    """The package's generated definitions and these files must describe the same formats, or the vectors
    would test something the app does not run. Later service-type codes in the package are allowed."""
    generated = {(d.courier.code, d.product.name): d for d in DEFINITIONS}
    for spec in _specs():
        courier = Courier(code=spec["courier_code"], name=spec["name"])
        for product in spec["tracking_numbers"]:
            fixture = TrackingNumberDefinition.from_spec(courier, product)
            package = generated[(courier.code, product["name"])]
            assert fixture.number_regex.pattern == package.number_regex.pattern
            assert repr(fixture.checksum_validator) == repr(package.checksum_validator)
            assert repr(fixture.serial_number_parser) == repr(package.serial_number_parser)
            assert fixture.tracking_url_template == package.tracking_url_template
            for ours, theirs in zip(fixture.additional_validations, package.additional_validations, strict=True):
                assert ours.regex_group_name == theirs.regex_group_name
                assert {repr(m) for m in ours.value_matchers} <= {repr(m) for m in theirs.value_matchers}
