"""The word table: every word in English and Korean, matched longest first, however it is spaced or cased."""

from __future__ import annotations

import pytest

from bot import dataset as ds
from bot.commands import VOCABULARY
from bot.i18n import messages
from bot.words import Kind, Vocabulary, Word, key


def test_every_command_word_has_a_korean_form():
    commands = VOCABULARY.of(Kind.COMMAND)
    assert commands
    for word in commands:
        assert word.ko.strip() and word.ko != word.en, word


def test_every_status_has_a_korean_form_and_the_scale_is_the_datasets():
    statuses = VOCABULARY.of(Kind.STATUS)
    assert tuple(w.en for w in statuses) == ds.STATUSES
    for word in statuses:
        assert word.ko.strip() and word.ko != word.en, word


def test_every_argument_word_has_a_korean_form_from_the_catalogue():
    arguments = VOCABULARY.of(Kind.ARGUMENT)
    assert {w.en for w in arguments} >= {"topic", "pledge", "ahead", "updates", "now", "daily", "page", "all"}
    for word in arguments:
        assert word.ko == messages("ko").pgettext("argument", word.en) and word.ko != word.en, word
    assert VOCABULARY.get(Kind.ARGUMENT, "topic").ko == "주제"
    assert VOCABULARY.get(Kind.ARGUMENT, "pledge").ko == "공약"


def test_no_two_words_of_a_kind_can_be_typed_the_same_way():
    for kind in Kind:
        forms = [key(form) for word in VOCABULARY.words if word.kind is kind for form in word.forms]
        assert len(forms) == len(set(forms)), kind


def test_longest_first_when_one_word_begins_another():
    # "not" is a prefix of "not yet rated"; whichever order the table has, the longer wins when it fits.
    short, long = Word(Kind.STATUS, "not", "아님"), Word(Kind.STATUS, "not yet rated", "미평가")
    for table in (Vocabulary([short, long]), Vocabulary([long, short])):
        assert table.prefix(Kind.STATUS, "not yet rated kept") == (long, "kept")
        assert table.prefix(Kind.STATUS, "not yet") == (short, "yet")
        assert table.exact(Kind.STATUS, "Not Yet Rated") == long
        assert table.exact(Kind.STATUS, "not") == short
    # And at the end of the text, as `list <category> <status>` reads it.
    sooner, later = Word(Kind.STATUS, "rated", "평가"), Word(Kind.STATUS, "not yet rated", "미평가")
    for table in (Vocabulary([sooner, later]), Vocabulary([later, sooner])):
        assert table.suffix(Kind.STATUS, "defense not yet rated") == ("defense", later)
        assert table.suffix(Kind.STATUS, "defense rated") == ("defense", sooner)
        assert table.suffix(Kind.STATUS, "north korea 미평가") == ("north korea", later)
        assert table.suffix(Kind.STATUS, "underrated") is None
    # The real table: 구독 (subscribe) begins 구독목록 (subscriptions) and 구독취소 (unsubscribe).
    subscriptions = VOCABULARY.get(Kind.COMMAND, "subscriptions")
    assert VOCABULARY.prefix(Kind.COMMAND, "구독목록") == (subscriptions, "")
    assert VOCABULARY.prefix(Kind.COMMAND, "구독 목록") == (subscriptions, "")
    assert VOCABULARY.prefix(Kind.COMMAND, "구독 취소")[0].en == "unsubscribe"
    subscribe = VOCABULARY.get(Kind.COMMAND, "subscribe")
    assert VOCABULARY.prefix(Kind.COMMAND, "구독 08:30") == (subscribe, "08:30")


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("in the works", "in the works"),
        ("In  The WORKS", "in the works"),
        ("추진 중", "in the works"),
        ("추진중", "in the works"),
        ("not yet rated", "not yet rated"),
        ("미평가", "not yet rated"),
        ("KEPT", "kept"),
        ("이행 완료", "kept"),
        ("이행완료", "kept"),
        ("일부 이행", "compromise"),
        ("파기", "broken"),
    ],
)
def test_statuses_match_as_typed(typed, status):
    assert VOCABULARY.exact(Kind.STATUS, typed).en == status


@pytest.mark.parametrize("typed", ["in the", "works", "추진", "kept promises", "not yet", "이행", ""])
def test_parts_and_extensions_of_a_status_are_not_that_status(typed):
    assert VOCABULARY.exact(Kind.STATUS, typed) is None


def test_a_word_matches_only_whole_typed_words():
    # 구독자 (subscriber) begins with 구독 (subscribe) but is another word; "listing" is not "list".
    assert VOCABULARY.prefix(Kind.COMMAND, "구독자 수") is None
    assert VOCABULARY.prefix(Kind.COMMAND, "listing defense") is None
    listing = VOCABULARY.get(Kind.COMMAND, "list")
    assert VOCABULARY.prefix(Kind.COMMAND, "List defense") == (listing, "defense")
