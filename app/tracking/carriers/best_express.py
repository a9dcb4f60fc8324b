"""Best Express (BEST Inc. Thailand): heuristic BEST-prefixed numbers."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register


@register
class BestExpress(Carrier):
    """Only "BEST" + 8-16 digits is guessed from the number; Best's plain-digit bills have no
    documented shape, so they are not detected and the fulfilment's own name and link are kept (a hint
    only ranks, see `detect_carrier`). Heuristic, low confidence. Page: best-inc.co.th/track?bills= (low
    confidence: the documented domain, the query format as seen in links)."""

    code = "best_express"
    name = "Best Express"
    country = "TH"
    aliases = ("BEST", "BEST Inc.", "Best Inc", "Best Express Thailand", "BEST Express (Thailand)")
    url_template = "https://www.best-inc.co.th/track?bills={number}"
    formats = (TrackingFormat("BEST (heuristic)", r"BEST[0-9]{8,16}", specificity=4),)
