"""Dataset files (YAML, JSON, CSV) to validated, flat records, and back.

A dataset is six tables: speakers, sources, pledges, quotes, statuses and milestones. YAML and JSON files hold
any of them as top-level lists; a pledge may nest its `quotes` and `status` history, which are flattened here.
A CSV file holds one table, named by the last word of its file name (`pledges.csv`, `2026-quotes.csv`), with
list fields separated by `;`. Every record remembers where it came from, so a problem names file, line or row,
and field.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import statuses

TABLES = ("speakers", "sources", "pledges", "quotes", "statuses", "milestones")
STATUSES = statuses.VALUES
SOURCE_KINDS = (
    "platform document",
    "speech",
    "social media post",
    "news report",
    "official record",
    "interview",
    "press release",
)
TITLE_KO_BY = ("editors", "source")
# Fields a YAML or JSON file may set at its top level, beside the tables: each applies to every pledge of the
# file that does not set its own.
DATASET_FIELDS = ("title_ko_by",)
MILESTONE_KINDS = ("pledged", "election", "inauguration", "deadline", "status change", "event")
# The milestone kinds whose date is a due date: counted down to, due on it, then overdue while the pledge is
# open, by the rule of a pledge's own `due_on` (bot/reminders/occurrences.py); the others are events that
# anniversaries and day counts count from.
DUE_KINDS = ("deadline",)
SUFFIXES = (".yaml", ".yml", ".json", ".csv")

# Fields per table: (name, required, type). Types: str, list, date, datetime, bool.
SCHEMA: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "speakers": (
        ("id", True, "id"),
        ("name", True, "str"),
        ("name_ko", False, "str"),
        ("role", False, "str"),
        ("role_ko", False, "str"),
        # The office held (President / 대통령, Mayor of Seoul / 서울특별시장), the place it governs as the
        # Election Commission names it (province or metropolitan city, city/county/district, the
        # constituency), the party, and the terms of office: each a start, an end and the election that gave
        # it. All optional: datasets written before them load unchanged.
        ("office", False, "str"),
        ("office_ko", False, "str"),
        ("sido", False, "str"),
        ("sgg", False, "str"),
        ("wiw", False, "str"),
        ("party", False, "str"),
        ("party_ko", False, "str"),
        ("terms", False, "terms"),
        # Other names a page attributes the speaker's words with (a title and surname, a nickname); the
        # desk accepts a quote only beside one of the speaker's names (bot/desk/attribution.py).
        ("aliases", False, "list"),
    ),
    "sources": (
        ("id", True, "id"),
        ("kind", True, "str"),
        ("outlet", True, "str"),
        ("outlet_ko", False, "str"),
        ("headline", True, "str"),
        ("headline_ko", False, "str"),
        ("published_at", True, "datetime"),
        ("url", False, "str"),
        ("language", False, "str"),
        ("text_file", False, "str"),
        # The full text inline, as `pledgebot export` writes it: a text_file path means nothing elsewhere.
        ("text", False, "str"),
        ("note", False, "str"),
        # A snapshot's provenance, as the desk stores it: the text's SHA-256, when it was fetched, and the
        # URL the fetch ended at after redirects (`pledgebot verify` re-checks quotes against them).
        ("sha256", False, "str"),
        ("fetched_at", False, "datetime"),
        ("final_url", False, "str"),
    ),
    "pledges": (
        ("id", True, "id"),
        ("speaker", True, "str"),
        # Required unless the pledge has only its Korean title (the Election Commission's registry gives
        # no English one): it is then shown in Korean, marked "in Korean only", until one is imported
        # over it (`import --replace`).
        ("title", False, "str"),
        ("title_ko", False, "str"),
        # Who wrote the Korean title: "editors" (an editorial translation, said wherever it is shown) or
        # "source" (the source's own words). A file may set it for all its pledges at the top.
        ("title_ko_by", False, "str"),
        ("category", True, "str"),
        ("category_ko", False, "str"),
        ("summary", False, "str"),
        ("aliases", False, "list"),
        ("aliases_ko", False, "list"),
        ("pledged_on", False, "date"),
        # A deadline: a date, or a number of days after a milestone (`due: {after: <id>, days: 100}`).
        ("due_on", False, "date"),
        ("due", False, "due"),
    ),
    "quotes": (
        ("pledge", True, "str"),
        ("text", True, "str"),
        ("source", True, "str"),
        ("said_on", True, "date"),
        ("language", False, "str"),
        ("translation_of", False, "str"),
        # True for reported speech, the page's words about what was said rather than the speaker's own: shown
        # as "According to <outlet>, <speaker> said …", never in quotation marks. Absent means a direct quote.
        ("paraphrase", False, "bool"),
    ),
    "statuses": (
        ("pledge", True, "str"),
        ("status", True, "str"),
        ("date", True, "date"),
        ("source", False, "str"),
        ("note", False, "str"),
    ),
    "milestones": (
        ("id", True, "id"),
        ("date", True, "date"),
        ("kind", True, "str"),
        # Required, except for a status change that gives its `status`: its title is written when it is read
        # ("rated Kept: …", "이행 완료 평가: …"), in the reader's language (`_check_milestone`).
        ("title", False, "str"),
        ("title_ko", False, "str"),
        ("pledge", False, "str"),
        ("speaker", False, "str"),
        ("source", False, "str"),
        # The status a status change rated its pledge, as `statuses` stores it.
        ("status", False, "str"),
    ),
}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
# The longest `due: {days: N}` accepted: a century, far past any term of office, and far from date overflow.
MAX_DUE_DAYS = 36_525
_DUE_TEXT = re.compile(r"(?P<days>\d{1,9}) days? after (?P<after>\S+)")
# A term as one CSV cell: "2026-07-01/2030-06-30 local-election-2026" (ISO 8601's interval, then the
# election).
_TERM_TEXT = re.compile(r"(?P<start>[^/\s]+)/(?P<end>[^/\s]*)(?:\s+(?P<election>\S.*))?")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset, located as precisely as the file format allows."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.where}: field '{self.field}': {self.message}"
            if self.field
            else f"{self.where}: {self.message}"
        )


class DatasetError(ValueError):
    """A dataset failed validation; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the dataset:\n{shown}{more}")


