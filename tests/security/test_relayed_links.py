"""Issue 11, defect 10: a relayed Mastodon mention turned its URL into a link whatever the
scheme, so another server could put `javascript:` into the organisers' room. Only http(s)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.ports import Mention
from commands.post_relay import web_url
from tests.conversation.test_posts_fakes import ANNA, ORGA, pconv, settle  # noqa: F401

BAD = ["javascript:alert(document.cookie)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<b>x</b>",
       "vbscript:msgbox", "mxc://evil/1", "https://", "http:///nohost", "//elsewhere.test/x", "ftp://elsewhere.test/x"]


async def _relayed(pconv, url: str):
    await pconv.reply(ANNA, "!beitrag Hallo", ORGA)
    pconv.pub.inbox.append(Mention("1", "eve@evil.test", "Schau mal", url, datetime(2026, 11, 21, tzinfo=timezone.utc)))
    sent = await settle(pconv, timedelta(minutes=2))
    [relayed] = [s for s in sent if "Nachricht an main" in s.body]
    return relayed


@pytest.mark.parametrize("url", BAD)
async def test_other_schemes_never_become_links(pconv, url):
    relayed = await _relayed(pconv, url)
    assert "<a " not in relayed.html and "href" not in relayed.html
    assert "Schau mal" in relayed.body  # the message itself is still relayed


async def test_a_web_address_is_a_link(pconv):
    relayed = await _relayed(pconv, "https://elsewhere.test/@eve/1")
    assert '<a href="https://elsewhere.test/@eve/1">' in relayed.html


@pytest.mark.parametrize("url", ["https://a.test/x", "HTTP://a.test", "http://a.test:8080/p?q=1#f"])
def test_web_url_accepts_http_and_https(url):
    assert web_url(url)


@pytest.mark.parametrize("url", BAD)
def test_web_url_refuses_the_rest(url):
    assert not web_url(url)
