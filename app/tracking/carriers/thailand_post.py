"""Thailand Post (ไปรษณีย์ไทย): UPU S10 items ending in TH, domestic and international alike."""

from __future__ import annotations

from app.tracking.carriers import Carrier, register
from app.tracking.carriers._s10 import s10_format


@register
class ThailandPost(Carrier):
    """Thailand Post numbers every tracked item in S10 form: EMS E…TH (e.g. EF…TH, EY…TH), registered
    R…TH, parcels C…TH, and domestic ranges with other letters; the check digit is S10's (high
    confidence). Page: track.thailandpost.co.th/?trackNumber= (medium-high confidence)."""

    code = "thailand_post"
    name = "Thailand Post"
    country = "TH"
    aliases = ("Thai Post", "Thailandpost", "Thailand Post EMS", "EMS Thailand", "ไปรษณีย์ไทย")
    url_template = "https://track.thailandpost.co.th/?trackNumber={number}"
    formats = (s10_format("TH"),)
