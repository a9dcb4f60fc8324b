"""UPU S10 item identifiers, shared by the postal carriers: two service letters, an 8-digit serial,
a check digit and the ISO 3166-1 alpha-2 code of the issuing post (e.g. RA123456785TH).

Source: UPU standard S10 ("Identification of postal items - 13-character identifier"); the check
digit rule is certain. Service letters (E = EMS, R = registered, C = parcels, L = express letters,
V = insured, …) are not checked: posts also use bilateral and domestic ranges.
"""

from __future__ import annotations

import re

from app.tracking.carriers import TrackingFormat

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)

ISO_3166_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
"""The 249 officially assigned ISO 3166-1 alpha-2 codes."""

_S10 = re.compile(r"[A-Z]{2}(?P<payload>[0-9]{8})(?P<check>[0-9])(?P<country>[A-Z]{2})", re.ASCII)


def s10_check_digit(serial: str) -> int:
    """11 - (weighted sum mod 11), with 10 written as 0 and 11 as 5.

    Mapping 11 to 5 means sums of 0 and 6 (mod 11) share the digit 5, so a single-digit change
    between those two sums is not detected: a property of the standard, not of this code."""
    remainder = 11 - sum(int(digit) * weight for digit, weight in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(remainder, remainder)


def is_s10(number: str, country: str | None = None) -> bool:
    """Whether a normalized number is a valid S10 identifier, from `country` when one is given."""
    found = _S10.fullmatch(number)
    if found is None or found["country"] not in ISO_3166_ALPHA2:
        return False
    if country is not None and found["country"] != country:
        return False
    return s10_check_digit(found["payload"]) == int(found["check"])


def s10_format(country: str) -> TrackingFormat:
    """The S10 format of one post; the country suffix gives it two fixed characters."""
    if country not in ISO_3166_ALPHA2:
        raise ValueError(f"{country!r} is not an ISO 3166-1 alpha-2 code")
    return TrackingFormat(
        label=f"UPU S10 ({country})",
        regex=rf"[A-Z]{{2}}(?P<payload>[0-9]{{8}})(?P<check>[0-9]){country}",
        check_digit=s10_check_digit,
        specificity=2,
    )
