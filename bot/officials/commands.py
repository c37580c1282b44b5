"""The officials command, declared once: `/pledge officials [region]`, each official with their office,
term and how many of their pledges are kept so far. `bot.officials.answers` answers it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.grammar import Known
from bot.i18n import N_, NP_
from bot.registry import Command, CommandSpec, Option, OptionKind


@dataclass(frozen=True)
class ListOfficials:
    """The officials, all or those a place (or an office, or a name) names."""

    region: str = ""


def _officials(rest: str, known: Known) -> Command | None:
    # Any words after the command word name a place (서울, Busan, 종로구), an office or a name; the answer
    # says when they name no official, rather than searching pledges for them.
    return ListOfficials(" ".join(rest.split()))


COMMANDS = (
    CommandSpec(
        NP_("command", "officials"),
        "/pledge officials [region]",
        N_("Officials with their office, term and pledges kept so far, all or in one region"),
        "/pledge officials 서울",
        _officials,
        (ListOfficials,),
        options=(
            Option(
                NP_("option", "region"),
                OptionKind.TEXT,
                N_("A province, city, county or district (서울, Busan, 종로구), an office or a name"),
                minimum=1,
                maximum=100,
            ),
        ),
    ),
)
