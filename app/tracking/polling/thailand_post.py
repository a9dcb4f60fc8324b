"""Thailand Post's Track API (https://track.thailandpost.co.th/developerGuide).

Protocol: POST {base}/post/api/v1/authenticate/token with `Authorization: Token <API token>` gives a
short-lived token; POST {base}/post/api/v1/track with `Authorization: Token <that token>` and
{"status": "all", "language": "TH"|"EN", "barcode": [...]} gives
{"response": {"items": {"<barcode>": [{"status": "201", "status_description", "status_date",
"location", ...}]}}, "status": true}.
Status codes are grouped by hundreds (1xx accepted, 2xx in transit, 3xx out for delivery, 4xx
delivery failed, 5xx delivered); 203 is returned to sender and 302 awaiting pickup.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from app.orders.status import Status
from app.tracking.polling import CarrierScan, TransientCarrierError, register

BANGKOK = ZoneInfo("Asia/Bangkok")
_SPECIFIC = {"203": Status.RETURNED_TO_SENDER, "302": Status.READY_FOR_PICKUP}
_BY_HUNDRED = {
    "1": Status.SHIPPED,
    "2": Status.IN_TRANSIT,
    "3": Status.OUT_FOR_DELIVERY,
    "4": Status.ATTEMPTED_DELIVERY,
    "5": Status.DELIVERED,
}


def map_status(code: str) -> Status | None:
    code = (code or "").strip()
    if not re.fullmatch(r"\d{3}", code):
        return None
    return _SPECIFIC.get(code) or _BY_HUNDRED.get(code[0])


def parse_status_date(value: str) -> datetime | None:
    """Dates come as `dd/mm/yyyy HH:MM:SS+07:00`, the year often in the Buddhist era (+543)."""
    match = re.match(r"(\d{2})/(\d{2})/(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?", value or "")
    if not match:
        return None
    day, month, year, hour, minute, second = match.groups()
    year_number = int(year)
    if year_number > 2400:
        year_number -= 543
    local = datetime(year_number, int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=BANGKOK)
    return local.astimezone(UTC)


@register
class ThailandPostTracker:
    carrier_code = "thailand_post"

    def __init__(self, token: str, url: str = "https://trackapi.thailandpost.co.th", timeout: float = 10.0, **_: str):
        self.api_token = token
        self.base_url = url.rstrip("/")
        self.timeout = timeout
        self._session_token: tuple[str, float] | None = None

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout)

    def _token(self, client: httpx.Client) -> str:
        if self._session_token and self._session_token[1] > time.monotonic():
            return self._session_token[0]
        response = self._post(client, "/post/api/v1/authenticate/token", self.api_token, None)
        token = response.get("token")
        if not token:
            raise TransientCarrierError("Thailand Post gave no session token")
        self._session_token = (token, time.monotonic() + 3000)
        return token

    def _post(self, client: httpx.Client, path: str, token: str, body: dict | None) -> dict:
        try:
            response = client.post(
                self.base_url + path,
                json=body if body is not None else {},
                headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise TransientCarrierError(f"Thailand Post unreachable: {exc}") from exc
        if response.status_code in (401, 403):
            self._session_token = None
            raise TransientCarrierError(f"Thailand Post refused the token ({response.status_code})")
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientCarrierError(f"Thailand Post answered {response.status_code}")
        if response.status_code >= 400:
            raise ValueError(f"Thailand Post rejected the request ({response.status_code}): {response.text[:200]}")
        return response.json()

    def fetch(self, tracking_numbers: list[str]) -> dict[str, list[CarrierScan]]:
        with self._client() as client:
            token = self._token(client)
            payload = self._post(
                client,
                "/post/api/v1/track",
                token,
                {"status": "all", "language": "EN", "barcode": tracking_numbers},
            )
        items = ((payload.get("response") or {}).get("items")) or {}
        results: dict[str, list[CarrierScan]] = {}
        for number, scans in items.items():
            parsed = []
            for scan in scans or []:
                happened_at = parse_status_date(str(scan.get("status_date") or ""))
                if happened_at is None:
                    continue
                code = str(scan.get("status") or "")
                parsed.append(
                    CarrierScan(
                        tracking_number=number,
                        status=map_status(code),
                        raw_status=f"{code} {scan.get('status_description') or ''}".strip(),
                        message=scan.get("status_detail") or scan.get("status_description"),
                        location=scan.get("location") or None,
                        happened_at=happened_at,
                    )
                )
            results[number] = parsed
        return results
