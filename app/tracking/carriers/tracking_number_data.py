"""The couriers of the public data set (jkeen/tracking_number_data) that no module of ours takes over:
OnTrac, and S10 items of the posts we do not name. Each is registered as the data set describes it, with
its page when that is https; otherwise the fulfilment's own link is kept."""

from __future__ import annotations

from app.tracking.carriers import Carrier, register
from app.tracking.carriers._dataset import data_set_formats, data_set_only_couriers

NAMES = {"s10": "Postal service (UPU S10)"}
"""Names for shoppers where the data set's ("S10 International Standard") names a standard, not a carrier."""


class DataSetCarrier(Carrier):
    """A courier known only from the data set."""


for _code, (_name, _page) in data_set_only_couriers().items():
    register(
        type(
            f"DataSet_{_code}",
            (DataSetCarrier,),
            {
                "__module__": __name__,
                "code": _code,
                "name": NAMES.get(_code, _name),
                "aliases": (_name,) if _code in NAMES else (),
                "url_template": _page,
                "formats": data_set_formats(_code),
            },
        )
    )