@dataclass
class Record:
    """A flat row bound for one table, and where it was read."""

    table: str
    values: dict[str, Any]
    where: str
    file: str = ""


@dataclass
class Dataset:
    """Records from one or more files, with the texts of the sources they cite."""

    records: list[Record] = field(default_factory=list)
    source_texts: dict[str, str] = field(default_factory=dict)

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The values of every record of one table, in file order."""
        return [r.values for r in self.records if r.table == table]


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that records the line of each mapping, so problems can name it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay text until `parse_date` reads them: PyYAML would raise a bare ValueError on 2025-02-30, losing
# the line and field a user needs to fix it.
# (The ignore: types-PyYAML wants a callback whose first parameter is a Loader, which SafeConstructor's own
# method, called by PyYAML with the loader, is not in its stub.)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)  # type: ignore[type-var]


def data_files(folder: Path) -> list[Path]:
    """The dataset files directly in `folder`, in a stable order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def fingerprint(paths: Iterable[Path]) -> str:
    """A digest of file names and contents (and the source texts they cite), to know when to reload."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0")
        _hash_file(digest, path)
        digest.update(b"\0")
        sources = path.parent / "sources"
        if sources.is_dir():
            for text in sorted(sources.iterdir()):
                digest.update(text.name.encode() + b"\0")
                _hash_file(digest, text)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    _hash_file(digest, path)
    return digest.hexdigest()


def _hash_file(digest: Any, path: Path) -> None:
    # In blocks: a large dataset read whole would set the serving process's peak memory at every start.
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)


def _parse(path: Path) -> Iterator[Record]:
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8-sig")
    if suffix == ".csv":
        yield from _parse_csv(path, text)
        return
    try:
        document = json.loads(text) if suffix == ".json" else yaml.load(text, Loader=_LineLoader)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else getattr(error, "lineno", "?")
        raise DatasetError([Problem(f"{path}:{line}", "", f"not valid {suffix[1:].upper()}")]) from None
    if document is None:
        return
    if not isinstance(document, dict):
        raise DatasetError([Problem(str(path), "", f"expected a mapping with any of: {', '.join(TABLES)}")])
    unknown = [k for k in document if k not in TABLES and k not in DATASET_FIELDS and k != "__line__"]
    if unknown:
        expected = ", ".join((*TABLES, *DATASET_FIELDS))
        problem = Problem(str(path), unknown[0], f"unknown table or field; expected one of {expected}")
        raise DatasetError([problem])
    for table in TABLES:
        rows = document.get(table) or []
        if not isinstance(rows, list):
            raise DatasetError([Problem(str(path), table, "must be a list")])
        for index, row in enumerate(rows):
            where = _where(path, row, index, table)
            if not isinstance(row, dict):
                raise DatasetError([Problem(where, "", "each entry must be a mapping of field: value")])
            row = dict(row)
            if table == "pledges":
                for name in DATASET_FIELDS:
                    if name in document:
                        row.setdefault(name, document[name])
            yield from _flatten(table, row, where, path)


def _where(path: Path, row: Any, index: int, table: str) -> str:
    line = row.get("__line__") if isinstance(row, dict) else None
    return f"{path}:{line}" if line else f"{path} {table}[{index}]"


def _flatten(table: str, row: dict[str, Any], where: str, path: Path) -> Iterator[Record]:
    row.pop("__line__", None)
    if table == "pledges":
        for key, child in (("quotes", "quotes"), ("status", "statuses")):
            nested = row.pop(key, None) or []
            if not isinstance(nested, list):
                raise DatasetError([Problem(where, key, "must be a list")])
            for index, item in enumerate(nested):
                child_where = _where(path, item, index, f"{key}")
                if not isinstance(item, dict):
                    raise DatasetError([Problem(child_where, key, "each entry must be a mapping")])
                item = dict(item)
                item.pop("__line__", None)
                item.setdefault("pledge", row.get("id"))
                yield Record(child, item, child_where, path.name)
    yield Record(table, row, where, path.name)


def _parse_csv(path: Path, text: str) -> Iterator[Record]:
    stem = re.split(r"[-_. ]", path.stem.lower())[-1]
    table = {"status": "statuses"}.get(stem, stem)
    if table not in TABLES:
        raise DatasetError(
            [
                Problem(
                    str(path),
                    "",
                    f"a CSV file's name must end in one of {', '.join(TABLES)} (e.g. pledges.csv)",
                )
            ]
        )
    reader = csv.DictReader(io.StringIO(text))
    lists = {name for name, _, kind in SCHEMA[table] if kind == "list"}
    for row in reader:
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if table == "sources" and (row.get("text") or "").strip():
            # A source's text is its snapshot, kept exactly as written (its final line break too): stripped,
            # an exported catalogue would no longer match the one it came from.
            values["text"] = row["text"]
        for name in lists:
            if name in values:
                values[name] = [part.strip() for part in values[name].split(";") if part.strip()]
        # CSV rows are numbered as a spreadsheet shows them: the header is row 1.
        yield Record(
            table,
            {k: v for k, v in values.items() if v not in ("", [])},
            f"{path} row {reader.line_num}",
            path.name,
        )


def _validate(
    dataset: Dataset,
    known: dict[str, set[str]],
    known_sources: dict[str, dt.date] | None = None,
    known_pledges: dict[str, dt.date | None] | None = None,
    known_milestones: dict[str, dt.date] | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, dict[str, str]] = {t: {} for t in TABLES}
    for record in dataset.records:
        problems.extend(_coerce(record))
        key = _key(record)
        if key is None:
            continue
        if key in seen[record.table]:
            problems.append(
                Problem(record.where, "id", f"duplicate id '{key}' (first at {seen[record.table][key]})")
            )
        else:
            seen[record.table][key] = record.where
    if problems:
        return problems

    def ids(table: str) -> set[str]:
        return set(seen[table]) | known.get(table, set())

    speakers, sources, pledges = ids("speakers"), ids("sources"), ids("pledges")
    for record in dataset.records:
        v = record.values
        refs = {
            "speaker": speakers,
            "source": sources,
            "translation_of": sources,
            "pledge": pledges,
        }
        for name, pool in refs.items():
            if v.get(name) and v[name] not in pool:
                problems.append(
                    Problem(record.where, name, f"'{v[name]}' does not match any {name.split('_')[0]} id")
                )
        problems.extend(_check_vocabulary(record))
        problems.extend(_check_milestone(record))
    problems.extend(_check_quotes(dataset))
    problems.extend(_check_dates(dataset, known_sources or {}, known_pledges or {}))
    problems.extend(_check_dues(dataset, known_milestones or {}))
    return problems


def milestone_dates(dataset: Dataset, known: dict[str, dt.date]) -> dict[str, dt.date]:
    """The date of every milestone a `due` rule may follow: the catalogue's, then these files' own, including
    the `pledged-<id>` milestone a pledge's `pledged_on` makes."""
    dates = dict(known)
    for pledge in dataset.rows("pledges"):
        if pledge.get("pledged_on"):
            dates[f"pledged-{pledge['id']}"] = pledge["pledged_on"]
    dates.update({m["id"]: m["date"] for m in dataset.rows("milestones")})
    return dates


