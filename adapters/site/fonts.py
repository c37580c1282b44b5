"""The site's web fonts: the Noto Sans CJK KR of `bot/fonts/` cut into WOFF2 slices by unicode-range.

A browser downloads a slice only when the page shows one of its characters, the way the big font services
serve CJK: Latin and punctuation in one slice, the Hangul jamo and the CJK symbols in their own, the 2,350
syllables of KS X 1001 (the common ones) in slices of 100 most used first, and the other 8,822 syllables in
slices of 400 in code point order. `python -m adapters.site.fonts` writes the slices to `static/fonts/`
(named by a hash of their bytes, so they can be cached for good) and their @font-face rules to
`static/fonts.css`, with the compressed copies of it that the site serves to browsers accepting them. All of
it is committed, so a clone serves the fonts as they are; regenerate after changing `bot/fonts/`, the slicing
or the ranking. Generating needs fontTools and brotli (the dev extra); serving needs neither.

`python -m adapters.site.fonts rank FILE...` rewrites the ranking (`hangul-frequency.txt`) by counting the
syllables of Korean text, .po or .mo files.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.cards import BOLD, REGULAR

HERE = Path(__file__).parent
SLICES = HERE / "static" / "fonts"
STYLESHEET = HERE / "static" / "fonts.css"
RANKING = HERE / "hangul-frequency.txt"
FAMILY = "Noto Sans CJK KR"
WEIGHTS = {400: REGULAR, 700: BOLD}
SYLLABLES = range(0xAC00, 0xD7A4)
JAMO = (range(0x1100, 0x1200), range(0x3130, 0x3190), range(0xA960, 0xA980), range(0xD7B0, 0xD800))
# Below the arrows: Latin, general punctuation (curly quotes, dashes, the ellipsis), currency signs (₩).
LATIN_END = 0x2200
# A Korean page shows a hundred or two of the common syllables, most of them among the most used: small
# slices keep what it downloads close to what it shows. A rare syllable (a name, a loanword) costs one
# larger slice.
COMMON_SIZE = 100
RARE_SIZE = 400
# Descriptors every rule shares. font-display: block: text waits (at most 3 s) for its slice rather than being
# laid out first in a fallback font, which Chromium without a Korean font draws as boxes.
DESCRIPTORS = "font-style:normal;font-display:block"


@dataclass(frozen=True)
class Slice:
    """Some of a font's code points, served as one file."""

    name: str
    codepoints: tuple[int, ...]


def in_ks_x_1001(codepoint: int) -> bool:
    """Whether a Hangul syllable is one of KS X 1001's 2,350 (the ones EUC-KR can encode in two bytes)."""
    try:
        return len(chr(codepoint).encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


def read_ranking(text: str) -> str:
    """The syllables of a ranking file in its order, its comment lines left out."""
    lines = (line for line in text.splitlines() if not line.startswith("#"))
    return "".join("".join(lines).split())


def plan(codepoints: Iterable[int], ranking: str) -> list[Slice]:
    """The slices of a font with these code points: each of them in exactly one slice."""
    points = set(codepoints)
    rank: dict[int, int] = {}
    for n, syllable in enumerate(ranking):
        rank.setdefault(ord(syllable), n)
    syllables = sorted(c for c in points if c in SYLLABLES)
    common = sorted((c for c in syllables if in_ks_x_1001(c)), key=lambda c: (rank.get(c, len(rank)), c))
    rare = [c for c in syllables if not in_ks_x_1001(c)]
    others = sorted(points - set(syllables))
    jamo = [c for c in others if any(c in block for block in JAMO)]
    slices = [
        Slice("latin", tuple(c for c in others if c < LATIN_END)),
        Slice("jamo", tuple(jamo)),
        Slice("symbols", tuple(c for c in others if c >= LATIN_END and c not in jamo)),
    ]
    slices += [Slice(f"common-{n:02}", part) for n, part in enumerate(_parts(common, COMMON_SIZE), 1)]
    slices += [Slice(f"rare-{n:02}", part) for n, part in enumerate(_parts(rare, RARE_SIZE), 1)]
    return [s for s in slices if s.codepoints]


def _parts(items: Sequence[int], size: int) -> Iterator[tuple[int, ...]]:
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def unicode_range(codepoints: Iterable[int]) -> str:
    """A unicode-range descriptor's value: the code points as runs (`U+AC00-AC02,U+AC05`)."""
    runs: list[list[int]] = []
    for c in sorted(codepoints):
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return ",".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in runs)


def cut(source: Path, codepoints: Iterable[int]) -> bytes:
    """The WOFF2 font of `source`'s glyphs for these code points."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff2"
    # Plain charstrings compress better under brotli than a small font's share of the subroutines.
    options.desubroutinize = True
    # Vertical metrics are for vertical writing, which the site never sets.
    options.drop_tables += ["vhea", "vmtx", "VORG"]
    # The source's own timestamp, not today's: the same inputs give the same bytes, and the same file name.
    font = TTFont(source, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()


def file_name(weight: int, piece: Slice, data: bytes) -> str:
    """A slice's file name: family, weight, slice and a hash of its bytes (a new name for new bytes)."""
    digest = hashlib.sha256(data).hexdigest()[:10]
    return f"noto-sans-cjk-kr-{weight}-{piece.name}.{digest}.woff2"


