"""Japan Post: UPU S10 items ending in JP (EMS, international parcels, registered mail)."""

from __future__ import annotations

from app.tracking.carriers import Carrier, register
from app.tracking.carriers._s10 import s10_format


@register
class JapanPost(Carrier):
    """Only S10 (JP): domestic Yu-Pack numbers are 11-12 digits without a check digit we trust.
    Page: trackings.post.japanpost.jp search/direct with reqCodeNo1 (medium-high confidence)."""

    code = "japan_post"
    name = "Japan Post"
    country = "JP"
    aliases = ("Japan Post (EN)", "Japan Post (JA)", "Japan Post EMS", "Japan EMS")
    url_template = (
        "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={number}&searchKind=S002&locale=en"
    )
    formats = (s10_format("JP"),)
