"""Welcome buddies: a newcomer in the welcome room gets a fair contact person and a chat with them."""
from __future__ import annotations

from datetime import timedelta

from tests.conversation.test_duties_support import ALICE, BOB, CAROL, ORGA, ORGS, ROOM, duty_conv  # noqa: F401
from tests.fakes import BOT

NEW, NEW2, NEW3 = "@neu:test", "@neu2:test", "@neu3:test"


async def join(conv, user: str, room: str = ROOM, **content) -> list:
    if user not in conv.chat.rooms[room].members:
        conv.chat.rooms[room].members.append(user)
    ev = conv.event(user, "", room, type="m.room.member", content={"membership": "join", **content}, state_key=user)
    return await conv.deliver(ev) + await conv.advance(timedelta(seconds=1))


async def welcome_room(conv, *pool: str) -> None:
    await conv.reply(ORGA, "!raum willkommen", ROOM)
    created = await conv.reply(ORGA, "!dienst anlegen Willkommen", ROOM)
    assert "Ohne feste Termine" in created.body
    for user in pool:
        await conv.reply(user, "!dienst mitmachen Willkommen", ROOM)


def created_rooms(conv) -> list[tuple[str, ...]]:
    return [a[1:] for a in conv.chat.actions if a[0] == "create_room"]


async def test_newcomer_gets_a_buddy_and_a_chat_with_an_introduction(duty_conv):
    await welcome_room(duty_conv, ALICE)
    sent = await join(duty_conv, NEW)
    [(room_id, *invited)] = created_rooms(duty_conv)
    assert invited == [NEW, ALICE]
    assert duty_conv.chat.rooms[room_id].name == "Willkommen in Ortsgruppe"
    [intro] = sent
    assert intro.room_id == room_id
    assert intro.body.startswith("Hallo @neu:test, willkommen in Ortsgruppe! 👋 @alice:test ist deine Ansprechperson")
    assert sorted(intro.mentions) == [ALICE, NEW]
    assert intro.content["msgtype"] == "m.notice"


async def test_buddies_are_chosen_fairly(duty_conv):
    await welcome_room(duty_conv, ALICE, BOB)
    for user in (NEW, NEW2, NEW3, "@neu4:test"):
        await join(duty_conv, user)
    buddies = [invited[-1] for _, *invited in created_rooms(duty_conv)]
    assert sorted(buddies) == [ALICE, ALICE, BOB, BOB] and buddies[0] != buddies[1]
    stats = await duty_conv.reply(ORGA, "!dienst statistik", ROOM)
    assert "@alice:test | Willkommen | 2        | 2" in stats.body


async def test_welcomed_once_and_old_members_and_the_bot_are_not(duty_conv):
    await welcome_room(duty_conv, ALICE)
    await join(duty_conv, NEW)
    assert await join(duty_conv, NEW, displayname="Neu") == []  # a profile change or a re-join
    assert await join(duty_conv, BOB) == []  # was in the room when the welcome duty was created
    assert await join(duty_conv, BOT) == []
    leave = duty_conv.event(NEW2, "", ROOM, type="m.room.member", content={"membership": "leave"}, state_key=NEW2)
    assert await duty_conv.deliver(leave) == []
    assert len(created_rooms(duty_conv)) == 1


async def test_only_in_a_welcome_room(duty_conv):
    await duty_conv.reply(ORGA, "!dienst anlegen Willkommen", ROOM)
    await duty_conv.reply(ALICE, "!dienst mitmachen Willkommen", ROOM)
    assert await join(duty_conv, NEW) == []
    assert created_rooms(duty_conv) == []


async def test_nobody_available_tells_the_organisers(duty_conv):
    await duty_conv.reply("@admin:test", "!raum orga", ORGS)
    await welcome_room(duty_conv, ALICE)
    await duty_conv.reply(ALICE, "!abwesend 20.11. 30.11.", ROOM)
    sent = await join(duty_conv, NEW)
    assert [(s.room_id, s.body) for s in sent] == [
        (ORGS, "@neu:test ist neu in Ortsgruppe, aber im Pool von Willkommen ist gerade niemand verfügbar, der sich "
               "als Ansprechperson kümmert. Wer mag? !dienst mitmachen Willkommen")]
    assert created_rooms(duty_conv) == []


async def test_chat_creation_is_retried_when_the_homeserver_fails(duty_conv):
    await welcome_room(duty_conv, CAROL)
    real = duty_conv.chat.create_room
    calls = []

    async def flaky(invite, name=None, is_direct=False, marker=None):
        calls.append(invite)
        if len(calls) == 1:
            raise ConnectionError("homeserver away")
        return await real(invite, name=name, is_direct=is_direct, marker=marker)

    duty_conv.chat.create_room = flaky
    duty_conv.app.delivery.RETRY_BASE = 0
    assert await join(duty_conv, NEW) == []  # the outbox row of the creation waits for its retry
    await duty_conv.app.delivery.flush()
    sent = await duty_conv.advance(timedelta(minutes=3))
    assert len(calls) == 2 and len(created_rooms(duty_conv)) == 1
    [intro] = [s for s in duty_conv.chat.sent if "@carol:test ist deine Ansprechperson" in s.body]
    assert intro.room_id == created_rooms(duty_conv)[0][0]
    assert sent == [] and await duty_conv.advance(timedelta(hours=1)) == []


async def test_a_chat_that_cannot_be_created_is_reported_in_the_welcome_room(duty_conv):
    await welcome_room(duty_conv, CAROL)
    delivery = duty_conv.app.delivery
    delivery.RETRY_BASE = 0
    duty_conv.chat.fail_effects = delivery.MAX_ATTEMPTS
    await join(duty_conv, NEW)
    for _ in range(delivery.MAX_ATTEMPTS):
        await delivery.flush()
    assert created_rooms(duty_conv) == []
    [told] = [s for s in duty_conv.chat.sent if s.body.startswith("Etwas, das ich dafür tun sollte")]
    assert told.room_id == ROOM and not [s for s in duty_conv.chat.sent if "ist deine Ansprechperson" in s.body]
    assert await duty_conv.advance(timedelta(hours=1)) == []  # and the job does not try again


async def test_mydata_and_forget_for_buddies(duty_conv):
    await welcome_room(duty_conv, ALICE)
    await join(duty_conv, NEW)
    duty_conv.chat.add_room("!dm-neu:test", [NEW])
    mine = await duty_conv.reply(NEW, "meinedaten", "!dm-neu:test")
    assert "Du hast in Ortsgruppe @alice:test als Ansprechperson bekommen." in mine.body
    duty_conv.chat.add_room("!dm-alice:test", [ALICE])
    buddy = await duty_conv.reply(ALICE, "meinedaten", "!dm-alice:test")
    assert "Du bist Ansprechperson für @neu:test (Ortsgruppe)." in buddy.body
    await duty_conv.reply(NEW, "vergessen", "!dm-neu:test")
    forgot = await duty_conv.reply(NEW, "vergessen bestätigen", "!dm-neu:test")
    assert "1 Eintrag zu Ansprechpersonen für Neue gelöscht." in forgot.body
