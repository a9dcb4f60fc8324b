"""The dashboard as the merchant reads it: sections of headline figures (with the previous period and the
change), charts, and the tables beneath them, every label in the merchant's language and every number and date
in its formats. The CSV downloads are written from these same tables, so they always match."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from sqlalchemy.orm import Session

from app.analytics import metrics, queries
from app.analytics.charts import bar_chart, line_chart
from app.analytics.models import AnalyticsSettings
from app.i18n import N_, t

STAGE_KEYS = (
    N_("analytics.stage.processing"),
    N_("analytics.stage.pickup"),
    N_("analytics.stage.transit"),
    N_("analytics.stage.total"),
)
RESOLUTION_KEYS = (
    N_("analytics.resolution.refund"),
    N_("analytics.resolution.credit"),
    N_("analytics.resolution.exchange"),
    N_("analytics.resolution.keep"),
)


@dataclass
class Table:
    id: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Figure:
    key: str
    label: str
    value: str
    previous: str
    change: str


@dataclass
class Section:
    id: str
    title: str
    formula: str
    figures: list[Figure]
    charts: list[str]
    tables: list[Table]


class Formatter:
    def __init__(self, locale: str, currency: str) -> None:
        self.locale, self.currency = locale, currency

    def _(self, key: str, **values: Any) -> str:
        return t(self.locale, key, **values)

    def num(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def pct(self, value: float | None) -> str:
        return "—" if value is None else f"{self.num(value, 1)}%"

    def days(self, value: float | int | None, digits: int = 0) -> str:
        return "—" if value is None else self._("analytics.days", n=self.num(value, digits))

    def money(self, value: Decimal | None) -> str:
        return "—" if value is None else format_currency(value, self.currency, locale=self.locale)

    def day(self, value: date, long: bool = False) -> str:
        return format_date(value, "d MMM y" if long else "d MMM", locale=self.locale)

    def change(self, current: Any, previous: Any) -> str:
        delta = metrics.change(
            float(current) if current is not None else None, float(previous) if previous is not None else None
        )
        if delta is None:
            return "—"
        return ("+" if delta > 0 else "") + self.pct(delta)


FIGURES = {
    "deflection": (
        ("tracking_views", "num"),
        ("lookups_per_order", "num2"),
        ("message_clicks", "num"),
        ("contacts_avoided", "num1"),
        ("money_saved", "money"),
    ),
    "delivery": (
        ("parcels_delivered", "num"),
        ("p50_days", "days"),
        ("p90_days", "days"),
        ("p50_business_days", "days"),
        ("p90_business_days", "days"),
        ("on_time_rate", "pct"),
        ("exceptions_per_1000", "num1"),
        ("failed_attempts_per_1000", "num1"),
    ),
    "estimates": (("estimate_hit_rate", "pct"), ("estimate_mae_days", "days2")),
    "messages": (("messages_sent", "num"),),
    "returns": (
        ("returns", "num"),
        ("return_rate", "pct"),
        ("revenue_kept", "money"),
        ("refunded", "money"),
        ("resolve_p50_days", "days"),
    ),
    "satisfaction": (
        ("nps", "num"),
        ("csat", "num2"),
        ("reviews", "num"),
        ("average_rating", "num2"),
        ("review_rate", "pct"),
    ),
    "revenue": (("rec_revenue", "money"), ("flow_revenue", "money")),
}
# Every section's and figure's catalog key, spelled out so extraction sees them.
SECTION_KEYS = (
    N_("analytics.section.deflection"),
    N_("analytics.section.delivery"),
    N_("analytics.section.estimates"),
    N_("analytics.section.messages"),
    N_("analytics.section.returns"),
    N_("analytics.section.satisfaction"),
    N_("analytics.section.revenue"),
    N_("analytics.formula.deflection"),
    N_("analytics.formula.delivery"),
    N_("analytics.formula.estimates"),
    N_("analytics.formula.messages"),
    N_("analytics.formula.returns"),
    N_("analytics.formula.satisfaction"),
    N_("analytics.formula.revenue"),
)
FIGURE_KEYS = (
    N_("analytics.figure.tracking_views"),
    N_("analytics.figure.lookups_per_order"),
    N_("analytics.figure.message_clicks"),
    N_("analytics.figure.contacts_avoided"),
    N_("analytics.figure.money_saved"),
    N_("analytics.figure.parcels_delivered"),
    N_("analytics.figure.p50_days"),
    N_("analytics.figure.p90_days"),
    N_("analytics.figure.p50_business_days"),
    N_("analytics.figure.p90_business_days"),
    N_("analytics.figure.on_time_rate"),
    N_("analytics.figure.exceptions_per_1000"),
    N_("analytics.figure.failed_attempts_per_1000"),
    N_("analytics.figure.estimate_hit_rate"),
    N_("analytics.figure.estimate_mae_days"),
    N_("analytics.figure.messages_sent"),
    N_("analytics.figure.returns"),
    N_("analytics.figure.return_rate"),
    N_("analytics.figure.revenue_kept"),
    N_("analytics.figure.refunded"),
    N_("analytics.figure.resolve_p50_days"),
    N_("analytics.figure.nps"),
    N_("analytics.figure.csat"),
    N_("analytics.figure.reviews"),
    N_("analytics.figure.average_rating"),
    N_("analytics.figure.review_rate"),
    N_("analytics.figure.rec_revenue"),
    N_("analytics.figure.flow_revenue"),
    N_("analytics.figure.orders"),
    N_("analytics.figure.tracking_lookups"),
)


def _show(f: Formatter, value: Any, kind: str) -> str:
    if kind == "money":
        return f.money(value)
    if kind == "pct":
        return f.pct(value)
    if kind.startswith("days"):
        return f.days(value, int(kind[4:] or 0))
    return f.num(value, int(kind[3:] or 0))


def build(
    session: Session,
    shop_id: int,
    currency: str,
    settings: AnalyticsSettings,
    first: date,
    last: date,
    locale: str,
    *,
    charts: bool = True,
) -> list[Section]:
    prev_first, prev_last = queries.previous_range(first, last)
    current = queries.read_period(session, shop_id, first, last)
    previous = queries.read_period(session, shop_id, prev_first, prev_last)
    share, cost = Decimal(settings.contact_share), Decimal(settings.cost_per_contact)
    now, before = queries.headline(current, share, cost), queries.headline(previous, share, cost)
    series = queries.read_series(session, shop_id, first, last)
    f = Formatter(locale, currency)
    sections = []
    for name, figures in FIGURES.items():
        shown = [
            Figure(
                key,
                f._(f"analytics.figure.{key}"),
                _show(f, now[key], kind),
                _show(f, before[key], kind),
                f.change(now[key], before[key]),
            )
            for key, kind in figures
        ]
        formula = f._(
            f"analytics.formula.{name}",
            share=f.pct(float(share) * 100),
            cost=f.money(cost),
            flow_days=queries.WINDOWS["flow_days"],
            refund_days=queries.WINDOWS["refund_days"],
        )
        tables, drawn = _SECTION_BUILDERS[name](f, current, series, charts)
        summary = Table(
            f"{name}-summary",
            f._("analytics.table.summary"),
            [
                f._("analytics.col.figure"),
                f._("analytics.col.this_period"),
                f._("analytics.col.previous_period"),
                f._("analytics.col.change"),
            ],
            [[x.label, x.value, x.previous, x.change] for x in shown],
        )
        sections.append(Section(name, f._(f"analytics.section.{name}"), formula, shown, drawn, [summary, *tables]))
    return sections


def _labels(f: Formatter, series: dict[date, Any]) -> list[str]:
    return [f.day(d) for d in series]


def _deflection(f: Formatter, p: queries.Period, series: dict[date, Any], charts: bool):
    table = Table(
        "deflection-daily",
        f._("analytics.table.over_time"),
        [
            f._("analytics.col.day"),
            f._("analytics.figure.orders"),
            f._("analytics.figure.tracking_views"),
            f._("analytics.figure.tracking_lookups"),
        ],
    )
    for d, values in series.items():
        table.rows.append(
            [
                f.day(d, True),
                f.num(values.get("orders", (0,))[0]),
                f.num(values.get("tracking_views", (0,))[0]),
                f.num(values.get("tracking_lookups", (0,))[0]),
            ]
        )
    drawn = []
    if charts:
        drawn.append(
            line_chart(
                table.title,
                _labels(f, series),
                {
                    f._("analytics.figure.orders"): [v.get("orders", (0,))[0] for v in series.values()],
                    f._("analytics.figure.tracking_views"): [v.get("tracking_views", (0,))[0] for v in series.values()],
                    f._("analytics.figure.tracking_lookups"): [
                        v.get("tracking_lookups", (0,))[0] for v in series.values()
                    ],
                },
                no_data=f._("analytics.no_data"),
            )
        )
    return [table], drawn


def _breakdown_table(f: Formatter, table_id: str, title: str, first_col: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(
        table_id,
        title,
        [
            first_col,
            f._("analytics.col.parcels"),
            "P50",
            "P90",
            f._("analytics.col.p50_business"),
            f._("analytics.col.p90_business"),
            f._("analytics.col.early"),
            f._("analytics.col.on_time"),
            f._("analytics.col.late"),
            f._("analytics.figure.on_time_rate"),
            f._("analytics.col.exceptions_1000"),
            f._("analytics.col.attempts_1000"),
        ],
    )
    for r in rows:
        table.rows.append(
            [
                r["name"],
                f.num(r["parcels"]),
                f.days(r["p50"]),
                f.days(r["p90"]),
                f.days(r["p50_bus"]),
                f.days(r["p90_bus"]),
                f.num(r["early"]),
                f.num(r["on_time"]),
                f.num(r["late"]),
                f.pct(r["on_time_rate"]),
                f.num(r["exceptions_per_1000"], 1),
                f.num(r["failed_attempts_per_1000"], 1),
            ]
        )
    return table


def _delivery(f: Formatter, p: queries.Period, series: dict[date, Any], charts: bool):
    stages = Table(
        "delivery-stages",
        f._("analytics.table.stages"),
        [
            f._("analytics.col.stage"),
            "P50",
            "P90",
            f._("analytics.col.p50_business"),
            f._("analytics.col.p90_business"),
        ],
    )
    for r in queries.stage_percentiles(p):
        stages.rows.append(
            [
                f._(f"analytics.stage.{r['stage']}"),
                f.days(r["p50"]),
                f.days(r["p90"]),
                f.days(r["p50_bus"]),
                f.days(r["p90_bus"]),
            ]
        )
    carriers = queries.breakdown(p, "carrier:")
    by_carrier = _breakdown_table(
        f, "delivery-carriers", f._("analytics.table.by_carrier"), f._("analytics.col.carrier"), carriers
    )
    by_lane = _breakdown_table(
        f, "delivery-lanes", f._("analytics.table.by_lane"), f._("analytics.col.lane"), queries.breakdown(p, "lane:")
    )
    by_service = _breakdown_table(
        f,
        "delivery-services",
        f._("analytics.table.by_service"),
        f._("analytics.col.service"),
        queries.breakdown(p, "service:"),
    )
    drawn = []
    if charts:
        names = [r["name"] for r in carriers[:8]]
        drawn.append(
            bar_chart(
                by_carrier.title,
                names,
                {
                    f._("analytics.col.early"): [r["early"] for r in carriers[:8]],
                    f._("analytics.col.on_time"): [r["on_time"] for r in carriers[:8]],
                    f._("analytics.col.late"): [r["late"] for r in carriers[:8]],
                },
                stacked=True,
                no_data=f._("analytics.no_data"),
            )
        )
        on_time = []
        for v in series.values():
            judged = sum(v.get(f"punctuality_{k}", (0,))[0] for k in ("early", "on_time", "late"))
            on_time.append(metrics.rate(v.get("punctuality_on_time", (0,))[0], judged))
        drawn.append(
            line_chart(
                f._("analytics.figure.on_time_rate"),
                _labels(f, series),
                {f._("analytics.figure.on_time_rate"): on_time},
                percent=True,
                no_data=f._("analytics.no_data"),
            )
        )
    return [stages, by_carrier, by_lane, by_service], drawn


def _estimates(f: Formatter, p: queries.Period, series: dict[date, Any], charts: bool):
    tables = []
    for prefix, table_id, title, col in (
        ("carrier:", "estimates-carriers", "analytics.table.by_carrier", "analytics.col.carrier"),
        ("lane:", "estimates-lanes", "analytics.table.by_lane", "analytics.col.lane"),
    ):
        table = Table(
            table_id,
            f._(title),
            [
                f._(col),
                f._("analytics.col.estimates"),
                f._("analytics.figure.estimate_hit_rate"),
                f._("analytics.figure.estimate_mae_days"),
            ],
        )
        for r in queries.breakdown(p, prefix):
            if r["estimates"]:
                table.rows.append([r["name"], f.num(r["estimates"]), f.pct(r["hit_rate"]), f.days(r["mae"], 2)])
        tables.append(table)
    over_time = Table(
        "estimates-daily",
        f._("analytics.table.over_time"),
        [
            f._("analytics.col.day"),
            f._("analytics.col.estimates"),
            f._("analytics.figure.estimate_hit_rate"),
            f._("analytics.figure.estimate_mae_days"),
        ],
    )
    hits = []
    for d, v in series.items():
        count = v.get("estimates", (0, 0))
        rate = metrics.rate(v.get("estimates_hit", (0,))[0], count[0])
        hits.append(rate)
        if count[0]:
            over_time.rows.append([f.day(d, True), f.num(count[0]), f.pct(rate), f.days(float(count[1]) / count[0], 2)])
    tables.append(over_time)
    drawn = []
    if charts:
        drawn.append(
            line_chart(
                f._("analytics.figure.estimate_hit_rate"),
                _labels(f, series),
                {f._("analytics.figure.estimate_hit_rate"): hits},
                percent=True,
                no_data=f._("analytics.no_data"),
            )
        )
    return tables, drawn


def _messages(f: Formatter, p: queries.Period, series: dict[date, Any], charts: bool):
    rows = queries.message_rows(p)
    table = Table(
        "messages-moments",
        f._("analytics.table.by_moment"),
        [
            f._("analytics.col.moment"),
            f._("analytics.col.channel"),
            f._("analytics.col.sent"),
            f._("analytics.col.delivered"),
            f._("analytics.col.clicked"),
            f._("analytics.col.suppressed"),
            f._("analytics.col.failed"),
        ],
    )
    for r in rows:
        table.rows.append(
            [
                _label(f, "admin.notify.trigger.", r["trigger"]),
                _label(f, "admin.notify.channel.", r["channel"]),
                f.num(r["sent"]),
                f.num(r["delivered"]),
                f.num(r["clicked"]),
                f.num(r["suppressed"]),
                f.num(r["failed"]),
            ]
        )
    reasons = Table(
        "messages-suppressed",
        f._("analytics.table.suppressed"),
        [f._("analytics.col.reason"), f._("analytics.col.count")],
        [[r["reason"], f.num(r["count"])] for r in queries.suppressed_reasons(p)],
    )
    drawn = []
    if charts:
        names = [table_row[0] + " · " + table_row[1] for table_row in table.rows[:8]]
        drawn.append(
            bar_chart(
                table.title,
                names,
                {
                    f._("analytics.col.sent"): [r["sent"] for r in rows[:8]],
                    f._("analytics.col.clicked"): [r["clicked"] for r in rows[:8]],
                    f._("analytics.col.suppressed"): [r["suppressed"] for r in rows[:8]],
                },
                no_data=f._("analytics.no_data"),
            )
        )
    return [table, reasons], drawn


def _label(f: Formatter, prefix: str, code: str) -> str:
    """A stored code in words: its catalog entry when there is one, else the code with spaces."""
    text = f._(prefix + code)
    return code.replace("_", " ") if text == prefix + code else text


def _returns(f: Formatter, p: queries.Period, series: dict[date, Any], charts: bool):
    mix = queries.resolution_mix(p)
    mix_table = Table(
        "returns-resolutions",
        f._("analytics.table.resolutions"),
        [
            f._("analytics.col.resolution"),
            f._("analytics.col.count"),
            f._("analytics.col.share"),
            f._("analytics.col.amount"),
        ],
        [
            [f._(f"analytics.resolution.{r['resolution']}"), f.num(r["count"]), f.pct(r["share"]), f.money(r["amount"])]
            for r in mix
        ],
    )
    products = Table(
        "returns-products",
        f._("analytics.table.by_product"),
        [
            f._("analytics.col.product"),
            f._("analytics.col.sold"),
            f._("analytics.col.returned"),
            f._("analytics.figure.return_rate"),
        ],
        [[r["product"], f.num(r["sold"]), f.num(r["returned"]), f.pct(r["rate"])] for r in queries.return_products(p)],
    )
    reasons = Table(
        "returns-reasons",
        f._("analytics.table.by_reason"),
        [f._("analytics.col.reason"), f._("analytics.figure.returns"), f._("analytics.col.returned")],
        [
            [_label(f, "returns.reason.", r["reason"]), f.num(r["returns"]), f.num(r["items"])]
            for r in return_reasons_sorted(p)
        ],
    )
    drawn = []
    if charts:
        drawn.append(
            bar_chart(
                mix_table.title,
                [row[0] for row in mix_table.rows],
                {f._("analytics.col.count"): [r["count"] for r in mix]},
                no_data=f._("analytics.no_data"),
            )
        )
    return [mix_table, products, reasons], drawn


def return_reasons_sorted(p: queries.Period) -> list[dict[str, Any]]:
    return queries.return_reasons(p)


def _satisfaction(f: Formatter, p: queries.Period, series: dict[date, Any], charts: bool):
    carriers = Table(
        "satisfaction-carriers",
        f._("analytics.table.by_carrier"),
        [f._("analytics.col.carrier"), "NPS", f._("analytics.col.answers"), "CSAT", f._("analytics.col.answers")],
        [
            [r["carrier"], f.num(r["nps"]), f.num(r["nps_answers"]), f.num(r["csat"], 2), f.num(r["csat_answers"])]
            for r in queries.satisfaction_by_carrier(p)
        ],
    )
    over_time = Table("satisfaction-daily", f._("analytics.table.over_time"), [f._("analytics.col.day"), "NPS", "CSAT"])
    nps_points, csat_points = [], []
    for d, v in series.items():
        score = metrics.nps(
            v.get("nps_promoter", (0,))[0], v.get("nps_passive", (0,))[0], v.get("nps_detractor", (0,))[0]
        )
        csat = v.get("csat", (0, 0))
        average = float(csat[1]) / csat[0] if csat[0] else None
        nps_points.append(score)
        csat_points.append(average)
        if score is not None or average is not None:
            over_time.rows.append([f.day(d, True), f.num(score), f.num(average, 2)])
    drawn = []
    if charts:
        drawn.append(line_chart("NPS", _labels(f, series), {"NPS": nps_points}, no_data=f._("analytics.no_data")))
    return [carriers, over_time], drawn


def _revenue(f: Formatter, p: queries.Period, series: dict[date, Any], charts: bool):
    table = Table(
        "revenue-sources",
        f._("analytics.table.revenue"),
        [
            f._("analytics.col.source"),
            f._("analytics.col.gross"),
            f._("analytics.col.refunded"),
            f._("analytics.col.net"),
        ],
    )
    for source, gross, refunded in (
        ("analytics.figure.rec_revenue", p.amount("rec_revenue"), p.amount("rec_refunded")),
        ("analytics.figure.flow_revenue", p.amount("flow_revenue"), p.amount("flow_refunded")),
    ):
        table.rows.append([f._(source), f.money(gross), f.money(refunded), f.money(gross - refunded)])
    return [table], []


_SECTION_BUILDERS = {
    "deflection": _deflection,
    "delivery": _delivery,
    "estimates": _estimates,
    "messages": _messages,
    "returns": _returns,
    "satisfaction": _satisfaction,
    "revenue": _revenue,
}


def find_table(sections: list[Section], table_id: str) -> Table | None:
    for section in sections:
        for table in section.tables:
            if table.id == table_id:
                return table
    return None
