"""The desk's form table: every step reachable from a command, its id on the wire, at most five fields."""

from __future__ import annotations

import pytest

from bot.desk.forms import OPENINGS, STEPS
from bot.i18n import messages

HOTLINE = "inter-korean-hotline"
# What a source step's draft holds once its quote step has fetched the page.
PAGE = {
    "url": "https://example.org/hotline",
    "sha256": "",
    "outlet": "The Daily Example",
    "headline": "Koreas restore military hotline",
    "published": "2026-05-10T09:00:00+09:00",
}


def test_the_steps_are_the_form_ids_adapters_carry_and_each_is_reached_from_a_command():
    assert set(STEPS) == {
        "quote",
        "quote:source",
        "quote:paraphrase",
        "new",
        "new:quote",
        "new:source",
        "new:paraphrase",
        "milestone",
        "milestone:source",
    }
    assert all(step.form == form for form, step in STEPS.items())
    reached, todo = set(), list(OPENINGS)
    while todo:
        form = todo.pop()
        reached.add(form)
        for then in (STEPS[form].then, STEPS[form].detour):
            if then:
                assert then in STEPS and then not in OPENINGS
                todo.append(then)
    assert reached == set(STEPS)


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("form", sorted(STEPS))
def test_each_step_fits_a_discord_modal(bot, form, language):
    draft = {"pledge": HOTLINE} if form in OPENINGS else {"pledge": HOTLINE, "page": PAGE}
    built = STEPS[form].build(bot.catalogue, draft, "0123456789abcdef", messages(language))
    names = [f.name for f in built.fields]
    assert built.form == form and built.state == "0123456789abcdef"
    assert 1 <= len(names) <= 5 and len(set(names)) == len(names)
    assert built.title and built.submit
    assert all(len(f.choices) <= 25 for f in built.fields)


def test_a_form_opens_only_at_its_first_step(bot):
    desk = bot.desk
    assert desk.form("quote", messages("en"), HOTLINE).form.fields[0].value == HOTLINE
    with pytest.raises(ValueError):
        desk.form("quote:source", messages("en"))
