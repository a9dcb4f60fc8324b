"""Carrier plug-ins (one module each), their registry, and detection of a carrier from a tracking number.

Adding a carrier is one new module in this package that defines a `Carrier` subclass decorated with
`@register`; every module not starting with "_" is imported when the package is. The shape follows
redash's `destinations/__init__.py` registry.

Formats come from the public data set jkeen/tracking_number_data through the `tracking-numbers` package
(`_dataset.py` maps its couriers and products onto our carriers; `tracking_number_data.py` registers the
couriers we have no module for), and from our own modules where the data set has nothing: the Thai
carriers, S10 items of the posts we name, DHL piece IDs.

Detection ranks formats: a format with a check digit outranks every heuristic (prefix/length only)
format, and within each group the more fixed characters a format has, the higher it ranks. The
fulfilment's company name only ranks: it never makes a number valid.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar
from urllib.parse import quote

from app.validation import web_url

CHECKED_PRIORITY = 100
"""Priority floor of check-digit formats; heuristic formats always rank below it."""

DISTINCTIVE_SPECIFICITY = 2
"""A check-digit format with at least this many fixed characters (1Z…, …TH) overrules a mismatched hint."""

MIN_LENGTH, MAX_LENGTH = 8, 40
"""Bounds on a normalized number worth looking at (the longest known, USPS with ZIP+4 routing, is 34)."""

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u200b]+")
_PLAUSIBLE = re.compile(rf"[0-9A-Z]{{{MIN_LENGTH},{MAX_LENGTH}}}", re.ASCII)


class NumberFormat(ABC):
    """One shape of a carrier's numbers, ranked by `priority` (check digit first, then fixed characters)."""

    label: str
    specificity: int

    @property
    @abstractmethod
    def has_check_digit(self) -> bool: ...

    @abstractmethod
    def verdict(self, number: str) -> bool | None:
        """None when the normalized number does not have this shape, else whether it is valid."""

    @property
    def priority(self) -> int:
        return self.specificity + (CHECKED_PRIORITY if self.has_check_digit else 0)

    @property
    def is_distinctive(self) -> bool:
        """Strong enough evidence (check digit and a fixed prefix or suffix) to overrule a hint."""
        return self.has_check_digit and self.specificity >= DISTINCTIVE_SPECIFICITY


@dataclass(frozen=True)
class TrackingFormat(NumberFormat):
    """One documented shape of a carrier's numbers, matched against the whole normalized number.

    A format with `check_digit` must name two groups: `payload` (what the check digit covers) and
    `check` (the digit); `check_digit(payload)` returns the expected digit. `specificity` counts the
    fixed characters (a prefix such as "1Z", an S10 country suffix) and orders formats of one kind.
    """

    label: str
    regex: str
    check_digit: Callable[[str], int] | None = None
    specificity: int = 0
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = re.compile(self.regex, re.ASCII)  # ASCII: Thai or full-width digits are not \d here
        if self.check_digit is not None and not {"payload", "check"} <= pattern.groupindex.keys():
            raise ValueError(f"{self.label}: a check-digit format needs (?P<payload>…) and (?P<check>…)")
        if not 0 <= self.specificity < CHECKED_PRIORITY:
            raise ValueError(f"{self.label}: specificity must be in [0, {CHECKED_PRIORITY})")
        object.__setattr__(self, "pattern", pattern)

    @property
    def has_check_digit(self) -> bool:
        return self.check_digit is not None

    def verdict(self, number: str) -> bool | None:
        """None when the normalized number does not have this shape, else whether its check digit holds."""
        found = self.pattern.fullmatch(number)
        if found is None:
            return None
        return self.check_digit is None or self.check_digit(found["payload"]) == int(found["check"])


class Carrier:
    """A carrier plug-in. Subclasses set the class attributes; `register` keeps one instance."""

    code: ClassVar[str]
    name: ClassVar[str]
    country: ClassVar[str | None] = None
    """ISO 3166-1 alpha-2 code of the carrier's home market, or None for an international carrier."""
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other spellings of the carrier in Shopify's `tracking_company`; name and code always count."""
    url_template: ClassVar[str | None]
    """The public tracking page (https), with `{number}` where the URL-encoded number goes; None when we
    know none, and the fulfilment's own link is kept."""
    formats: ClassVar[tuple[NumberFormat, ...]] = ()

    @property
    def priority(self) -> int:
        return max((f.priority for f in self.formats), default=0)

    @property
    def uses_check_digit(self) -> bool:
        return any(f.has_check_digit for f in self.formats)

    def match(self, number: str) -> NumberFormat | None:
        """This carrier's highest-ranked format that the number satisfies, check digit included."""
        return self._match(normalize_tracking_number(number))

    def _match(self, normalized: str) -> NumberFormat | None:
        found = [f for f in self.formats if f.verdict(normalized) is True]
        return max(found, key=lambda f: f.priority, default=None)

    def matches(self, number: str) -> bool:
        return self.match(number) is not None

    def rejects(self, number: str) -> bool:
        """True when the number has the shape of one of this carrier's check-digit formats but fails
        the check and fits no other format of it: clearly not this carrier's number."""
        normalized = normalize_tracking_number(number)
        verdicts = [f.verdict(normalized) for f in self.formats]
        return False in verdicts and True not in verdicts

    def tracking_url(self, number: str) -> str | None:
        """The public tracking page for the number, encoded as it is given (normalize it first)."""
        if self.url_template is None:
            return None
        return self.url_template.format(number=quote(number.strip(), safe=""))

    def __repr__(self) -> str:
        return f"<Carrier {self.code}>"


