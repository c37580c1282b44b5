"""Whether words on a page are the speaker's own: inside quotation marks, and attributed to the speaker.

Being on the page is not enough: a reporter's sentence ("The ministry said the first call lasted about two
minutes") and indirect speech ("he would push to reopen the liaison office") are on the page too, and shown
in quotation marks they would put words in the speaker's mouth. So a direct quote must stand inside a pair
of the usual English or Korean quotation marks ("…" “…” ‘…’ '…' 「…」 『…』, the page's own, mixed as pages
mix them), and the speaker must be named (their name, a part of it, their Korean name, an alias, or a Korean
surname with a title such as 이 후보) in the sentence that holds the words or the one before it, which is how
news writing attributes a quote ("…," Lee said. / Lee wrote: "…"). Anything else may be recorded only as a
paraphrase, reported speech that is never shown in quotation marks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# Double marks are paired in order within a paragraph (pages open with one kind and close with another);
# single marks only where they open and close a phrase, so that an apostrophe (Korea's) is not a quote.
_DOUBLE = re.compile('["“”„‟″«»]')
_SINGLE = re.compile(r"(?:(?<=^)|(?<=[\s(\[\"“”—–-]))['‘‚‛](?=\S)(?P<inner>.+?)(?<=\S)['’](?![\w])")
_CORNERS = re.compile(r"「[^」]*」|『[^』]*』|《[^》]*》")
# Where a sentence ends (a closing mark or bracket may follow the stop), and the marks a quote's words may
# be given with.
_SENTENCE_END = re.compile(r"[.!?。？！…]+['\"”’」』)\]]*(?=\s|$)")
_EDGE_MARKS = "\"'“”‘’„‟‚‛「」『』《》«» "
# Titles a Korean article attributes a quote with after the surname (이 후보는 …라고 말했다).
_KOREAN_TITLES = "후보|대통령|대표|의원|장관|총리|시장|지사|위원장|당선인|전 대통령|전 대표"


class Problem(StrEnum):
    """Why words on the page are not the speaker's direct quote."""

    NOT_QUOTED = "not quoted"
    NOT_ATTRIBUTED = "not attributed"


@dataclass(frozen=True)
class Speaker:
    """The names a page may attribute a quote with."""

    name: str
    name_ko: str | None = None
    aliases: tuple[str, ...] = ()

    def patterns(self) -> list[re.Pattern[str]]:
        """A pattern for each way of naming the speaker: the whole name, each part of it of three letters
        or more (Lee, Jae-myung), the Korean name, its surname with a title, and every alias."""
        names = {self.name, *self.aliases, *(p for p in re.split(r"\s+", self.name) if len(p) >= 3)}
        found = [re.compile(rf"(?<!\w){re.escape(n)}(?!\w)", re.IGNORECASE) for n in names if n.strip()]
        if self.name_ko:
            found.append(re.compile(re.escape(self.name_ko)))
            found.append(re.compile(rf"(?<!\w){re.escape(self.name_ko[0])}\s?(?:{_KOREAN_TITLES})"))
        return found


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _quoted_spans(paragraph: str) -> list[tuple[int, int]]:
    """The (start, end) of each stretch of the paragraph inside quotation marks, marks excluded; a double
    mark left open runs to the paragraph's end (news style opens each paragraph of a long quote)."""
    spans = []
    marks = [m.start() for m in _DOUBLE.finditer(paragraph)]
    for i in range(0, len(marks), 2):
        end = marks[i + 1] if i + 1 < len(marks) else len(paragraph)
        spans.append((marks[i] + 1, end))
    spans += [(m.start("inner"), m.end("inner")) for m in _SINGLE.finditer(paragraph)]
    spans += [(m.start() + 1, m.end() - 1) for m in _CORNERS.finditer(paragraph)]
    return spans


def _find(words: str, paragraph: str) -> tuple[int, int] | None:
    """Where the words stand in the paragraph, white space and the kind of quote mark aside."""
    tokens = words.split()
    if not tokens:
        return None
    pattern = r"\s+".join(
        "".join('["“”„‟″]' if c in '"“”„‟″' else "['‘’‚‛′]" if c in "'‘’‚‛′" else re.escape(c) for c in token)
        for token in tokens
    )
    match = re.search(pattern, paragraph)
    return (match.start(), match.end()) if match else None


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """From the start of the sentence before the one where the quotation opens (at `start`) to the end of
    the sentence where it closes (at `end`): a quote's closing words ("…," Lee said.) are its sentence's.
    A paragraph break ends a sentence too, so the sentence before may close the previous paragraph."""
    stops = [m.end() for m in _SENTENCE_END.finditer(text)] + [m.start() for m in re.finditer("\n", text)]
    before = sorted({s for s in stops if s <= start})
    begin = before[-2] if len(before) >= 2 else 0
    after = sorted({s for s in stops if s > end})
    return begin, after[0] if after else len(text)


def check(words: str, text: str, speaker: Speaker) -> Problem | None:
    """None when the words stand inside quotation marks on the page and the speaker is named beside them;
    else the first thing wrong. The words must already be known to be on the page."""
    wanted = _clean(words).strip(_EDGE_MARKS)
    text = "\n".join(p.strip() for p in _clean(text).splitlines() if p.strip())
    patterns = speaker.patterns()
    problem = Problem.NOT_QUOTED
    offset = 0
    for paragraph in text.split("\n"):
        at = _find(wanted, paragraph)
        spans = _quoted_spans(paragraph) if at is not None else []
        for s, e in spans:
            if at is None or not (s <= at[0] and at[1] <= e):
                continue
            problem = Problem.NOT_ATTRIBUTED
            begin, finish = _sentence_bounds(text, offset + s, offset + e)
            # The speaker named outside the quotation: a quote that mentions its speaker is no attribution.
            if _named(text[begin : offset + s] + " " + text[offset + e : finish], patterns):
                return None
        offset += len(paragraph) + 1
    return problem


def _named(context: str, patterns: Iterable[re.Pattern[str]]) -> bool:
    return any(p.search(context) for p in patterns)
