"""The organizer app's knowledge-base pages: browse, edit, review, publish, restore, audit.

Editors change the jurisdictions assigned to them; every change becomes a draft that a
reviewer (or admin) approves, which publishes it: the running bot answers from it within
seconds. Nothing here writes to the published version except through the workflow.
"""

from typing import Any, Dict, List

import sqlalchemy as sa
from aiohttp import web

from bot.kb.loader import KBError
from bot.kb.model import ENGLISH
from organizer.app import require_role
from organizer.coverage import coverage, text_state
from organizer.edits import (
    ContactEdit,
    EditError,
    FactEdit,
    approve_translation,
    edit_contact,
    edit_fact,
    edit_names,
    format_sources,
    jurisdiction_key,
    new_fact,
    new_jurisdiction,
    split_names,
)
from organizer.pages import error_page, render
from organizer.preview import preview
from organizer.workflow import IN_REVIEW, Workflow, WorkflowError
from storage.kb_versions import checked
from storage.organizer_db import audit_log

PUBLISHERS = ("reviewer", "admin")


def may_edit(account: Any, jurisdiction: str) -> bool:
    """Reviewers and admins edit everything; an editor only the jurisdictions assigned to them."""
    return account.role in PUBLISHERS or jurisdiction in account.jurisdictions


def _workflow(request: web.Request) -> Workflow:
    return Workflow(request.app["engine"])


def _published(request: web.Request) -> tuple:
    version, documents = _workflow(request).store.documents()
    return version, documents, checked(documents)


def _refuse(request: web.Request, jurisdiction: str) -> web.Response:
    return error_page(
        request, 403, "Not your jurisdiction", f"You can change only the jurisdictions assigned to you, and {jurisdiction!r} is not one of them."
    )


def _problems(exc: Exception) -> List[str]:
    return exc.problems if isinstance(exc, KBError) else [str(exc)]


def _propose(request: web.Request, jurisdiction: str, summary: str, changed: Dict[str, Any]) -> web.Response:
    """Record a change as a draft submitted for review, and show it."""
    draft_id = _workflow(request).propose(request["account"].username, jurisdiction, summary, changed)
    raise web.HTTPSeeOther(f"/organizer/drafts/{draft_id}")


@require_role()
async def kb_index(request: web.Request) -> web.StreamResponse:
    """Every jurisdiction with what still needs translating or reviewing."""
    version, _, kb = _published(request)
    rows = [coverage(kb, place) for place in kb.jurisdictions.values()]
    languages = [lang for lang in kb.languages if lang != ENGLISH]
    return render(request, "kb_index.html", version=version, rows=rows, languages=languages)


@require_role()
async def jurisdiction_page(request: web.Request) -> web.StreamResponse:
    """One jurisdiction: names, contacts, and each fact's state in every language."""
    version, _, kb = _published(request)
    jid = request.match_info["jurisdiction"]
    if jid not in kb.jurisdictions:
        return error_page(request, 404, "No such jurisdiction", f"There is no jurisdiction {jid!r}.")
    place = kb.jurisdiction(jid)
    languages = [lang for lang in kb.languages if lang != ENGLISH]
    states = {f.id: {lang: text_state(kb, jid, f.id, lang) for lang in languages} for f in place.facts}
    return render(
        request,
        "kb_jurisdiction.html",
        version=version,
        place=place,
        languages=languages,
        states=states,
        coverage=coverage(kb, place),
        can_edit=may_edit(request["account"], jid),
        names={lang: ", ".join(place.names.get(lang, ())) for lang in kb.languages},
        policy_topics=[t.id for t in kb.topics.values() if t.kind == "policy"],
        aliases=", ".join(place.aliases),
    )


def _fact_context(kb: Any, documents: Dict[str, Any], jid: str, fact_id: str, language: str) -> Dict[str, Any]:
    doc = documents[jurisdiction_key(jid)]
    raw = next(f for f in doc["facts"] if f["id"] == fact_id)
    fact = next(f for f in kb.jurisdiction(jid).facts if f.id == fact_id)
    text, state = fact.text.render(language)
    return {
        "fact": fact,
        "raw": raw,
        "language": language,
        "language_name": kb.languages[language]["name"] if "name" in kb.languages[language] else language,
        "direction": kb.languages[language].get("direction", "ltr"),
        "current_text": text if state not in ("missing", "stale") or language == ENGLISH else "",
        "english": fact.text.english,
        "state": state,
        "sources": format_sources(raw["sources"]),
        "preview": preview(documents, jid, fact.topic, language),
    }


