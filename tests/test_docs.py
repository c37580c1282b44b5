"""The README and the guides in docs/ tell the truth, both ways; the core stays neutral.

Forwards: every chat command, Korean command word and status, every command-line subcommand and every setting
the code reads is documented in the guide a reader looks for it in. Backwards: every `/pledge <word>`,
`pledgebot <word>` and environment variable the docs name is real, and every relative link leads somewhere.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from bot import commands as cmd
from bot.cli import build_parser
from bot.commands import VOCABULARY
from bot.config import load_settings
from bot.words import Kind
from tests.conftest import ROOT

README_PATH = ROOT / "README.md"
DOCS = ROOT / "docs"
GUIDE_PATHS = sorted(DOCS.glob("*.md"))
ALL_PATHS = [README_PATH, *GUIDE_PATHS]
MAX_README_LINES = 200


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


README = _read(README_PATH)
USING = _read(DOCS / "using.md")
CLI = _read(DOCS / "cli.md")
DEPLOYMENT = _read(DOCS / "deployment.md")


def _flat(text: str) -> str:
    """The text with its line wrapping undone: the docs wrap their lines anywhere, inside code spans too."""
    return " ".join(text.split())


_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"`([^`]+)`")


def _code(text: str) -> Iterator[str]:
    """Every piece of code in a Markdown text: each line of a fenced block, and each inline code span."""
    for block in _FENCE.findall(text):
        yield from (line for line in block.splitlines() if line.strip())
    for span in _SPAN.findall(_FENCE.sub("", text)):
        yield _flat(span)


def _all_code() -> Iterator[tuple[str, str]]:
    for path in ALL_PATHS:
        for code in _code(_read(path)):
            yield path.relative_to(ROOT).as_posix(), code


def _subcommands() -> dict[str, object]:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    return dict(subparsers.choices)


class _Recording(Mapping[str, str]):
    """An empty environment that remembers every name asked of it."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        raise KeyError(name)

    def get(self, name, default=None):
        self.asked.add(name)
        return default

    def __contains__(self, name: object) -> bool:
        self.asked.add(str(name))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _variables_config_reads() -> set[str]:
    """Every environment variable `bot.config` reads: the names it asks an environment for, and those it
    names in its source (a name read only in a branch an empty environment does not take)."""
    env = _Recording()
    load_settings(env)
    source = _read(ROOT / "bot" / "config.py")
    named = set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', source))
    return env.asked | named


# --- Chat commands ------------------------------------------------------------------------------------------


def test_using_documents_every_chat_command_as_defined():
    for spec in cmd.COMMANDS:
        row = f"| `{spec.usage}` | {spec.summary} | `{spec.example}` |"
        assert row in USING, row


def test_the_readme_table_lists_every_chat_command_with_its_summary_and_example():
    for spec in cmd.COMMANDS:
        word = spec.word
        short = f"/pledge {word.en}" if word else spec.usage
        korean = f"`{word.ko}`" if word else "—"
        row = f"| `{short}` | {korean} | {spec.summary} | `{spec.example}` |"
        assert row in README, row


def test_using_documents_the_korean_command_words_and_every_status_in_both_languages():
    for spec in cmd.COMMANDS:
        if spec.word:
            assert f"| `{spec.word.en}` | `{spec.word.ko}` |" in USING, spec.name
    text = _flat(USING)
    for verb in VOCABULARY.of(Kind.VERB):
        assert f"`{verb.ko}` ({verb.en})" in text, verb.en
    for status in cmd.STATUSES:
        assert f"| `{status.en}` | `{status.ko}` |" in USING, status.en


def test_using_documents_every_argument_word_in_both_languages():
    # Three columns (English, Korean, an example), so a command word's row (`on`, `날짜`) does not count.
    for word in VOCABULARY.of(Kind.ARGUMENT):
        assert f"| `{word.en}` | `{word.ko}` | " in USING, word.en


def _command_examples() -> Iterator[tuple[str, str]]:
    """Every `/pledge …` the docs write as code: where it is, and the text after `/pledge` (up to a quote
    mark, so `ask "/pledge hotline"` gives `hotline`)."""
    for where, code in _all_code():
        for rest in re.findall(r"(?<![\w/])/pledge\s+([^\"'`]+)", code):
            if rest.strip():
                yield where, rest.strip()


def _is_command_word(rest: str) -> bool:
    return VOCABULARY.prefix(Kind.COMMAND, rest) is not None


