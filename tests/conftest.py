"""Shared fixtures: the real knowledge base and dialogue, built once per run."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The tests' own organizers' database (published knowledge base, accounts...), seeded
# from kb/ on first use, shared with the servers the integration tests start, and never
# the developer's var/kyr.db.
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='kyr-test-db-')}/kyr.db"

from bot.dialogue import Dialogue, default_dialogue
from bot.kb.loader import DEFAULT_ROOT, load
from bot.kb.model import KnowledgeBase


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load()


@pytest.fixture(scope="session")
def dialogue() -> Dialogue:
    return default_dialogue()


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A scratch copy of the knowledge base for tests that break it."""
    target = tmp_path / "kb"
    shutil.copytree(DEFAULT_ROOT, target)
    return target