@require_role()
async def fact_form(request: web.Request) -> web.StreamResponse:
    """Edit one fact in one language, with the reply previewed as SMS and web."""
    _, documents, kb = _published(request)
    jid, fact_id = request.match_info["jurisdiction"], request.match_info["fact"]
    language = request.query.get("lang", ENGLISH)
    if jid not in kb.jurisdictions or fact_id not in {f.id for f in kb.jurisdiction(jid).facts} or language not in kb.languages:
        return error_page(request, 404, "Not found", "No such fact or language.")
    context = _fact_context(kb, documents, jid, fact_id, language)
    return render(request, "kb_fact.html", jurisdiction=jid, languages=list(kb.languages), can_edit=may_edit(request["account"], jid), problems=[], **context)


def _fact_edit(form: Any, fact_id: str, language: str) -> FactEdit:
    """A fact edit as the fact forms send it."""
    fields = ("text", "sources", "as_of", "last_verified", "review_by", "status")
    return FactEdit(fact_id=fact_id, language=language, **{name: str(form.get(name, "")) for name in fields})


@require_role()
async def fact_submit(request: web.Request) -> web.StreamResponse:
    """Turn a fact edit into a draft submitted for review."""
    _, documents, kb = _published(request)
    jid, fact_id = request.match_info["jurisdiction"], request.match_info["fact"]
    if not may_edit(request["account"], jid):
        return _refuse(request, jid)
    form = await request.post()
    language = str(form.get("language", ENGLISH))
    edit = _fact_edit(form, fact_id, language)
    try:
        key, changed = edit_fact(documents, edit)
        if changed["id"] != jid:
            return _refuse(request, changed["id"])
        return _propose(request, jid, f"{fact_id} ({language}): {form.get('summary') or 'text edited'}", {key: changed})
    except (EditError, KBError) as exc:
        context = _fact_context(kb, documents, jid, fact_id, language)
        context["current_text"] = edit.text
        return render(request, "kb_fact.html", status=400, jurisdiction=jid, languages=list(kb.languages), can_edit=True, problems=_problems(exc), **context)


@require_role()
async def fact_new_submit(request: web.Request) -> web.StreamResponse:
    """Propose a new fact for a jurisdiction (in English; translations follow)."""
    _, documents, _ = _published(request)
    jid = request.match_info["jurisdiction"]
    if not may_edit(request["account"], jid):
        return _refuse(request, jid)
    form = await request.post()
    edit = _fact_edit(form, "", ENGLISH)
    try:
        key, changed = new_fact(documents, jid, str(form.get("topic", "")), str(form.get("level", "core")), edit)
        return _propose(request, jid, f"{jid}: new fact on {form.get('topic')}", {key: changed})
    except (EditError, KBError) as exc:
        return error_page(request, 400, "Fact not added", "; ".join(_problems(exc)))


@require_role()
async def approve_translation_submit(request: web.Request) -> web.StreamResponse:
    """Propose a machine translation as reviewed, unchanged."""
    _, documents, _ = _published(request)
    jid, fact_id = request.match_info["jurisdiction"], request.match_info["fact"]
    if not may_edit(request["account"], jid):
        return _refuse(request, jid)
    language = str((await request.post()).get("language", ""))
    try:
        key, changed = approve_translation(documents, fact_id, language)
    except EditError as exc:
        return error_page(request, 400, "Cannot approve", str(exc))
    return _propose(request, jid, f"{fact_id} ({language}): machine translation checked by a fluent reader", {key: changed})


def _names_from(form: Any, languages: List[str]) -> Dict[str, List[str]]:
    return {lang: split_names(str(form.get(f"names_{lang}", ""))) for lang in languages}


