"""What people asked that the bot could not answer (scrubbed, grouped), and daily use
counts as charts. Neither holds anything that identifies a person."""

from aiohttp import web
from markupsafe import Markup

from organizer import training
from organizer.app import require_role
from organizer.auth.accounts import audit
from organizer.charts import bar_chart, line_chart
from organizer.pages import error_page, render
from organizer.retrain import RetrainJob
from storage import analytics, unanswered
from storage.kb_versions import KnowledgeBaseStore

DIMENSIONS = ("topic", "jurisdiction", "language", "channel")
RETRAIN = web.AppKey("retrain", RetrainJob)


@require_role()
async def unanswered_page(request: web.Request) -> web.StreamResponse:
    """Unanswered questions grouped by similar text, most asked first."""
    groups = sorted(unanswered.grouped(request.app["engine"]), key=lambda g: (-g.count, g.text))
    return render(
        request, "unanswered.html", groups=groups, retention=unanswered.retention_days(), intents=training.intents()
    )


@require_role("reviewer", "admin")
async def unanswered_delete(request: web.Request) -> web.StreamResponse:
    """Delete a group of unanswered questions (dealt with, or not worth keeping)."""
    form = await request.post()
    ids = [int(i) for i in str(form.get("ids", "")).split(",") if i.strip().isdigit()]
    unanswered.delete(request.app["engine"], ids)
    raise web.HTTPSeeOther("/organizer/unanswered")


@require_role()
async def example_submit(request: web.Request) -> web.StreamResponse:
    """Turn an unanswered question into a training example of a topic."""
    form = await request.post()
    engine = request.app["engine"]
    languages = KnowledgeBaseStore(engine).documents()[1]["languages.yml"]["languages"]
    try:
        training.add_example(
            engine, str(form.get("text", "")), str(form.get("intent", "")), str(form.get("language", "")),
            request["account"].username, languages,
        )
    except training.ExampleError as exc:
        return error_page(request, 400, "Example not added", str(exc))
    raise web.HTTPSeeOther("/organizer/training")


@require_role()
async def training_page(request: web.Request) -> web.StreamResponse:
    """Examples organizers added, and retraining."""
    return render(
        request,
        "training.html",
        examples=training.listing(request.app["engine"]),
        job=request.app[RETRAIN].status(),
        can_retrain=request["account"].role in ("reviewer", "admin"),
    )


@require_role("reviewer", "admin")
async def retrain_submit(request: web.Request) -> web.StreamResponse:
    """Start retraining in the background (one at a time)."""
    if request.app[RETRAIN].start():
        audit(request.app["engine"], request["account"].username, "retrain", "NLU model")
    raise web.HTTPSeeOther("/organizer/training")


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
    app.router.add_post("/organizer/training/examples", example_submit)
    app.router.add_get("/organizer/training", training_page)
    app.router.add_post("/organizer/training/retrain", retrain_submit)
    app[RETRAIN] = RetrainJob()
