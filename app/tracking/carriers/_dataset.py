"""Formats from the public data set jkeen/tracking_number_data, through the `tracking-numbers` package.

The package's definitions are generated from the data set (regex, check digit, the codes a group may
hold); each is one `DataSetFormat`, valid exactly when the data set says so. `PRODUCTS` maps a courier's
product onto one of our carriers, with the ranking we give it; a product not listed there belongs to the
data set's own carrier for its courier (registered by `tracking_number_data.py`), so a new release of the
package adds coverage without a change here. The definitions are compiled once, when the package loads.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracking_numbers import DEFINITIONS
from tracking_numbers.definition import TrackingNumberDefinition

from app.tracking.carriers import NumberFormat

PRODUCTS: dict[tuple[str, str], tuple[str | None, int]] = {
    # (courier_code, product name): (our carrier code, or None for the data set's own carrier; specificity,
    # the fixed characters the format has: a prefix such as 1Z, 420 or 96, a code list such as SSCC's 00-04)
    ("amazon", "Amazon Logistics"): ("amazon_logistics", 3),
    ("dhl", "DHL Express"): ("dhl_express", 0),
    ("dhl", "DHL Express Air"): ("dhl_express", 0),
    ("fedex", "FedEx Express (12)"): ("fedex", 0),
    ("fedex", "FedEx Express (34)"): ("fedex", 3),
    # Outranks USPS 91: a 22-digit 92… number valid for both is a SmartPost label (the data set's vector).
    ("fedex", "FedEx SmartPost"): ("fedex", 1),
    ("fedex", "FedEx Ground"): ("fedex", 0),
    ("fedex", "FedEx Ground (SSCC-18)"): ("fedex", 1),
    ("fedex", "FedEx Ground 96 (22)"): ("fedex", 2),
    ("fedex", "FedEx Ground GSN"): ("fedex", 2),
    ("ups", "UPS"): ("ups", 2),
    ("ups", "UPS Mail Innovations - Sequence Number"): ("ups", 2),
    ("usps", "USPS 20"): ("usps", 1),
    ("usps", "USPS 34v2"): ("usps", 3),
    ("usps", "USPS 91"): ("usps", 0),
    # Ranks below the S10 formats of the posts we name (specificity 2), which accept every service code.
    ("s10", "S10"): (None, 1),
    ("ontrac", "OnTrac"): (None, 1),
}

UNUSABLE = {
    ("cdl", "CDL Last Mile Solutions"): "its regex needs a lower-case letter, which normalization upper-cases",
}
"""Products of the package we leave out, and why."""


@dataclass(frozen=True)
class DataSetFormat(NumberFormat):
    """One product of the data set: valid when its regex, check digit and code lists all hold."""

    label: str
    definition: TrackingNumberDefinition
    specificity: int = 0

    @property
    def has_check_digit(self) -> bool:
        return self.definition.checksum_validator is not None

    @property
    def courier(self) -> str:
        return self.definition.courier.code

    def verdict(self, number: str) -> bool | None:
        try:
            found = self.definition.test(number)
        except ValueError:
            # tracking-numbers 0.1.8 reads a letter where a check digit belongs with int() (1Z...A): the shape
            # matched, the number cannot be valid.
            return False
        return None if found is None else found.valid


def _key(definition: TrackingNumberDefinition) -> tuple[str, str]:
    return definition.courier.code, definition.product.name


def _carrier_code(definition: TrackingNumberDefinition) -> str:
    code, _ = PRODUCTS.get(_key(definition), (None, 0))
    return code or definition.courier.code


FORMATS: tuple[DataSetFormat, ...] = tuple(
    DataSetFormat(
        label=f"{d.product.name} (tracking_number_data)",
        definition=d,
        specificity=PRODUCTS.get(_key(d), (None, 0))[1],
    )
    for d in DEFINITIONS
    if _key(d) not in UNUSABLE
)


def data_set_formats(carrier_code: str) -> tuple[DataSetFormat, ...]:
    """The data set's formats that detect as this carrier of ours (or of the data set's own)."""
    return tuple(f for f in FORMATS if _carrier_code(f.definition) == carrier_code)


def data_set_only_couriers() -> dict[str, tuple[str, str | None]]:
    """{courier code: (name, https page template or None)} of the couriers no carrier of ours takes over."""
    couriers: dict[str, tuple[str, str | None]] = {}
    for fmt in FORMATS:
        definition = fmt.definition
        if PRODUCTS.get(_key(definition), (None, 0))[0] is not None:
            continue
        name, page = couriers.get(fmt.courier, (definition.courier.name, None))
        couriers[fmt.courier] = (name, page or _https_page(definition.tracking_url_template))
    return couriers


def _https_page(template: str | None) -> str | None:
    # The data set writes pages as Python %-templates; ours use {number}. Only https pages are kept.
    if not template or not template.startswith("https://") or template.count("%s") != 1:
        return None
    return template.replace("{", "{{").replace("}", "}}").replace("%s", "{number}")