@require_role()
async def names_submit(request: web.Request) -> web.StreamResponse:
    """Propose new names and aliases for a jurisdiction."""
    _, documents, kb = _published(request)
    jid = request.match_info["jurisdiction"]
    if not may_edit(request["account"], jid):
        return _refuse(request, jid)
    form = await request.post()
    try:
        key, changed = edit_names(documents, jid, _names_from(form, list(kb.languages)), split_names(str(form.get("aliases", ""))))
        return _propose(request, jid, f"{jid}: names and aliases", {key: changed})
    except (EditError, KBError) as exc:
        return error_page(request, 400, "Names not changed", "; ".join(_problems(exc)))


@require_role()
async def contact_submit(request: web.Request) -> web.StreamResponse:
    """Propose a new or changed legal-help or rapid-response contact."""
    _, documents, _ = _published(request)
    jid = request.match_info["jurisdiction"]
    if not may_edit(request["account"], jid):
        return _refuse(request, jid)
    form = await request.post()
    edit = ContactEdit(
        jurisdiction=jid,
        contact_id=str(form.get("contact_id", "")).strip(),
        kind=str(form.get("kind", "legal_help")),
        name=str(form.get("name", "")),
        url=str(form.get("url", "")),
        phone=str(form.get("phone", "")),
        as_of=str(form.get("as_of", "")),
        sources=str(form.get("sources", "")),
        verified=form.get("verified") == "yes",
    )
    try:
        key, changed = edit_contact(documents, edit)
        return _propose(request, jid, f"{jid}: contact {edit.contact_id}", {key: changed})
    except (EditError, KBError) as exc:
        return error_page(request, 400, "Contact not changed", "; ".join(_problems(exc)))


@require_role("admin", "reviewer")
async def new_jurisdiction_form(request: web.Request) -> web.StreamResponse:
    """Add a city, county or state."""
    _, _, kb = _published(request)
    states = sorted(j.id for j in kb.jurisdictions.values() if j.kind == "state")
    return render(request, "kb_new.html", languages=list(kb.languages), states=states, problems=[], form={})


@require_role("admin", "reviewer")
async def new_jurisdiction_submit(request: web.Request) -> web.StreamResponse:
    """Propose a new jurisdiction with its names and aliases."""
    _, documents, kb = _published(request)
    form = await request.post()
    jid = str(form.get("id", "")).strip()
    try:
        key, doc = new_jurisdiction(
            documents,
            jid,
            str(form.get("kind", "city")),
            str(form.get("state", "")).strip() or None,
            _names_from(form, list(kb.languages)),
            split_names(str(form.get("aliases", ""))),
        )
        return _propose(request, jid, f"new jurisdiction {jid}", {key: doc})
    except (EditError, KBError) as exc:
        states = sorted(j.id for j in kb.jurisdictions.values() if j.kind == "state")
        return render(request, "kb_new.html", status=400, languages=list(kb.languages), states=states, problems=_problems(exc), form=form)


@require_role()
async def drafts_page(request: web.Request) -> web.StreamResponse:
    """Drafts waiting for review first, then the rest, newest first."""
    drafts = _workflow(request).listing()
    account = request["account"]
    if account.role not in PUBLISHERS:
        drafts = [d for d in drafts if d.author == account.username or d.jurisdiction in account.jurisdictions]
    waiting = [d for d in drafts if d.status == IN_REVIEW]
    return render(request, "drafts.html", waiting=waiting, others=[d for d in drafts if d.status != IN_REVIEW])


@require_role()
async def draft_page(request: web.Request) -> web.StreamResponse:
    """One draft: what it changes, the reply it would give, and the review buttons."""
    flow = _workflow(request)
    try:
        draft = flow.get(int(request.match_info["id"]))
    except (KeyError, ValueError):
        return error_page(request, 404, "No such draft", "This draft does not exist.")
    previews = []
    _, documents = flow.store.documents()
    merged = {**documents, **draft.documents}
    for doc in draft.documents.values():
        changed_facts = [f for f in doc.get("facts", []) if _old_fact(f, documents, doc) != f]
        for fact in changed_facts:
            changed_languages = [lang for lang in fact.get("translations", {}) if _changed_translation(fact, lang, documents, doc)]
            for language in changed_languages or [ENGLISH]:
                try:
                    previews.append(preview(merged, doc["id"], fact["topic"], language))
                except KBError:
                    pass  # the documents changed since the draft; the review page says so
    return render(
        request,
        "draft.html",
        draft=draft,
        changes=flow.changes(draft),
        previews=previews[:3],
        can_publish=request["account"].role in PUBLISHERS,
    )


