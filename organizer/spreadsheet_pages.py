"""Spreadsheet round trip pages: download a jurisdiction's texts in every language, upload
them back filled in, see the diff, and submit it for review. Nothing is applied before the
diff is shown, and nothing is published without a reviewer."""

from aiohttp import web

from bot.kb.loader import KBError
from organizer.app import require_role
from organizer.kb_pages import may_edit
from organizer.pages import error_page, render
from organizer.spreadsheet import SpreadsheetError, apply, diff, export_rows, read_upload, rtl_languages, to_csv, to_xlsx
from organizer.workflow import DRAFT, Workflow

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _documents(request: web.Request) -> dict:
    return Workflow(request.app["engine"]).store.documents()[1]


@require_role()
async def export(request: web.Request) -> web.StreamResponse:
    """The texts of one jurisdiction (or "messages"), one column per language."""
    scope, fmt = request.match_info["jurisdiction"], request.match_info["format"]
    documents = _documents(request)
    try:
        header, rows = export_rows(documents, scope)
    except SpreadsheetError as exc:
        return error_page(request, 404, "Nothing to export", "; ".join(exc.problems))
    body = to_xlsx(header, rows, rtl_languages(documents)) if fmt == "xlsx" else to_csv(header, rows)
    return web.Response(
        body=body,
        content_type=CONTENT_TYPES[fmt].split(";")[0],
        headers={"Content-Disposition": f'attachment; filename="kyr-{scope}.{fmt}"'},
    )


@require_role()
async def import_form(request: web.Request) -> web.StreamResponse:
    """Upload a filled-in spreadsheet."""
    scope = request.match_info["jurisdiction"]
    if not may_edit(request["account"], scope):
        return error_page(request, 403, "Not your jurisdiction", f"You can change only the jurisdictions assigned to you, and {scope!r} is not one of them.")
    return render(request, "import.html", scope=scope, problems=[], changes=None, draft_id=None)


@require_role()
async def import_upload(request: web.Request) -> web.StreamResponse:
    """Read the upload, show the diff, and keep it as a draft the editor then submits."""
    scope = request.match_info["jurisdiction"]
    if not may_edit(request["account"], scope):
        return error_page(request, 403, "Not your jurisdiction", f"You can change only the jurisdictions assigned to you, and {scope!r} is not one of them.")
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return render(request, "import.html", status=400, scope=scope, problems=["Choose a .csv or .xlsx file."], changes=None, draft_id=None)
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return render(request, "import.html", status=400, scope=scope, problems=["The file is over 5 MB."], changes=None, draft_id=None)
    documents = _documents(request)
    try:
        header, rows = read_upload(upload.filename, data)
        changes = diff(documents, scope, header, rows)
    except SpreadsheetError as exc:
        return render(request, "import.html", status=400, scope=scope, problems=exc.problems, changes=None, draft_id=None)
    draft_id = None
    if changes:
        updated = apply(documents, scope, changes)
        changed = {key: doc for key, doc in updated.items() if documents.get(key) != doc}
        try:
            draft_id = Workflow(request.app["engine"]).propose(
                request["account"].username, scope, f"spreadsheet {upload.filename}: {len(changes)} change(s)", changed, submit=False
            )
        except KBError as exc:
            return render(request, "import.html", status=400, scope=scope, problems=exc.problems, changes=None, draft_id=None)
    return render(request, "import.html", scope=scope, problems=[], changes=changes, draft_id=draft_id)


@require_role()
async def draft_submit(request: web.Request) -> web.StreamResponse:
    """Submit a saved draft (an imported spreadsheet) for review."""
    flow = Workflow(request.app["engine"])
    draft = flow.get(int(request.match_info["id"]))
    if draft.status != DRAFT or not may_edit(request["account"], draft.jurisdiction):
        return error_page(request, 409, "Not submitted", "This draft cannot be submitted by you now.")
    flow.submit(draft.id, request["account"].username)
    raise web.HTTPSeeOther(f"/organizer/drafts/{draft.id}")


def add_routes(app: web.Application) -> None:
    """Register the spreadsheet pages on the organizer app."""
    app.router.add_get("/organizer/kb/{jurisdiction}/export.{format:csv|xlsx}", export)
    app.router.add_get("/organizer/kb/{jurisdiction}/import", import_form)
    app.router.add_post("/organizer/kb/{jurisdiction}/import", import_upload)
    app.router.add_post("/organizer/drafts/{id:\\d+}/submit", draft_submit)