def due_problem(record: Record, milestone_date: Callable[[str], dt.date | None]) -> Problem | None:
    """What is wrong with a pledge's deadline: both forms given, a `due` rule after no milestone, or a due
    date before the pledge was made. `milestone_date` looks up a milestone's date (None when unknown)."""
    v = record.values
    if record.table != "pledges":
        return None
    if "due_on" in v and "due" in v:
        return Problem(record.where, "due", "give either due_on or due, not both")
    if "due" in v:
        after = v["due"]["after"]
        origin = milestone_date(after)
        if origin is None:
            return Problem(record.where, "due", f"after: '{after}' does not match any milestone id")
        due, name = due_date(v["due"], origin), "due"
    elif "due_on" in v:
        due, name = v["due_on"], "due_on"
    else:
        return None
    pledged = v.get("pledged_on")
    if pledged is not None and due < pledged:
        return Problem(record.where, name, f"due date {due} is before the pledge was pledged on {pledged}")
    return None


def _check_dues(dataset: Dataset, known_milestones: dict[str, dt.date]) -> list[Problem]:
    dates = milestone_dates(dataset, known_milestones)
    problems = []
    for record in dataset.records:
        problem = due_problem(record, dates.get)
        if problem is not None:
            problems.append(problem)
    return problems


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def date_problem(
    record: Record,
    published_at: Callable[[str], dt.date | None],
    pledged_on: Callable[[str], dt.date | None],
) -> Problem | None:
    """A quote said after its source was published, or a status dated before its pledge was made.

    `published_at` and `pledged_on` look up the source's or pledge's date (None when not known)."""
    v = record.values
    if record.table == "quotes":
        published = published_at(v["source"])
        if published is not None and v["said_on"] > _day(published):
            return Problem(
                record.where,
                "said_on",
                f"said_on {v['said_on']} is after its source '{v['source']}' was published on "
                f"{_day(published)}",
            )
    elif record.table == "statuses":
        pledged = pledged_on(v["pledge"])
        if pledged is not None and v["date"] < pledged:
            return Problem(
                record.where,
                "date",
                f"date {v['date']} is before its pledge '{v['pledge']}' was pledged on {pledged}",
            )
    return None