def rule(weight: int, name: str, piece: Slice) -> str:
    """The @font-face rule serving one slice."""
    return (
        f'@font-face{{font-family:"{FAMILY}";font-weight:{weight};{DESCRIPTORS};'
        f'src:url(/fonts/{name}) format("woff2");unicode-range:{unicode_range(piece.codepoints)}}}'
    )


@dataclass(frozen=True)
class Face:
    """One @font-face rule of the stylesheet: a weight, its slice's file and the code points it serves."""

    weight: int
    file: str
    codepoints: frozenset[int]


def read_stylesheet(css: str) -> list[Face]:
    """The @font-face rules of a stylesheet `generate` wrote, in order: what `rule` writes, read back."""
    faces = []
    for weight, file, ranges in re.findall(
        r"font-weight:(\d+);.*?url\(/fonts/([^)]+)\).*?unicode-range:([^}]+)}", css
    ):
        points: set[int] = set()
        for run in ranges.split(","):
            first, _, last = run.removeprefix("U+").partition("-")
            points.update(range(int(first, 16), int(last or first, 16) + 1))
        faces.append(Face(int(weight), file, frozenset(points)))
    return faces


HEADER = """\
/* Noto Sans CJK KR (SIL Open Font License 1.1, /fonts/OFL.txt) in unicode-range slices: a page downloads
   the slices of the characters it shows. Written by `python -m adapters.site.fonts`; do not edit. */
"""


def generate() -> list[tuple[str, int]]:
    """Write every weight's slices and the stylesheet; the files written, with their sizes."""
    import brotli
    from fontTools.ttLib import TTFont

    SLICES.mkdir(parents=True, exist_ok=True)
    for old in SLICES.glob("*.woff2"):
        old.unlink()
    ranking = read_ranking(RANKING.read_text(encoding="utf-8"))
    rules, written = [], []
    for weight, source in WEIGHTS.items():
        for piece in plan(TTFont(source).getBestCmap(), ranking):
            data = cut(source, piece.codepoints)
            name = file_name(weight, piece, data)
            (SLICES / name).write_bytes(data)
            rules.append(rule(weight, name, piece))
            written.append((name, len(data)))
    css = (HEADER + "\n".join(rules) + "\n").encode()
    STYLESHEET.write_bytes(css)
    # mtime 0: the same stylesheet compresses to the same bytes.
    STYLESHEET.with_suffix(".css.gz").write_bytes(gzip.compress(css, 9, mtime=0))
    STYLESHEET.with_suffix(".css.br").write_bytes(brotli.compress(css))
    return written


def count(paths: Iterable[Path]) -> collections.Counter[str]:
    """How often each Hangul syllable occurs in these files."""
    counts: collections.Counter[str] = collections.Counter()
    for path in paths:
        for text in _texts(path):
            counts.update(ch for ch in text if ord(ch) in SYLLABLES)
    return counts


def _texts(path: Path) -> Iterator[str]:
    if path.suffix != ".mo":
        yield path.read_text(encoding="utf-8", errors="replace")
        return
    from babel.messages.mofile import read_mo

    with path.open("rb") as f:
        catalog = read_mo(f)
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        yield from (s for s in strings if s)


def write_ranking(counts: collections.Counter[str], sources: Sequence[Path]) -> None:
    """Rewrite the ranking file: where it was counted, then the syllables most used first, 50 a line."""
    syllables = "".join(sorted(counts, key=lambda ch: (-counts[ch], ch)))
    folders = ", ".join(sorted({str(p.parent) for p in sources}))
    lines = [
        "# Hangul syllables, most used first (equal counts in code point order): the order of the common",
        "# syllables in the site's font slices (adapters/site/fonts.py). Counted by",
        f"# `python -m adapters.site.fonts rank` in {len(sources)} files of {folders}:",
        f"# {counts.total():,} syllables, {len(counts):,} different.",
    ]
    lines += [syllables[i : i + 50] for i in range(0, len(syllables), 50)]
    RANKING.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    """Regenerate the site's font slices and stylesheet, or (`rank FILE...`) the ranking they follow."""
    parser = argparse.ArgumentParser(prog="python -m adapters.site.fonts", description=main.__doc__)
    commands = parser.add_subparsers(dest="command")
    rank = commands.add_parser("rank", help="count the syllables of Korean text, .po or .mo files")
    rank.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "rank":
        write_ranking(count(args.files), args.files)
        return
    written = generate()
    for name, size in written:
        print(f"{size:>8,}  {name}")
    total = sum(size for _, size in written)
    print(f"{total:>8,}  in {len(written)} files; {STYLESHEET.name}: {STYLESHEET.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