def _old_fact(fact: Dict[str, Any], documents: Dict[str, Any], doc: Dict[str, Any]) -> Any:
    old_doc = documents.get(jurisdiction_key(doc["id"])) or {}
    return next((f for f in old_doc.get("facts", []) if f["id"] == fact["id"]), None)


def _changed_translation(fact: Dict[str, Any], language: str, documents: Dict[str, Any], doc: Dict[str, Any]) -> bool:
    old = _old_fact(fact, documents, doc) or {}
    return old.get("translations", {}).get(language) != fact.get("translations", {}).get(language)


@require_role(*PUBLISHERS)
async def draft_publish(request: web.Request) -> web.StreamResponse:
    """Approve and publish: the bot answers from it within seconds."""
    account = request["account"]
    draft_id = int(request.match_info["id"])
    try:
        version = _workflow(request).publish(draft_id, account.display_name, account.credential or account.role)
    except (WorkflowError, KBError) as exc:
        return error_page(request, 409, "Not published", "; ".join(_problems(exc)))
    raise web.HTTPSeeOther(f"/organizer/versions#v{version}")


@require_role(*PUBLISHERS)
async def draft_reject(request: web.Request) -> web.StreamResponse:
    """Send a draft back with a note."""
    note = str((await request.post()).get("note", "")).strip() or "rejected"
    try:
        _workflow(request).reject(int(request.match_info["id"]), request["account"].display_name, note)
    except WorkflowError as exc:
        return error_page(request, 409, "Not rejected", str(exc))
    raise web.HTTPSeeOther("/organizer/drafts")


@require_role()
async def versions_page(request: web.Request) -> web.StreamResponse:
    """Every published version, newest first, with restore buttons for reviewers."""
    store = _workflow(request).store
    return render(request, "versions.html", versions=store.history(200), latest=store.latest_id(), can_restore=request["account"].role in PUBLISHERS)


@require_role(*PUBLISHERS)
async def version_restore(request: web.Request) -> web.StreamResponse:
    """Publish an earlier version again, in one step."""
    account = request["account"]
    try:
        version = _workflow(request).store.restore(int(request.match_info["id"]), account.display_name, account.credential or account.role)
    except (KeyError, KBError) as exc:
        return error_page(request, 409, "Not restored", "; ".join(_problems(exc)))
    raise web.HTTPSeeOther(f"/organizer/versions#v{version}")


@require_role(*PUBLISHERS)
async def audit_page(request: web.Request) -> web.StreamResponse:
    """Who changed what, and when."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(500)
    with request.app["engine"].connect() as connection:
        entries = list(connection.execute(query))
    return render(request, "audit.html", entries=entries)


def add_routes(app: web.Application) -> None:
    """Register the knowledge-base pages on the organizer app."""
    app.router.add_get("/organizer/kb", kb_index)
    app.router.add_get("/organizer/kb/new", new_jurisdiction_form)
    app.router.add_post("/organizer/kb/new", new_jurisdiction_submit)
    app.router.add_get("/organizer/kb/{jurisdiction}", jurisdiction_page)
    app.router.add_post("/organizer/kb/{jurisdiction}/names", names_submit)
    app.router.add_post("/organizer/kb/{jurisdiction}/contacts", contact_submit)
    app.router.add_post("/organizer/kb/{jurisdiction}/facts", fact_new_submit)
    app.router.add_get("/organizer/kb/{jurisdiction}/facts/{fact}", fact_form)
    app.router.add_post("/organizer/kb/{jurisdiction}/facts/{fact}", fact_submit)
    app.router.add_post("/organizer/kb/{jurisdiction}/facts/{fact}/approve", approve_translation_submit)
    app.router.add_get("/organizer/drafts", drafts_page)
    app.router.add_get("/organizer/drafts/{id:\\d+}", draft_page)
    app.router.add_post("/organizer/drafts/{id:\\d+}/publish", draft_publish)
    app.router.add_post("/organizer/drafts/{id:\\d+}/reject", draft_reject)
    app.router.add_get("/organizer/versions", versions_page)
    app.router.add_post("/organizer/versions/{id:\\d+}/restore", version_restore)
    app.router.add_get("/organizer/audit", audit_page)