CarrierClass = TypeVar("CarrierClass", bound=type[Carrier])

_CARRIERS: dict[str, Carrier] = {}
_BY_COMPANY: dict[str, Carrier] = {}


def _company_key(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).casefold().replace("&", "and")
    return re.sub(r"[\W_]+", "", folded)


def register(carrier_class: CarrierClass) -> CarrierClass:
    """Class decorator adding a carrier to the registry.

    Raises ValueError, before changing anything, for a duplicate code or company alias, a URL that is
    not https or lacks `{number}` (a carrier may have no URL), or a carrier without formats.
    """
    carrier = carrier_class()
    code = carrier.code
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,31}", code):
        raise ValueError(f"carrier code {code!r} must be a lower-case slug of at most 32 characters")
    if code in _CARRIERS:
        raise ValueError(f"carrier code {code!r} is already registered")
    url = carrier.url_template
    if url is not None and (not url.startswith("https://") or "{number}" not in url):
        raise ValueError(f"{code}: url_template must be https and contain {{number}}")
    if not carrier.formats:
        raise ValueError(f"{code}: a carrier needs at least one tracking number format")
    keys = {_company_key(alias) for alias in (carrier.name, code, *carrier.aliases)}
    taken = sorted(key for key in keys if key in _BY_COMPANY)
    if taken:
        raise ValueError(f"{code}: company names {taken} already belong to other carriers")
    _CARRIERS[code] = carrier
    _BY_COMPANY.update(dict.fromkeys(keys, carrier))
    return carrier_class


def all_carriers() -> tuple[Carrier, ...]:
    """Every registered carrier, in registration (module name) order."""
    return tuple(_CARRIERS.values())


def carrier_by_code(code: str | None) -> Carrier | None:
    return _CARRIERS.get((code or "").strip().lower())


def carrier_for_company(name: str | None) -> Carrier | None:
    """The carrier a Shopify `tracking_company` names, ignoring case, spacing and punctuation."""
    return _BY_COMPANY.get(_company_key(name)) if name else None


def normalize_tracking_number(raw: str | None) -> str:
    """The number without spaces or dashes, upper-cased (NFKC first, so full-width input works)."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or "")).upper()


def _is_plausible(number: str) -> bool:
    # A digit is required, and placeholders such as 000000000000 pass several checksums.
    return _PLAUSIBLE.fullmatch(number) is not None and any(c.isdigit() for c in number) and len(set(number)) > 1


def _ranked(found: list[tuple[Carrier, NumberFormat]]) -> tuple[Carrier, NumberFormat]:
    return max(found, key=lambda pair: pair[1].priority)


def detect_carrier(number: str | None, hint: str | None = None) -> Carrier | None:
    """The carrier of a tracking number, or None when it cannot be told.

    Only a carrier whose format the number satisfies, check digit included, is ever returned. `hint`
    (the fulfilment's own `tracking_company`) ranks: when the carrier it names is among those, it wins,
    even over a higher-ranked format. It never makes a number valid. When it names a carrier that we know
    but whose formats the number fails, only a distinctive match (a valid 1Z…, a valid S10 item) still
    decides; a weaker one (ten digits that happen to pass mod 7) contradicts the fulfilment, so None is
    returned and `tracking_link` keeps the fulfilment's own company and link.
    """
    normalized = normalize_tracking_number(number)
    if not _is_plausible(normalized):
        return None
    found = [(carrier, fmt) for carrier in _CARRIERS.values() if (fmt := carrier._match(normalized))]
    if not found:
        return None
    hinted = carrier_for_company(hint)
    if hinted is None:
        return _ranked(found)[0]
    if any(carrier is hinted for carrier, _ in found):
        return hinted
    carrier, fmt = _ranked(found)
    return carrier if fmt.is_distinctive else None


def tracking_link(number: str | None, company: str | None, fallback_url: str | None) -> tuple[str | None, str | None]:
    """(carrier name, public tracking URL) for a fulfilment.

    A detected carrier with a page of ours gives its own name and page; otherwise the fulfilment's own
    `tracking_company` (or the detected carrier's name when it has none) and `tracking_url` are returned,
    the URL only when it is http(s).
    """
    normalized = normalize_tracking_number(number)
    carrier = detect_carrier(normalized, hint=company)
    page = web_url(carrier.tracking_url(normalized)) if carrier is not None else None
    if carrier is not None and page is not None:
        return carrier.name, page
    name = (company or "").strip() or (carrier.name if carrier is not None else None)
    # Merchants and apps type these URLs; only http(s) may reach an href on the tracking page.
    return name, web_url(fallback_url)


def _load_carrier_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_load_carrier_modules()
