"""The core package stays free of Rasa, so it is fast to test and light to run."""

import subprocess
import sys

CORE_MODULES = [
    "bot.kb.loader", "bot.kb.model", "bot.compose", "bot.dialogue", "bot.jurisdiction",
    "bot.language", "bot.text", "bot.nlu_data", "bot.settings", "bot.cli",
]


def test_core_modules_do_not_import_rasa_or_tensorflow():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE_MODULES)
        + "bad = [m for m in sys.modules if m.split('.')[0] in ('rasa', 'rasa_sdk', 'tensorflow')]\n"
        + "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