def _check_dates(
    dataset: Dataset, known_sources: dict[str, dt.date], known_pledges: dict[str, dt.date | None]
) -> list[Problem]:
    """Dates against the records they cite: these files' own first, then the catalogue's."""
    published = dict(known_sources)
    published.update({s["id"]: s["published_at"] for s in dataset.rows("sources")})
    pledged = dict(known_pledges)
    pledged.update({p["id"]: p.get("pledged_on") for p in dataset.rows("pledges")})
    problems = []
    for record in dataset.records:
        problem = date_problem(record, published.get, pledged.get)
        if problem is not None:
            problems.append(problem)
    return problems


def _key(record: Record) -> str | None:
    if record.table in ("quotes", "statuses"):
        return None
    value = record.values.get("id")
    return value if isinstance(value, str) else None


def _check_vocabulary(record: Record) -> list[Problem]:
    v, table = record.values, record.table
    checks = {
        "statuses": ("status", STATUSES),
        "sources": ("kind", SOURCE_KINDS),
        "milestones": ("kind", MILESTONE_KINDS),
    }
    if table in checks:
        name, allowed = checks[table]
        if v.get(name) not in allowed:
            return [Problem(record.where, name, f"'{v.get(name)}' is not one of: {', '.join(allowed)}")]
    if table == "pledges" and not v.get("title") and not v.get("title_ko"):
        return [Problem(record.where, "title", "is required (or title_ko, for a pledge in Korean only)")]
    if table == "pledges" and v.get("title_ko_by") not in (None, "", *TITLE_KO_BY):
        choices = ", ".join(TITLE_KO_BY)
        return [Problem(record.where, "title_ko_by", f"'{v.get('title_ko_by')}' is not one of: {choices}")]
    return []


def _check_milestone(record: Record) -> list[Problem]:
    """A milestone's title, required unless it is a status change that gives its status, and its status,
    which only a status change has and must be on the scale."""
    v = record.values
    if record.table != "milestones":
        return []
    problems = []
    rating = v.get("kind") == "status change"
    if not v.get("title") and not (rating and v.get("status")):
        problems.append(Problem(record.where, "title", "is required"))
    if "status" in v:
        if not rating:
            problems.append(Problem(record.where, "status", "only a status change milestone has a status"))
        elif v["status"] not in STATUSES:
            allowed = ", ".join(STATUSES)
            problems.append(Problem(record.where, "status", f"'{v['status']}' is not one of: {allowed}"))
    return problems


def _check_quotes(dataset: Dataset) -> list[Problem]:
    """Every quote must appear letter for letter in the text of its source, when we hold that text."""
    problems = []
    for record in dataset.records:
        if record.table != "quotes":
            continue
        text = dataset.source_texts.get(record.values["source"])
        if text is not None and record.values["text"] not in text:
            problems.append(Problem(record.where, "text", "quote is not found verbatim in its source text"))
    return problems


def _coerce(record: Record) -> list[Problem]:
    """Check fields against the schema and convert them in place to their Python types."""
    problems = []
    spec = SCHEMA[record.table]
    allowed = {name for name, _, _ in spec}
    for name in record.values:
        if name not in allowed:
            problems.append(Problem(record.where, name, f"unknown field for {record.table}"))
    for name, required, kind in spec:
        value = record.values.get(name)
        if value is None or value == "" or value == []:
            record.values.pop(name, None)
            if required:
                problems.append(Problem(record.where, name, "is required"))
            continue
        try:
            record.values[name] = _convert(value, kind)
        except ValueError as error:
            problems.append(Problem(record.where, name, str(error)))
    return problems


