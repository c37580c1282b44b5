"""The status scale, defined once: the ratings in their order, as the dataset stores them, with what each
means for deadlines and the colour every drawing of it uses.

The English values are what data files store and the grammar matches; each language's name for a rating is
its msgid's translation (`Messages.status`), so a catalogue names the scale in its trackers' words.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_


@dataclass(frozen=True)
class Rating:
    """One step of the scale."""

    value: str
    # A settled pledge is past its deadline without being overdue (kept, broken or a compromise).
    settled: bool
    # Dark enough for white text beside it (WCAG AA, 4.5:1 and above), on cards and on the site.
    colour: tuple[int, int, int]


SCALE: tuple[Rating, ...] = (
    Rating(N_("not yet rated"), False, (75, 85, 99)),
    Rating(N_("in the works"), False, (29, 78, 216)),
    Rating(N_("stalled"), False, (146, 64, 14)),
    Rating(N_("compromise"), True, (107, 33, 168)),
    Rating(N_("kept"), True, (21, 128, 61)),
    Rating(N_("broken"), True, (185, 28, 28)),
)
UNRATED = SCALE[0].value
VALUES: tuple[str, ...] = tuple(r.value for r in SCALE)
SETTLED = frozenset(r.value for r in SCALE if r.settled)
COLOURS: dict[str, tuple[int, int, int]] = {r.value: r.colour for r in SCALE}
