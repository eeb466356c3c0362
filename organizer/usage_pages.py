"""What people asked that the bot could not answer (scrubbed, grouped), and daily use
counts as charts. Neither holds anything that identifies a person."""

from aiohttp import web
from markupsafe import Markup

from organizer.app import require_role
from organizer.charts import bar_chart, line_chart
from organizer.pages import render
from storage import analytics, unanswered

DIMENSIONS = ("topic", "jurisdiction", "language", "channel")


@require_role()
async def unanswered_page(request: web.Request) -> web.StreamResponse:
    """Unanswered questions grouped by similar text, most asked first."""
    groups = sorted(unanswered.grouped(request.app["engine"]), key=lambda g: (-g.count, g.text))
    return render(request, "unanswered.html", groups=groups, retention=unanswered.retention_days())


@require_role("reviewer", "admin")
async def unanswered_delete(request: web.Request) -> web.StreamResponse:
    """Delete a group of unanswered questions (dealt with, or not worth keeping)."""
    form = await request.post()
    ids = [int(i) for i in str(form.get("ids", "")).split(",") if i.strip().isdigit()]
    unanswered.delete(request.app["engine"], ids)
    raise web.HTTPSeeOther("/organizer/unanswered")


@require_role()
async def analytics_page(request: web.Request) -> web.StreamResponse:
    """Turns per day, the share the bot could not answer, and totals per dimension."""
    engine = request.app["engine"]
    days = min(max(int(request.query.get("days", "30") or 30), 1), 365)
    totals = analytics.totals(engine, days)
    charts = [
        Markup(line_chart(f"Messages per day by {dimension}", analytics.daily_series(engine, dimension, days)))
        for dimension in ("language", "channel")
    ]
    share = analytics.fallback_share(engine, days)
    charts.append(
        Markup(line_chart("Share of messages not understood", {"not understood": share}, value_format=lambda v: f"{v:.0%}"))
    )
    charts += [Markup(bar_chart(f"Messages by {dimension}", totals.by.get(dimension, []))) for dimension in ("topic", "jurisdiction")]
    return render(request, "analytics.html", days=days, totals=totals, charts=charts, dimensions=DIMENSIONS)


def add_routes(app: web.Application) -> None:
    """Register the usage pages on the organizer app."""
    app.router.add_get("/organizer/unanswered", unanswered_page)
    app.router.add_post("/organizer/unanswered/delete", unanswered_delete)
    app.router.add_get("/organizer/analytics", analytics_page)