def _convert(value: Any, kind: str) -> Any:
    if kind == "id":
        value = str(value).strip()
        if not _ID.match(value):
            raise ValueError(f"'{value}' is not a valid id (lowercase letters, digits and '-', up to 80)")
        return value
    if kind == "str":
        if not isinstance(value, str | int | float):
            raise ValueError("must be text")
        return str(value).strip()
    if kind == "list":
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(i, str | int | float) for i in items):
            raise ValueError("must be a list of text")
        return [str(i).strip() for i in items if str(i).strip()]
    if kind == "date":
        return parse_date(value)
    if kind == "due":
        return parse_due(value)
    if kind == "datetime":
        return parse_datetime(value)
    if kind == "terms":
        return parse_terms(value)
    if kind == "bool":
        return parse_bool(value)
    raise AssertionError(kind)


def is_id(text: str) -> bool:
    """Whether `text` is a valid record id (lowercase letters, digits and '-', up to 80)."""
    return bool(_ID.match(text))


def parse_bool(value: Any) -> bool:
    """A yes or no: YAML and JSON booleans, 1 and 0, or true/false, yes/no as a CSV cell writes them."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise ValueError(f"'{text[:40]}' is not true or false")


def parse_date(value: Any) -> dt.date:
    """A calendar date from a YAML date or an ISO `YYYY-MM-DD` string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"'{text}' is not a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a real calendar date") from None


def parse_due(value: Any) -> dict[str, Any]:
    """A `due` rule, `{after: <milestone id>, days: N}`, with N a whole number of days from 1.

    A CSV cell holds the same rule as text, "100 days after inauguration-2025", as `due_text` writes it."""
    if isinstance(value, str) and (words := _DUE_TEXT.fullmatch(value.strip())):
        value = {"after": words["after"], "days": int(words["days"])}
    if not isinstance(value, dict):
        raise ValueError(
            "must be a mapping such as {after: inauguration-2025, days: 100} (in CSV: 100 days after "
            "inauguration-2025)"
        )
    rule = {k: v for k, v in value.items() if k != "__line__"}
    unknown = sorted(set(rule) - {"after", "days"})
    if unknown:
        raise ValueError(f"unknown key '{unknown[0]}'; a due rule has only 'after' and 'days'")
    after, days = rule.get("after"), rule.get("days")
    if not isinstance(after, str) or not _ID.match(after.strip()):
        raise ValueError(f"after: {after!r} is not a milestone id")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DUE_DAYS:
        raise ValueError(f"days: {days!r} is not a whole number of days from 1 to {MAX_DUE_DAYS:,}")
    return {"after": after.strip(), "days": days}


def parse_terms(value: Any) -> list[dict[str, Any]]:
    """A speaker's terms of office, oldest first: each `{start, end, election}` with `end` and `election`
    optional. A CSV cell holds them as text, "2026-07-01/2030-06-30 local-election-2026", `;` between terms,
    as `terms_text` writes them."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(";") if part.strip()]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("must be a list of terms, each {start: YYYY-MM-DD, end: YYYY-MM-DD, election: ...}")
    terms = []
    for item in value:
        if isinstance(item, str):
            words = _TERM_TEXT.fullmatch(item)
            if words is None:
                raise ValueError(f"'{item}' is not a term such as 2026-07-01/2030-06-30 local-election-2026")
            item = {k: v for k, v in words.groupdict().items() if v}
        if not isinstance(item, dict):
            raise ValueError("each term must be a mapping of start, end and election")
        term = {k: v for k, v in item.items() if k != "__line__"}
        unknown = sorted(set(term) - {"start", "end", "election"})
        if unknown:
            raise ValueError(f"unknown key '{unknown[0]}'; a term has only 'start', 'end' and 'election'")
        if "start" not in term:
            raise ValueError("a term needs its start (the first day in office)")
        parsed: dict[str, Any] = {"start": parse_date(term["start"])}
        if term.get("end") not in (None, ""):
            parsed["end"] = parse_date(term["end"])
            if parsed["end"] < parsed["start"]:
                raise ValueError(f"a term ends ({parsed['end']}) before it starts ({parsed['start']})")
        if term.get("election") not in (None, ""):
            parsed["election"] = str(term["election"]).strip()
        terms.append(parsed)
    return sorted(terms, key=lambda t: t["start"])


def terms_text(terms: list[dict[str, Any]]) -> str:
    """A speaker's terms as one CSV cell."""
    return "; ".join(
        f"{t['start']}/{t.get('end', '')}" + (f" {t['election']}" if t.get("election") else "") for t in terms
    )


