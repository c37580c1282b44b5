"""The README tells the truth about commands, the command line and configuration; the core stays neutral."""

from __future__ import annotations

import ast
import re

from bot import commands as cmd
from bot.cli import build_parser
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_chat_command_as_defined():
    for spec in cmd.COMMANDS:
        row = f"| `{spec.usage}` | {spec.summary} | `{spec.example}` |"
        assert row in README, row


def test_readme_documents_the_korean_command_words_and_every_status_in_both_languages():
    text = " ".join(README.split())  # the README wraps its lines anywhere
    for spec in cmd.COMMANDS:
        if spec.word:
            assert f"`{spec.word.ko}` ({spec.word.en})" in text, spec.name
    for word in cmd.STATUSES:
        assert f"`{word.en}` (`{word.ko}`)" in text, word.en


def test_readme_documents_every_command_line_subcommand():
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    for name in subparsers.choices:
        assert f"| `pledgebot {name}" in README, name


def test_readme_documents_every_environment_variable_the_code_reads():
    source = (ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', source)) - {"INFO", "DEBUG", "WARNING", "ERROR"}
    assert names
    for name in names:
        assert f"`{name}`" in README, name


def test_the_core_imports_no_platform_library():
    for path in (ROOT / "bot").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            for module in modules:
                root = module.split(".")[0]
                assert root not in {"slack_bolt", "slack_sdk", "discord"}, f"{path}: imports {module}"
                # Only the composition root may reach into adapters, and only lazily.
                if root == "adapters":
                    assert path.name == "cli.py", f"{path}: imports {module}"
