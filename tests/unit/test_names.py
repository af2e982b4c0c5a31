"""Names, not ids (issue 16 item 4): how a person is named in a room."""
from __future__ import annotations

import unicodedata

from hypothesis import given, strategies as st

from bot.names import Names
from bot.ports import RoomInfo
from bot.render import fmt

ANNA, ANNA2, BEN, EVE = "@anna:test", "@anna2:other", "@ben:test", "@eve:test"


def test_a_display_name_is_the_name():
    assert Names({ANNA: "Anna Schmidt"}).name(ANNA) == "Anna Schmidt"


def test_without_a_display_name_the_full_id_is_the_name():
    names = Names({ANNA: "Anna"})
    assert names.name(BEN) == BEN
    assert Names({BEN: "  "}).name(BEN) == BEN


def test_equal_names_are_told_apart_by_the_id_and_only_they():
    names = Names({ANNA: "Anna", ANNA2: "anna", BEN: "Ben"})
    assert names.name(ANNA) == "Anna (@anna:test)"
    assert names.name(ANNA2) == "anna (@anna2:other)"
    assert names.name(BEN) == "Ben"
    invisible = Names({ANNA: "Anna", EVE: "An\u200bna"})  # looks the same: told apart too
    assert (invisible.name(ANNA), invisible.name(EVE)) == ("Anna (@anna:test)", "An\u200bna (@eve:test)")


def test_a_name_that_looks_like_another_id_shows_the_real_one():
    names = Names({EVE: "@ben:test", BEN: None})
    assert names.name(EVE) == "@ben:test (@eve:test)"
    assert names.name(BEN) == BEN
    assert Names({BEN: "@ben:test"}).name(BEN) == "@ben:test"  # their own id is no disguise
    assert Names({EVE: "Ben (@ben:test)"}).name(EVE) == "Ben (@ben:test) (@eve:test)"


def test_a_name_stays_on_one_line_and_short():
    assert Names({ANNA: "Anna\n\u202eSchmidt\t\x07 "}).name(ANNA) == "Anna Schmidt"
    assert Names({ANNA: "Anna 👩\u200d💻"}).name(ANNA) == "Anna 👩\u200d💻"  # a joiner is no trick
    long = Names({ANNA: "A" * 300}).name(ANNA)
    assert len(long) == 64 and long.endswith("…")


def test_a_mention_is_a_pill_labelled_with_the_name_and_pings_only_that_person():
    pill = Names({ANNA: "Anna <b>&"}).mention(ANNA)
    assert pill.text == "Anna <b>&"
    assert pill.html == '<a href="https://matrix.to/#/@anna:test">Anna &lt;b&gt;&amp;</a>'
    assert pill.mentions == {ANNA}


def test_a_plain_name_is_text_without_link_or_ping():
    named = Names({ANNA: "Anna"}).plain(ANNA)
    assert (named.text, named.html, named.mentions) == ("Anna", "Anna", frozenset())


def test_a_display_name_never_mentions_the_room():
    names = Names({EVE: "@room", BEN: "Hi @ROOM <i>"})
    for uid in (EVE, BEN):
        for r in (names.mention(uid), names.plain(uid), fmt("{x}", x=names.plain(uid))):
            assert "@room" not in r.text.lower() and "@room" not in r.html.lower()
            assert "<i>" not in r.html
            assert r.mentions <= {uid}


def test_names_come_from_the_room_info():
    info = RoomInfo(room_id="!r:test", name="R", alias=None, members=(ANNA, BEN), power={}, users_default=0,
                    creators=(), join_rule="invite", is_direct=False, display_names={ANNA: "Anna"})
    assert Names.of(info).name(ANNA) == "Anna" and Names.of(None).name(ANNA) == ANNA


TRICKY = st.sampled_from(["Anna", "anna", "An\u200bna", "x", "", "@ben:test", "x (@ben:test)", "x (@anna:test)",
                          "@anna:test"])


def looks(name: str) -> str:
    return "".join(ch for ch in name if unicodedata.category(ch) != "Cf").casefold()


@given(st.dictionaries(st.sampled_from([ANNA, ANNA2, BEN, EVE]), TRICKY | st.text(max_size=20)))
def test_two_members_never_get_the_same_name(display):
    names = Names(display)
    shown = [looks(names.name(u)) for u in (ANNA, ANNA2, BEN, EVE)]
    assert len(set(shown)) == len(shown)
