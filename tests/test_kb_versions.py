"""The published knowledge base in the database: seed, publish, restore, export, live reload,
and the draft -> review -> published workflow on top of it."""

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.kb.loader import DEFAULT_ROOT, KBError, read_documents, validate
from bot.kb.model import TranslationState
from organizer.edits import EditError, FactEdit, edit_fact, new_jurisdiction
from organizer.workflow import IN_REVIEW, PUBLISHED, Workflow, WorkflowError
from storage.kb_versions import SEED_AUTHOR, KnowledgeBaseStore, LiveKnowledgeBase, export_documents
from storage.organizer_db import METADATA, audit_log, engine

FACT = "orlando-01"


POSTGRES_URL = os.environ.get("KYR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
POSTGRES_DATABASE = "kyr_test_kb"


def postgres_scratch() -> str:
    """The tests' own PostgreSQL database (created if missing), every table emptied."""
    server = make_url(POSTGRES_URL)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": POSTGRES_DATABASE}).scalar():
            connection.execute(sa.text(f'CREATE DATABASE "{POSTGRES_DATABASE}"'))
    admin.dispose()
    url = server.set(database=POSTGRES_DATABASE).render_as_string(hide_password=False)
    with engine(url).begin() as connection:
        names = ", ".join(table.name for table in METADATA.sorted_tables)
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY"))
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> KnowledgeBaseStore:
    url = f"sqlite:///{tmp_path}/kyr.db" if request.param == "sqlite" else postgres_scratch()
    store = KnowledgeBaseStore(engine(url))
    assert store.seed(DEFAULT_ROOT) == 1
    return store


def spanish(kb, fact_id: str = FACT) -> str:
    fact = next(f for f in kb.jurisdiction("orlando").facts if f.id == fact_id)
    return fact.text.render("es")[0]


def test_seed_happens_once_and_matches_the_files(store: KnowledgeBaseStore) -> None:
    assert store.seed(DEFAULT_ROOT) is None
    assert store.latest_id() == 1
    _, documents = store.documents()
    assert documents == read_documents(DEFAULT_ROOT)[0]
    assert store.info(1).published_by == SEED_AUTHOR


def test_invalid_documents_are_never_published(store: KnowledgeBaseStore) -> None:
    _, documents = store.documents()
    documents["jurisdictions/orlando.yml"]["facts"][0]["as_of"] = "last summer"
    with pytest.raises(KBError) as error:
        store.publish(documents, "ed", "rev", "bad date")
    assert "orlando-01" in str(error.value) and "as_of" in str(error.value)
    assert store.latest_id() == 1


def test_live_knowledge_base_picks_up_a_publication_after_its_interval(store: KnowledgeBaseStore) -> None:
    clock = [0.0]
    live = LiveKnowledgeBase(store, interval=2.0, clock=lambda: clock[0])
    version, kb = live.current()
    before = spanish(kb)
    _, documents = store.documents()
    key, changed = edit_fact(documents, FactEdit(FACT, "es", "Texto nuevo revisado."))
    store.publish({**documents, key: changed}, "ed", "rev", "new Spanish")
    clock[0] = 1.0
    assert live.current()[0] == version  # not yet checked again
    clock[0] = 2.5
    version2, kb2 = live.current()
    assert version2 == version + 1 and spanish(kb2) == "Texto nuevo revisado." != before


def test_live_knowledge_base_keeps_answering_when_the_database_is_gone(tmp_path: Path) -> None:
    db = tmp_path / "gone.db"
    store = KnowledgeBaseStore(engine(f"sqlite:///{db}"))
    store.seed(DEFAULT_ROOT)
    clock = [0.0]
    live = LiveKnowledgeBase(store, interval=1.0, clock=lambda: clock[0])
    version, kb = live.current()
    with store.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE kb_versions"))
    clock[0] = 5.0
    assert live.current() == (version, kb)


def test_restore_publishes_the_old_version_again(store: KnowledgeBaseStore) -> None:
    _, documents = store.documents()
    key, changed = edit_fact(documents, FactEdit(FACT, "es", "Otra cosa."))
    store.publish({**documents, key: changed}, "ed", "rev", "change")
    restored = store.restore(1, "rev")
    assert restored == 3 and store.info(3).restored_from == 1
    assert store.documents(3)[1] == documents
    with store.engine.connect() as connection:
        actions = [r.action for r in connection.execute(sa.select(audit_log.c.action))]
    assert actions == ["publish", "publish", "restore"]


def test_export_writes_files_that_load_as_the_same_knowledge_base(store: KnowledgeBaseStore, tmp_path: Path) -> None:
    _, documents = store.documents()
    export_documents(documents, tmp_path / "kb")
    assert read_documents(tmp_path / "kb")[0] == documents
    assert validate(tmp_path / "kb")[0] is not None


def test_english_edit_leaves_translations_out_of_date(store: KnowledgeBaseStore) -> None:
    _, documents = store.documents()
    key, changed = edit_fact(documents, FactEdit(FACT, "en", "A new English text."))
    store.publish({**documents, key: changed}, "ed", "rev", "new English")
    live = LiveKnowledgeBase(store)
    fact = next(f for f in live.current()[1].jurisdiction("orlando").facts if f.id == FACT)
    assert fact.text.render("es") == ("A new English text.", TranslationState.STALE)


def test_edits_refuse_what_would_be_wrong(store: KnowledgeBaseStore) -> None:
    _, documents = store.documents()
    with pytest.raises(EditError):
        edit_fact(documents, FactEdit("nowhere-01", "es", "x"))
    with pytest.raises(EditError):
        edit_fact(documents, FactEdit(FACT, "es", "   "))
    with pytest.raises(EditError):
        new_jurisdiction(documents, "orlando", "city", "florida", {"en": ["Orlando"]}, [])
    with pytest.raises(EditError):
        new_jurisdiction(documents, "Tampa!", "city", "florida", {"en": ["Tampa"]}, [])


def test_draft_review_publish(store: KnowledgeBaseStore) -> None:
    flow = Workflow(store.engine)
    _, documents = store.documents()
    key, changed = edit_fact(documents, FactEdit(FACT, "es", "Texto del borrador."))
    draft_id = flow.propose("editor", "orlando", "Spanish wording", {key: changed})
    assert flow.get(draft_id).status == IN_REVIEW
    assert [c["what"] for c in flow.changes(flow.get(draft_id))] == [f"{FACT} (es)", f"{FACT} (es) review"]
    version = flow.publish(draft_id, "Ana Reviewer", "attorney")
    assert flow.get(draft_id).status == PUBLISHED and flow.get(draft_id).published_version == version
    info = store.info(version)
    assert (info.reviewed_by, info.reviewer_credential, info.published_by) == ("Ana Reviewer", "attorney", "editor")
    with pytest.raises(WorkflowError):
        flow.publish(draft_id, "Ana Reviewer", "attorney")


def test_a_stale_draft_does_not_overwrite_newer_work(store: KnowledgeBaseStore) -> None:
    flow = Workflow(store.engine)
    _, documents = store.documents()
    first = flow.propose("a", "orlando", "one", dict([edit_fact(documents, FactEdit(FACT, "es", "Uno."))]))
    second = flow.propose("b", "orlando", "two", dict([edit_fact(documents, FactEdit(FACT, "fr", "Deux."))]))
    other = flow.propose("c", "national", "three", dict([edit_fact(documents, FactEdit("national-01", "es", "Tres."))]))
    flow.publish(first, "rev", "attorney")
    with pytest.raises(WorkflowError, match="changed since"):
        flow.publish(second, "rev", "attorney")
    flow.publish(other, "rev", "attorney")  # another document: fine


def test_a_draft_that_would_break_the_knowledge_base_is_refused(store: KnowledgeBaseStore) -> None:
    flow = Workflow(store.engine)
    _, documents = store.documents()
    key, doc = new_jurisdiction(documents, "tampa", "city", "nowhere_state", {"en": ["Tampa"]}, [])
    with pytest.raises(KBError, match="nowhere_state"):
        flow.propose("ed", "tampa", "new city", {key: doc})


def test_cli_exports_imports_and_lists_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from bot import cli
    from storage import kb_versions

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    kb_versions.live.cache_clear()
    try:
        assert cli.main(["kb", "export", "--out", str(tmp_path / "kb")]) == 0
        assert read_documents(tmp_path / "kb")[0] == read_documents(DEFAULT_ROOT)[0]
        orlando = tmp_path / "kb" / "jurisdictions" / "orlando.yml"
        orlando.write_text(orlando.read_text(encoding="utf-8").replace("as_of: '2018-07-23'", "as_of: July 2018", 1), encoding="utf-8")
        assert cli.main(["kb", "import", "--root", str(tmp_path / "kb"), "--by", "Dev"]) == 1
        assert "orlando-01" in capsys.readouterr().err
        orlando.write_text(orlando.read_text(encoding="utf-8").replace("as_of: July 2018", "as_of: '2018-07-24'", 1), encoding="utf-8")
        assert cli.main(["kb", "import", "--root", str(tmp_path / "kb"), "--by", "Dev"]) == 0
        assert cli.main(["kb", "history"]) == 0
        history = capsys.readouterr().out
        assert "    2 " in history and "reviewed by Dev: imported from" in history
    finally:
        kb_versions.live.cache_clear()


def test_a_new_fact_gets_the_next_id_and_publishes(store: KnowledgeBaseStore) -> None:
    from organizer.edits import new_fact

    _, documents = store.documents()
    edit = FactEdit("", "en", "Tampa police do not ask about status.", sources="Tampa PD policy | https://example.org/tpd", as_of="2026-01", last_verified="2026-11-01", review_by="2027-05-01")
    key, doc = new_fact(documents, "orlando", "police_status_questions", "core", edit)
    assert doc["facts"][-1]["id"] == "orlando-07" and doc["facts"][-1]["reference"] == ["organizer-app"]
    key, tampa = new_jurisdiction(documents, "tampa", "city", "florida", {"en": ["Tampa"]}, [])
    _, tampa = new_fact({**documents, key: tampa}, "tampa", "police_status_questions", "core", edit)
    version = store.publish({**documents, key: tampa}, "ed", "rev", "tampa")
    kb = LiveKnowledgeBase(store).current()[1]
    assert store.latest_id() == version and [f.id for f in kb.facts("tampa", "police_status_questions")] == ["tampa-01"]
    with pytest.raises(EditError):
        new_fact(documents, "orlando", "daca", "core", FactEdit("", "en", "x", sources=""))


def test_a_version_published_under_older_code_is_reported_not_served_silently(store: KnowledgeBaseStore) -> None:
    import json

    from storage.organizer_db import kb_versions, now

    assert store.problems() == []
    _, documents = store.documents()
    del documents["messages/en.yml"]["messages"]["status.past_review"]  # as before that message was required
    with store.engine.begin() as connection:
        connection.execute(
            kb_versions.insert().values(
                created_at=now(), published_by="old", reviewed_by="old", reviewer_credential="", summary="older release",
                documents=json.dumps(documents),
            )
        )
    assert any("status.past_review" in problem for problem in store.problems())
