"""Wiring: the one build function that production, the demo and the tests all use."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from bot.config import Config, database_url
from bot.dispatcher import DispatchSettings, Dispatcher, Registry
from bot.feature import Feature, Permissions
from bot.i18n import I18n
from bot.messenger import Delivery, Messenger
from bot.pipeline import Pipeline
from bot.ports import Chat, Clock, Publisher
from bot.scheduler import Scheduler
from bot.voice import Voice
from commands.duties import duty_features
from commands.help import Help
from commands.posts import build_posts_feature
from commands.polls import PollDeps, poll_features
from commands.privacy import Privacy
from commands.rooms import RoomsFeature
from commands.awareness import Awareness
from commands.safespace import SafeSpaceFeature, SpaceBook
from commands.speakers import Speakers
from storage.core import DirectRooms, HandledEvents, Jobs, KeyValue, Outbox, Rooms
from storage.db import Database, database_for
from storage.polls import PollRepo
from storage.roles import Anchors
from storage.safespace import Admissions, Reports, Requests, SafeSpaces, SpeakersLists
from storage.schema import REGISTRY

log = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    db: Database
    clock: Clock
    chat: Chat
    i18n: I18n
    kv: KeyValue
    rooms: Rooms
    dms: DirectRooms
    anchors: Anchors
    messenger: Messenger
    delivery: Delivery
    scheduler: Scheduler
    dispatcher: Dispatcher
    pipeline: Pipeline
    features: list[Feature]
    publishers: dict[str, Publisher] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task] = field(default_factory=list)

    async def start(self) -> None:
        """Background work: delivery of the outbox and the scheduler (runs missed jobs now)."""
        for feature in self.features:
            await feature.on_start()
        self._tasks.append(asyncio.create_task(self.delivery.run(self._stop), name="plenum-delivery"))
        await self.scheduler.start()

    async def stop(self) -> None:
        self._stop.set()
        await self.scheduler.stop()
        for feature in self.features:
            try:
                await asyncio.wait_for(feature.on_stop(), timeout=20)
            except Exception:  # noqa: BLE001 - shutdown goes on; unfinished work resumes at start
                log.warning("feature %s did not stop cleanly", feature.name, exc_info=True)
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
        try:
            await asyncio.wait_for(self.delivery.flush(), timeout=10)
        except Exception:  # noqa: BLE001 - best effort; what is left is sent at the next start
            log.warning("some replies are still pending; they are sent at the next start")
        await self.db.close()

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)


async def build_app(config: Config, chat: Chat, clock: Clock,
                    publishers: dict[str, Publisher] | None = None, db: Database | None = None) -> App:
    """db: an open database (the runner opens it first to wait for the active lock); else the configured one."""
    publishers = publishers or {}
    if db is None:
        db = database_for(database_url(config), config.bot.data_dir)
        await db.open()
    await db.migrate(REGISTRY)
    i18n = I18n()
    kv, rooms, outbox, jobs = KeyValue(db), Rooms(db), Outbox(db), Jobs(db)
    dms, handled = DirectRooms(db), HandledEvents(db)
    delivery = Delivery(db, outbox, dms, kv, chat, clock)
    messenger = Messenger(outbox, clock, delivery.wake)
    scheduler = Scheduler(db, jobs, clock, timedelta(minutes=config.bot.grace_minutes), delivery.wake)
    anchors = Anchors(db)
    perms = Permissions(chat, config.bot.admins, anchors.never_vouch)
    voice = Voice(i18n, rooms, messenger, chat, config.bot.language, config.bot.timezone, dms)  # messages outside a command
    delivery.report = voice.delivery_failed  # a message refused for good is reported where it was caused

    help_feature = Help()
    privacy = Privacy(dms, handled, outbox, scheduler, clock)
    spaces, admissions, requests = SafeSpaces(db), Admissions(db), Requests(db)
    reports = Reports(db, config.bot.data_dir / "safespace.key")
    book = SpaceBook(spaces, rooms)
    awareness = Awareness(book, spaces, admissions, requests, reports, dms, voice)
    features: list[Feature] = [
        help_feature,
        privacy,
        RoomsFeature(rooms, anchors, voice, [a.name for a in config.mastodon]),
        SafeSpaceFeature(book, spaces, admissions, requests, rooms, voice),
        awareness,
        Speakers(SpeakersLists(db), voice),
        *poll_features(PollDeps(PollRepo(db), scheduler, messenger, chat, clock, i18n, voice, perms, config.bot)),
        *duty_features(db, rooms, scheduler, voice, clock, config.bot.timezone),
        build_posts_feature(config, db, chat, clock, voice, kv, rooms, jobs, scheduler, publishers),
    ]
    for feature in features:
        for kind, handler in feature.jobs().items():
            scheduler.register(kind, handler)
    registry = Registry(features)
    settings = DispatchSettings(
        timezone=config.bot.timezone,
        catch_up=timedelta(minutes=config.bot.catch_up_minutes),
        rate_limit=config.bot.rate_limit,
        rate_window=float(config.bot.rate_window_seconds),
    )
    async def is_safe_space(room_id: str) -> bool:
        return "safespace" in (await rooms.get(room_id)).roles

    dispatcher = Dispatcher(db, registry, i18n, messenger, perms, chat, clock, settings, voice.lang, is_safe_space)
    help_feature.bind(registry, dispatcher.usage)
    dispatcher.hints = help_feature
    dispatcher.followups = awareness
    privacy.bind(features)
    pipeline = Pipeline(db, handled, rooms, dms, chat, dispatcher, features, clock, delivery.wake)
    return App(config=config, db=db, clock=clock, chat=chat, i18n=i18n, kv=kv, rooms=rooms, dms=dms, anchors=anchors, messenger=messenger,
               delivery=delivery, scheduler=scheduler, dispatcher=dispatcher, pipeline=pipeline, features=features,
               publishers=publishers)