def due_text(rule: dict[str, Any]) -> str:
    """A `due` rule as one CSV cell."""
    return f"{rule['days']} days after {rule['after']}"


def due_date(rule: dict[str, Any], milestone_date: dt.date) -> dt.date:
    """The day a `due` rule falls on: day `days` counting the milestone's own day as day 1, like the day
    counts (100 days after a 2025-06-04 inauguration is 2025-09-11)."""
    return milestone_date + dt.timedelta(days=rule["days"] - 1)


def parse_datetime(value: Any) -> dt.datetime | dt.date:
    """A date-time with its offset, or a bare date when only the day is known."""
    if isinstance(value, dt.datetime | dt.date):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return parse_date(text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date-time such as 2025-05-26T11:09:00+09:00") from None
    if parsed.tzinfo is None:
        raise ValueError(f"'{text}' needs a UTC offset, such as +09:00")
    return parsed


def attach_source_texts(dataset_paths: Iterable[Path], dataset: Dataset) -> None:
    """Read the text files that sources cite (relative to their dataset file) for the verbatim check."""
    folders = {p.parent for p in dataset_paths}
    for source in dataset.rows("sources"):
        if source.get("text"):
            dataset.source_texts[source["id"]] = source.pop("text")
            continue
        candidate = _source_text_path(folders, source.get("text_file"))
        if candidate is not None:
            try:
                dataset.source_texts[source["id"]] = candidate.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise DatasetError([not_utf8(candidate, error)]) from None


def not_utf8(path: Path, error: UnicodeDecodeError) -> Problem:
    """The problem of a file that is not UTF-8: most often a spreadsheet saved by Excel in cp949 (EUC-KR),
    which cannot be told from other encodings for certain, so it is refused with what to do, never guessed."""
    return Problem(
        str(path),
        "",
        f"is not UTF-8 text (byte {error.start + 1} cannot be read); it may have been saved as cp949/EUC-KR, "
        "as Excel saves Korean text: save it as UTF-8 (in Excel, Save As → CSV UTF-8) and try again",
    )


def _source_text_path(folders: Iterable[Path], name: Any) -> Path | None:
    """The file a source's `text_file` names, in one of the dataset folders and not outside it."""
    if not name:
        return None
    for folder in folders:
        candidate = (folder / name).resolve()
        if candidate.is_file() and folder.resolve() in candidate.parents:
            return candidate
    return None


def load(
    paths: list[Path],
    *,
    known_ids: dict[str, set[str]] | None = None,
    known_texts: dict[str, str] | None = None,
    known_sources: dict[str, dt.date] | None = None,
    known_pledges: dict[str, dt.date | None] | None = None,
    known_milestones: dict[str, dt.date] | None = None,
) -> Dataset:
    """Read, attach source texts, and validate: the one way files become a dataset.

    `known_ids` and `known_texts` describe what the database already holds, so an imported file may cite a
    speaker or source loaded earlier; `known_sources` (id → published_at) and `known_pledges` (id →
    pledged_on) let a quote's or status's date be checked against a source or pledge already there, and
    `known_milestones` (id → date) a pledge's `due` rule against a milestone already there.
    """
    dataset = Dataset(source_texts=dict(known_texts or {}))
    # Parse first without validation so that source texts are known when quotes are checked.
    problems: list[Problem] = []
    for path in paths:
        try:
            dataset.records.extend(_parse(path))
        except DatasetError as error:
            problems.extend(error.problems)
        except UnicodeDecodeError as error:
            problems.append(not_utf8(path, error))
        except OSError as error:
            problems.append(Problem(str(path), "", f"cannot read the file ({error.__class__.__name__})"))
    if problems:
        raise DatasetError(problems)
    attach_source_texts(paths, dataset)
    problems = _validate(dataset, known_ids or {}, known_sources, known_pledges, known_milestones)
    if problems:
        raise DatasetError(problems)
    return dataset


def validate(
    dataset: Dataset,
    *,
    known_ids: dict[str, set[str]] | None = None,
    known_sources: dict[str, dt.date] | None = None,
    known_pledges: dict[str, dt.date | None] | None = None,
    known_milestones: dict[str, dt.date] | None = None,
) -> None:
    """Every check `load` makes, for records built in memory (the NEC importer's, `bot/nec.py`): raises
    `DatasetError` with every problem."""
    problems = _validate(dataset, known_ids or {}, known_sources, known_pledges, known_milestones)
    if problems:
        raise DatasetError(problems)


class Unchecked(Exception):
    """`Stream` met a problem, or a shape it leaves to `load`; `load` then names every problem exactly."""


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _JsonReader:
    """Reads a JSON file a value at a time, holding one block of text rather than the whole document."""

    def __init__(self, handle: Any):
        self.handle = handle
        self.text = ""
        self.pos = 0
        self.eof = False

    def _more(self) -> bool:
        if self.eof:
            return False
        block = self.handle.read(1 << 20)
        if not block:
            self.eof = True
            return False
        self.text = self.text[self.pos :] + block
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace, or "" at the end of the file."""
        while True:
            # A starred pattern always matches (typeshed's `match` is Optional for every pattern).
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._more():
                return ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise Unchecked
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except ValueError:
                # Most often a value cut by the end of the block: read on. Invalid JSON is left to `load`.
                if self._more():
                    continue
                raise Unchecked from None
            if end == len(self.text) and self._more():
                continue  # a number may go on in the next block
            self.pos = end
            return value


def _stream_json(path: Path) -> Iterator[Record]:
    """The records `_parse` gives for a JSON file, read as a stream: for the usual shape only (an object whose
    keys are tables in `TABLES` order, each a list of mappings). Anything else raises `Unchecked`."""
    with path.open(encoding="utf-8-sig") as handle:
        reader = _JsonReader(handle)
        reader.take("{")
        last = -1
        if reader.peek() == "}":
            reader.pos += 1
        else:
            while True:
                table = reader.value()
                if not isinstance(table, str) or table not in TABLES or TABLES.index(table) <= last:
                    raise Unchecked
                last = TABLES.index(table)
                reader.take(":")
                reader.take("[")
                index = 0
                if reader.peek() == "]":
                    reader.pos += 1
                else:
                    while True:
                        row = reader.value()
                        if not isinstance(row, dict):
                            raise Unchecked
                        yield from _flatten(table, row, _where(path, row, index, table), path)
                        index += 1
                        char = reader.peek()
                        reader.pos += 1
                        if char == "]":
                            break
                        if char != ",":
                            raise Unchecked
                char = reader.peek()
                reader.pos += 1
                if char == "}":
                    break
                if char != ",":
                    raise Unchecked
        if reader.peek() != "":
            raise Unchecked


_REFERENCES = (
    ("speaker", "speakers"),
    ("source", "sources"),
    ("translation_of", "sources"),
    ("pledge", "pledges"),
)


class Stream:
    """The records `load` would return, read, converted and checked one at a time: for large loads.

    It is conservative: on any problem (or an unusual shape, such as JSON keys out of table order) it raises
    `Unchecked`, and the caller discards what it wrote and runs `load`, which reports the problems with the
    exact messages. References to records further on, and quotes whose source comes later, are checked at
    `finish`. Only for a load that cites nothing already in the database (no known ids or texts).
    """

    def __init__(
        self,
        paths: list[Path],
        text_cache_chars: int = 8_000_000,
        *,
        known_ids: dict[str, set[str]] | None = None,
        known_text: Callable[[str], str | None] | None = None,
        known_sources: dict[str, dt.date] | None = None,
        known_pledges: dict[str, dt.date | None] | None = None,
        known_milestones: dict[str, dt.date] | None = None,
    ):
        # What the catalogue holds (for imports): references to it are checked at once; a file that then
        # defines one of the records a check used goes to `load`, which reads every file first.
        self.known_ids = known_ids or {}
        self.known_text = known_text or (lambda source: None)
        self.known_sources = known_sources or {}
        self.known_pledges = known_pledges or {}
        self.known_milestones = known_milestones or {}
        self.used_known: set[tuple[str, str]] = set()
        self.paths = paths
        self.folders = {p.parent for p in paths}
        self.ids: dict[str, set[str]] = {t: set() for t in TABLES}
        self.pending: dict[str, set[str]] = {t: set() for t in TABLES}
        self.text_paths: dict[str, Path | None] = {}
        self.pending_quotes: list[tuple[str, str]] = []
        self.published: dict[str, dt.date] = {}
        self.pledged: dict[str, dt.date | None] = {}
        self.pending_dates: list[Record] = []
        # The milestones read so far; a pledge's `pledged-<id>` milestone is read from `pledged`, not kept
        # twice (at 100k pledges a second copy cost some 15 MB). A deadline whose milestone has not been read
        # yet (milestones come after pledges in a file) is checked at `finish`, the others at once.
        self.milestones: dict[str, dt.date] = {}
        self.pending_dues: list[Record] = []
        self._texts: dict[str, str] = {}
        self._cached = 0
        self._limit = text_cache_chars
        self.count = 0

    def __iter__(self) -> Iterator[Record]:
        for path in self.paths:
            try:
                records = _stream_json(path) if path.suffix.lower() == ".json" else _parse(path)
                for record in records:
                    self._check(record)
                    self.count += 1
                    yield record
            except (DatasetError, OSError, UnicodeDecodeError) as error:
                raise Unchecked from error

    def text(self, source: str) -> str | None:
        """The text of a source already read, from a small cache or its file."""
        text = self._texts.get(source)
        if text is None:
            path = self.text_paths.get(source)
            if path is None:
                return None if source in self.text_paths else self.known_text(source)
            text = path.read_text(encoding="utf-8")
            while self._texts and self._cached + len(text) > self._limit:
                self._cached -= len(self._texts.pop(next(iter(self._texts))))
            self._texts[source] = text
            self._cached += len(text)
        return text

    def finish(self) -> None:
        """The checks that had to wait for the whole dataset."""
        for table, values in self.pending.items():
            if values - self.ids[table] - self.known_ids.get(table, set()):
                raise Unchecked
        for source, quote in self.pending_quotes:
            text = self.text(source)
            if text is not None and quote not in text:
                raise Unchecked
        self.pending_quotes = []

        def published(source: str) -> dt.date | None:
            return self.published[source] if source in self.published else self.known_sources.get(source)

        def pledged(pledge: str) -> dt.date | None:
            return self.pledged[pledge] if pledge in self.pledged else self.known_pledges.get(pledge)

        for record in self.pending_dates:
            if date_problem(record, published, pledged) is not None:
                raise Unchecked
        self.pending_dates = []

        def milestone(key: str) -> dt.date | None:
            own = self._milestone(key)
            return own if own is not None else self.known_milestones.get(key)

        for record in self.pending_dues:
            if due_problem(record, milestone) is not None:
                raise Unchecked
        self.pending_dues = []

    def _milestone(self, key: str) -> dt.date | None:
        """The date of a milestone these files define (so far), their pledges' `pledged-<id>` included."""
        if key in self.milestones:
            return self.milestones[key]
        if key.startswith("pledged-"):
            return self.pledged.get(key[len("pledged-") :])
        return None

    def _check(self, record: Record) -> None:
        v, table = record.values, record.table
        raw_id, raw_file = v.get("id"), v.get("text_file")
        if _coerce(record) or _check_vocabulary(record) or _check_milestone(record):
            raise Unchecked
        key = _key(record)
        if key is not None:
            if key in self.ids[table] or (table, key) in self.used_known:
                raise Unchecked
            self.ids[table].add(key)
        if table == "sources":
            self.published[v["id"]] = v["published_at"]
        elif table == "pledges":
            self.pledged[v["id"]] = v.get("pledged_on")
            if "due" in v and self._milestone(v["due"]["after"]) is None:
                # Only the fields the check reads.
                self.pending_dues.append(
                    Record(table, {k: v[k] for k in ("due", "due_on", "pledged_on") if k in v}, record.where)
                )
            elif due_problem(record, self._milestone) is not None:
                raise Unchecked
        elif table == "milestones":
            self.milestones[v["id"]] = v["date"]
        elif table in ("quotes", "statuses"):
            ref = v["source"] if table == "quotes" else v["pledge"]
            own, known = (
                (self.published, self.known_sources)
                if table == "quotes"
                else (self.pledged, self.known_pledges)
            )
            if ref in own or ref in known:
                if ref not in own:
                    self.used_known.add(("sources" if table == "quotes" else "pledges", ref))
                published = self.published if ref in own else self.known_sources
                pledged = self.pledged if ref in own else self.known_pledges
                if date_problem(record, published.get, pledged.get) is not None:
                    raise Unchecked
            else:
                # Only the fields the check reads: a status comes before its pledge in a nested file.
                self.pending_dates.append(
                    Record(
                        table,
                        {k: v[k] for k in ("source", "pledge", "said_on", "date") if k in v},
                        record.where,
                    )
                )
        for name, pool in _REFERENCES:
            value = v.get(name)
            if value and value not in self.ids[pool]:
                self.pending[pool].add(value)
        if table == "sources":
            # `attach_source_texts` reads the fields as written; keep to sources where that is the same, and
            # leave inline texts (exports) to the exact path.
            if (
                "text" in v
                or key is None
                or raw_id != key
                or not (raw_file is None or (isinstance(raw_file, str) and raw_file == v.get("text_file")))
            ):
                raise Unchecked
            self.text_paths[key] = _source_text_path(self.folders, raw_file)
        elif table == "quotes":
            if v["source"] in self.text_paths:
                text = self.text(v["source"])
                if text is not None and v["text"] not in text:
                    raise Unchecked
            elif (held := self.known_text(v["source"])) is not None:
                self.used_known.add(("sources", v["source"]))
                if v["text"] not in held:
                    raise Unchecked
            else:
                self.pending_quotes.append((v["source"], v["text"]))
