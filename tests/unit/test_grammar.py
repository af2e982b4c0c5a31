"""The argument grammar: shapes, settings, items; property: any text parses or is a UserError."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st

from bot.errors import UserError
from bot.grammar import Int, Items, Setting, Text, Word, YesNo, bind, command, split_body, usage


class Demo:
    @command("demo", aliases=["vorführung"])
    async def demo(self, ctx, title: Text, options: Items[Word], until: Setting[Int] = None,
                   secret: Setting[YesNo] = False):
        return title, options, until, secret

    @command("plan")
    async def plan(self, ctx, name: Text, count: Int = None):
        return name, count

    @command("alt")
    async def alt(self, ctx, n: Int, k: Int, text: Text):
        return n, k, text


CTX = SimpleNamespace(mentions=())
DEMO, PLAN, ALT = (getattr(Demo, n).__plenum_command__ for n in ("demo", "plan", "alt"))


async def parse(cmd, first: str, *more: str):
    return await bind(cmd, CTX, split_body(first, list(more), cmd))


async def test_items_by_bar_and_by_dash_lines():
    a = await parse(DEMO, "Lunch? | pizza | sushi")
    b = await parse(DEMO, "Lunch?", "- pizza", "- sushi")
    assert a == b == {"title": "Lunch?", "options": ["pizza", "sushi"], "until": None, "secret": False}


async def test_settings_lines_with_german_keys():
    got = await parse(DEMO, "Q | a | b", "bis: 5", "geheim: ja")
    assert got["until"] == 5 and got["secret"] is True


async def test_unknown_key_lines_continue_the_text():
    got = await parse(PLAN, "Treffen", "Ort: Rathaus")
    assert got == {"name": "Treffen\nOrt: Rathaus", "count": None}


async def test_optional_trailing_number_after_rest():
    assert await parse(PLAN, "Protokoll Plenum 4") == {"name": "Protokoll Plenum", "count": 4}
    assert await parse(PLAN, "Protokoll Plenum") == {"name": "Protokoll Plenum", "count": None}


async def test_leading_words_then_rest():
    assert await parse(ALT, "3 1 Ein Foto vom Infostand") == {"n": 3, "k": 1, "text": "Ein Foto vom Infostand"}
    with pytest.raises(UserError) as err:
        await parse(ALT, "drei 1 x")
    assert err.value.key == "error.not_a_number"


async def test_missing_items_is_a_user_error():
    with pytest.raises(UserError) as err:
        await parse(DEMO, "Lunch?")
    assert err.value.key == "error.missing_items"


def test_usage_line_from_signature():
    line = usage(DEMO, "demo", lambda label: label)
    assert line == "!demo <text> | <word> | <word> … [until: <number>] [secret: <yesno>]"


@settings(max_examples=300, deadline=None)
@given(first=st.text(max_size=80), more=st.lists(st.text(max_size=40), max_size=4))
async def test_any_text_parses_or_is_a_user_error(first, more):
    for cmd in (DEMO, PLAN, ALT):
        try:
            await parse(cmd, first.replace("\n", " "), *[m.replace("\n", " ") for m in more])
        except UserError:
            pass


def test_a_feature_instance_gets_its_own_copy_of_each_command():
    """Two apps in one process (a restart in tests, the demo) must not share owners or names."""
    from bot.feature import Feature

    class Probe(Feature):
        name = "probe"

        @command("probe")
        async def probe(self, ctx):
            pass

    first, second = Probe().commands()[0], Probe().commands()[0]
    first.names.append(("probe",))
    assert first.owner is not second.owner and second.names == []
    assert Probe.probe.__plenum_command__.owner is None


def test_a_choice_without_its_own_error_names_the_choices():
    from bot.grammar import Choice

    class Colour(Choice):
        WORDS = {"rot": "red", "blau": "blue"}

    with pytest.raises(UserError) as err:
        Colour.convert(None, "grün")
    assert err.value.key == "error.bad_choice" and err.value.params["choices"] == "blau, rot"
