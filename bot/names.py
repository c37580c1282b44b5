"""Names of countries and institutions, as data: CLDR's territory names in English and Korean (through
Babel), joined with a small curated table (data/search/names.yaml) of what no standard list has:
abbreviations, demonyms, capitals standing for their governments, variant spellings and institutions.

The search expands a query naming any form of a group to every form, as it does the synonym table, and never
corrects a word of a known name. Built once per process (about 30 ms, most of it Babel reading its locale
data): `Searcher` asks for it when it is made, at start-up.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml
from babel import Locale

NAMES_FILE = Path(__file__).resolve().parent.parent / "data" / "search" / "names.yaml"
# CLDR codes that are no place a pledge names: the unknown region and the pseudo-regions for testing.
_NOT_PLACES = frozenset(["ZZ", "XA", "XB", "QO", "EZ"])
# CLDR's Korean names qualify some places in parentheses ("홍콩(중국 특별행정구)"); the bare name is the one
# a reader types.
_QUALIFIED = re.compile(r"\s*\(.*\)\s*$")


def territory_names() -> dict[str, list[str]]:
    """Each CLDR region code (two letters, and EU and UN) to its English and Korean names."""
    english, korean = Locale("en").territories, Locale("ko").territories
    out: dict[str, list[str]] = {}
    for code, name in english.items():
        if len(code) != 2 or not code.isalpha() or code in _NOT_PLACES:
            continue
        forms = [name, _QUALIFIED.sub("", korean.get(code, ""))]
        out[code] = list(dict.fromkeys(f for f in forms if f))
    return out


def load_table(path: Path = NAMES_FILE) -> list[dict]:
    """The curated table's entries ({code?, forms, reason}), [] when the file is absent."""
    if not path.is_file():
        return []
    return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("names", []))


@functools.lru_cache(maxsize=4)
def name_groups(path: Path = NAMES_FILE) -> tuple[tuple[str, ...], ...]:
    """Every name group: a country's CLDR names with its curated forms, then each curated institution."""
    groups = {code: list(forms) for code, forms in territory_names().items()}
    extra: list[list[str]] = []
    for entry in load_table(path):
        forms = [str(f) for f in entry["forms"]]
        code = entry.get("code")
        if code:
            groups.setdefault(code, []).extend(forms)
        else:
            extra.append(forms)
    out = [*groups.values(), *extra]
    # A form in two groups would join them silently; each form stays in the first group that has it.
    seen: set[str] = set()
    unique = []
    for group in out:
        kept = [f for f in dict.fromkeys(group) if f.lower() not in seen]
        seen.update(f.lower() for f in kept)
        if len(kept) > 1:
            unique.append(tuple(kept))
    return tuple(unique)