def test_every_pledge_command_word_the_docs_name_is_real(core, console_ctx):
    """A `/pledge <word>` in the docs starts with a command word (English or Korean), a placeholder, the
    Discord command's `query:` option, or it is a search: then it must find a pledge in the seed data for
    every word, with no word corrected or left out (or, with a date, list that day's items), so that an
    invented command word (`/pledge export`, `/pledge import data`) cannot pass for a search."""
    searches = []
    for where, rest in _command_examples():
        first = rest.split()[0]
        if first[0] in "<[" or first.startswith("query:") or _is_command_word(rest):
            continue
        searches.append((where, rest))
    assert searches, "the docs show searches too"
    for where, rest in searches:
        reply = core.handle(f"/pledge {rest}", console_ctx)
        # A date in a search lists that day's items, saying which year and which words filtered it.
        found = reply.items or (reply.cards and not reply.notices)
        assert found, f"{where}: `/pledge {rest}` is no command, and no search that finds a pledge"


# --- The command line ---------------------------------------------------------------------------------------


def test_cli_documents_every_command_line_subcommand():
    for name in _subcommands():
        assert f"| `pledgebot {name}" in CLI, name


def test_every_pledgebot_subcommand_the_docs_name_is_real():
    real = set(_subcommands())
    named = [
        (where, word)
        for where, code in _all_code()
        for word in re.findall(r"(?<![\w.-])pledgebot ([a-z][a-z-]*)", code)
    ]
    assert named
    for where, word in named:
        assert word in real, f"{where}: `pledgebot {word}` is not a subcommand"


# --- Configuration ------------------------------------------------------------------------------------------


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_deployment_documents_every_environment_variable_the_code_reads():
    names = _variables_config_reads()
    assert {"PLEDGEBOT_DB", "DATABASE_URL", "LANGUAGE", "LC_ALL", "LANG", "SLACK_CLIENT_ID"} <= names
    configuration = _section(DEPLOYMENT, "Configuration")
    for name in names:
        assert f"`{name}`" in configuration, name


# Upper-case code in docs/deployment.md that is not a variable's name: the values LOG_LEVEL takes, and a Slack
# user id given as an example of what SLACK_EDITORS holds.
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}
_SLACK_USER_ID = re.compile(r"[UW](?=[A-Z]*[0-9])[A-Z0-9]{2,31}")


def _variables_named(text: str, *, bare: bool) -> set[str]:
    """The environment variables a guide names in its code: `$NAME`, `NAME=…` and, with `bare`, any code span
    that is an upper-case word of three letters or more; without `bare`, only names with an underscore."""
    pattern = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*" if bare else r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
    names = set()
    for code in _code(text):
        names |= set(re.findall(rf"\$({pattern})\b", code))
        names |= set(re.findall(rf"(?:^|\s)({pattern})=", code))
        if re.fullmatch(pattern, code) and len(code) >= 3:
            names.add(code)
    return names


def test_every_environment_variable_deployment_names_is_one_the_code_reads():
    named = _variables_named(DEPLOYMENT, bare=True) - _LOG_LEVELS
    named = {name for name in named if not _SLACK_USER_ID.fullmatch(name)}
    assert "PORT" in named and "DATABASE_URL" in named
    # PORT and DATABASE_URL are set by hosts such as Heroku, and bot/config.py reads both itself, so no name
    # is excused as a host's own.
    assert named - _variables_config_reads() == set()


def test_every_environment_variable_any_guide_names_is_read_by_the_code_or_the_test_harness():
    harness = "\n".join(
        _read(path)
        for path in [*ROOT.glob("tests/**/*.py"), ROOT / "Makefile", ROOT / ".ci" / "run"]
        if path.is_file()
    )
    known = _variables_config_reads()
    for path in ALL_PATHS:
        for name in _variables_named(_read(path), bare=False):
            if name not in known:
                assert re.search(rf"\b{name}\b", harness), f"{path.name}: `{name}` is read by nothing"


# --- The README and the links -------------------------------------------------------------------------------


def test_the_readme_is_short_and_links_to_every_guide():
    assert len(README.splitlines()) < MAX_README_LINES
    assert GUIDE_PATHS
    for path in GUIDE_PATHS:
        assert f"](docs/{path.name})" in README or f"](docs/{path.name}#" in README, path.name
    for report in ("BENCHMARKS.md", "RELIABILITY.md"):
        assert f"]({report})" in README, report


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lower case, without punctuation, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", _read(path))
    slugs: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        slug, n = _slug(heading), 1
        unique = slug
        while unique in slugs:
            unique, n = f"{slug}-{n}", n + 1
        slugs.add(unique)
    return slugs


def _links(path: Path) -> Iterator[str]:
    text = _SPAN.sub("", _FENCE.sub("", _read(path)))
    yield from re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(path):
    for link in _links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", link):
            continue  # https://, mailto: …
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        assert file.exists(), f"{path.name}: {link} leads nowhere"
        if anchor and file.suffix == ".md":
            assert anchor in _anchors(file), f"{path.name}: {link} names no heading of {file.name}"


# --- The core -----------------------------------------------------------------------------------------------


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
