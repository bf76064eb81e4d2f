"""Simulated tellers and supervisors on the JSON API (asyncio and aiohttp), and what they saw.

Each teller signs in once, opens their counter at a window of their own
(``POST /api/counter``: a teller takes cases only at an open counter), then
walks whole ``pos_unbind`` cases, one
merchant each: open, ``submit_identity``, ``submit_binding``,
``confirm_code`` (the code read from the local SMS gateway's table, as the
customer would read it off their phone), ``sign_off``, then reads the case
until the acquirer's answer has completed it. Agent cases wait in
``supervisor_review`` until a supervisor, polling ``/api/approvals``,
approves them. A share of ``submit_binding`` steps is sent twice at the same
moment at the same version: one must succeed and the other get 409.

Requests go round-robin to every server given, so that a case's steps land
on different processes. Any answer other than the expected ones is counted
as unexpected and ends that case. With ``tolerate_outages`` (the crash
test) a dropped connection ends the case quietly and the teller goes on.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text

from bench._load_registry import PASSWORD, LoadMerchant

__all__ = ["POLL_SECONDS", "Api", "CodeReader", "LoadRun", "Stats", "percentile"]

_CODE = re.compile(r"验证码(\d{6})")
POLL_SECONDS = 0.05
WAIT_LIMIT = 60.0  # seconds a case may wait for a supervisor or the acquirer
TIMEOUT = 60.0  # seconds for one answer: longer is an error, whatever the load


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.5, 0.95, 0.99) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Stats:
    """Latencies (ms) and statuses by endpoint, cases completed, and every surprise."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    races: int = 0
    opened: int = 0
    completed: int = 0
    agent_cases: int = 0
    approvals: int = 0
    steps: int = 0  # answered 2xx requests that committed a change to a case
    outages: int = 0
    pool_exhausted: bool = False

    def errors(self) -> dict[str, int]:
        """Every non-2xx answer: ``"<endpoint> <status>"`` -> count."""
        return {f"{label} {status}": n for (label, status), n in sorted(self.statuses.items())
                if not status.startswith("2")}


class CaseEnded(Exception):
    """The case in hand cannot go on (unexpected answer, or an outage being tolerated)."""


class CodeReader:
    """The newest unbind code the local SMS gateway recorded for a phone (a database read)."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)

    def __call__(self, phone: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT text FROM sms_message WHERE phone = :phone ORDER BY id DESC LIMIT 1"),
                {"phone": phone},
            ).first()
        found = _CODE.search(row[0]) if row is not None else None
        return found.group(1) if found else None

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class Answer:
    """One HTTP answer as the tellers read it (status and body; the body decoded on demand)."""

    status_code: int
    body: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """aiohttp sessions for every server, taken in turn; records what each request answered.

    aiohttp, not httpx: its parser is compiled, and with httpx the driver spent as much
    CPU per case as the web processes, over a quarter of the machine, at saturation."""

    def __init__(self, urls: Sequence[str], stats: Stats, *, tolerate_outages: bool) -> None:
        self.urls = list(urls)
        self.sessions: list[aiohttp.ClientSession] = []
        self._turn = itertools.cycle(range(len(self.urls)))
        self.stats = stats
        self.tolerate_outages = tolerate_outages

    def _session(self, index: int) -> aiohttp.ClientSession:
        if not self.sessions:  # made inside the running loop, as aiohttp wants
            # Idle connections are dropped before uvicorn's 5 s keep-alive ends: reusing one
            # the server is closing at that moment fails the request for nothing.
            self.sessions = [
                aiohttp.ClientSession(
                    base_url=url,
                    timeout=aiohttp.ClientTimeout(total=TIMEOUT),
                    connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=1.0),
                )
                for url in self.urls
            ]
        return self.sessions[index]

    async def call(self, label: str, method: str, path: str, *, token: str | None = None,
                   body: dict[str, Any] | None = None, expect: Sequence[int] = (200,),
                   step: bool = False) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        session = self._session(next(self._turn))
        started = time.perf_counter()
        try:
            async with session.request(method, path, json=body, headers=headers) as reply:
                answer = Answer(reply.status, await reply.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats.statuses[(label, type(exc).__name__)] += 1
            if self.tolerate_outages:
                self.stats.outages += 1
                raise CaseEnded(f"{label}: {type(exc).__name__}") from exc
            self.stats.unexpected.append(f"{label}: {type(exc).__name__}: {exc}")
            raise CaseEnded(label) from exc
        self.stats.latencies.setdefault(label, []).append((time.perf_counter() - started) * 1000)
        self.stats.statuses[(label, str(answer.status_code))] += 1
        if answer.status_code not in expect:
            self.fail(f"{label}: {answer.status_code} {answer.text[:300]}")
        if step and answer.is_success:
            self.stats.steps += 1
        return answer

    def fail(self, what: str) -> None:
        self.stats.unexpected.append(what)
        raise CaseEnded(what)

    async def sign_in(self, username: str) -> str:
        answer = await self.call("POST /api/session", "POST", "/api/session",
                                 body={"username": username, "password": PASSWORD})
        token: str = answer.json()["token"]
        return token

    async def close(self) -> None:
        for session in self.sessions:
            await session.close()


@dataclass
class LoadRun:
    """Tellers and supervisors working until ``should_stop()``, then finishing their cases."""

    api: Api
    codes: Callable[[str], str | None]
    merchants: deque[LoadMerchant]
    race_share: float = 0.05
    seed: int = 2026
    think: tuple[float, float] | None = None  # seconds a teller pauses before each step
    counters_open: bool = False  # the tellers' counters were opened by an earlier run
    poll_seconds: float = POLL_SECONDS  # how often a waiting teller or a supervisor looks
    stagger: float = 0.0  # seconds over which the tellers' first cases start
    tellers_done: asyncio.Event = field(default_factory=asyncio.Event)
    _pauses: random.Random = field(default_factory=lambda: random.Random(7))

    @property
    def stats(self) -> Stats:
        return self.api.stats

    # --- a teller ----------------------------------------------------------

    async def pause(self) -> None:
        """A teller's time between two steps (the realistic mode): reading, typing, talking."""
        if self.think is not None:
            await asyncio.sleep(self._pauses.uniform(*self.think))

    async def fire(self, token: str, case: dict[str, Any], trigger: str,
                   data: dict[str, Any]) -> dict[str, Any]:
        await self.pause()
        answer = await self.api.call(
            f"POST /api/cases/{{ref}}/triggers/{trigger}", "POST",
            f"/api/cases/{case['reference']}/triggers/{trigger}", token=token,
            body={"data": data, "version": case["version"]}, step=True)
        fired: dict[str, Any] = answer.json()
        return fired

    async def race(self, token: str, case: dict[str, Any], trigger: str,
                   data: dict[str, Any]) -> dict[str, Any]:
        """The same step twice at once at one version: exactly one 200, the other 409."""
        path = f"/api/cases/{case['reference']}/triggers/{trigger}"
        label = f"POST /api/cases/{{ref}}/triggers/{trigger}"
        body = {"data": data, "version": case["version"]}
        both = await asyncio.gather(*(
            self.api.call(label, "POST", path, token=token, body=body, expect=(200, 409),
                          step=True) for _ in range(2)))
        statuses = sorted(a.status_code for a in both)
        if statuses != [200, 409]:
            self.api.fail(f"race on {case['reference']} answered {statuses}")
        loser = next(a for a in both if a.status_code == 409).json()
        if "reload" not in loser["error"]["message"]["en"].lower():
            self.api.fail(f"409 without 'reload': {loser}")
        self.stats.races += 1
        won: dict[str, Any] = next(a for a in both if a.status_code == 200).json()
        return won

    async def read_until(self, token: str, reference: str,
                         done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_LIMIT
        while True:
            answer = await self.api.call("GET /api/cases/{ref}", "GET",
                                         f"/api/cases/{reference}", token=token)
            case: dict[str, Any] = answer.json()
            if done(case):
                return case
            if time.monotonic() > deadline:
                self.api.fail(f"{reference} stuck in {case['state']} for {WAIT_LIMIT} s")
            await asyncio.sleep(self.poll_seconds)

    def expect_state(self, case: dict[str, Any], state: str) -> None:
        if case["state"] != state:
            self.api.fail(f"{case['reference']} in {case['state']}, expected {state}: "
                          f"{case.get('findings')}")

    async def sms_code(self, phone: str) -> str | None:
        """The code sent to ``phone``, waiting for it a while.

        The step that enters ``code_check`` answers once it has committed; the
        SMS goes out right after, from this process or, when another process's
        dispatcher claimed the message first, from that one a moment later.
        """
        # In the crash test the message may wait in the outbox of a killed process.
        deadline = time.monotonic() + (3.0 if self.api.tolerate_outages else WAIT_LIMIT)
        while True:
            code = await asyncio.to_thread(self.codes, phone)
            if code is not None or time.monotonic() > deadline:
                return code
            await asyncio.sleep(POLL_SECONDS)

    async def walk(self, token: str, merchant: LoadMerchant, racing: bool) -> None:
        await self.pause()
        opened = await self.api.call("POST /api/cases", "POST", "/api/cases", token=token,
                                     body={"workflow": "pos_unbind"}, expect=(201,), step=True)
        self.stats.opened += 1
        case: dict[str, Any] = opened.json()
        reference = case["reference"]
        case = await self.fire(token, case, "submit_identity", merchant.identity())
        if merchant.agent_id is not None:
            self.expect_state(case, "supervisor_review")
            self.stats.agent_cases += 1
            case = await self.read_until(token, reference,
                                         lambda c: c["state"] != "supervisor_review")
        self.expect_state(case, "info_check")
        if racing:
            await self.pause()
            case = await self.race(token, case, "submit_binding", merchant.binding())
        else:
            case = await self.fire(token, case, "submit_binding", merchant.binding())
        self.expect_state(case, "code_check")
        code = await self.sms_code(merchant.phone)
        if code is None:
            if self.api.tolerate_outages:  # the SMS was still in the outbox at the crash
                raise CaseEnded("no SMS yet")
            self.api.fail(f"no SMS to the phone of {reference}")
        case = await self.fire(token, case, "confirm_code", {"code": code})
        self.expect_state(case, "teller_signoff")
        case = await self.fire(token, case, "sign_off", {"password": PASSWORD})
        case = await self.read_until(token, reference, lambda c: bool(c["final"]))
        self.expect_state(case, "completed")
        self.stats.completed += 1

    async def teller(self, username: str, token: str, should_stop: Callable[[], bool],
                     rng: random.Random) -> None:
        if self.stagger:  # tellers who come in one by one, not all at the same second
            await asyncio.sleep(rng.uniform(0, self.stagger))
        while not should_stop():
            if not self.merchants:
                self.stats.pool_exhausted = True
                return
            merchant = self.merchants.popleft()
            try:
                await self.walk(token, merchant, rng.random() < self.race_share)
            except CaseEnded:
                if self.api.tolerate_outages:
                    await asyncio.sleep(0.2)

    # --- a supervisor ------------------------------------------------------

    async def supervisor(self, token: str, index: int, count: int) -> None:
        decided: set[int] = set()
        while not self.tellers_done.is_set():
            try:
                queue = await self.api.call("GET /api/approvals", "GET", "/api/approvals",
                                            token=token)
                for approval in queue.json():
                    number = approval["id"]
                    if number % count != index or number in decided:
                        continue
                    await self.api.call(
                        "POST /api/approvals/{id}/approve", "POST",
                        f"/api/approvals/{number}/approve", token=token,
                        body={"reason": "load test"}, step=True)
                    decided.add(number)
                    self.stats.approvals += 1
            except CaseEnded:
                await asyncio.sleep(0.2)
            await asyncio.sleep(self.poll_seconds * 2)

    # --- the whole run -----------------------------------------------------

    async def open_counters(self, tokens: Sequence[str]) -> None:
        """Each teller opens their counter, at windows 1, 2, ... (at most 99 in a branch)."""
        await asyncio.gather(*(
            self.api.call("POST /api/counter", "POST", "/api/counter", token=token,
                          body={"window": window}, expect=(201,))
            for window, token in enumerate(tokens, start=1)))

    async def run(self, tellers: dict[str, str], supervisors: dict[str, str],
                  should_stop: Callable[[], bool], drain_limit: float = 60.0) -> float:
        """Open the tellers' counters, work until ``should_stop()``, finish the cases in hand;
        the seconds the work took (not the counters' opening)."""
        if not self.counters_open:
            await self.open_counters(list(tellers.values()))
        started = time.perf_counter()
        rng = random.Random(self.seed)
        workers = [asyncio.create_task(self.teller(name, token, should_stop,
                                                   random.Random(rng.random())))
                   for name, token in tellers.items()]
        bosses = [asyncio.create_task(self.supervisor(token, index, len(supervisors)))
                  for index, token in enumerate(supervisors.values())]
        try:
            await asyncio.gather(*workers)
        finally:
            self.tellers_done.set()
            await asyncio.wait_for(asyncio.gather(*bosses, return_exceptions=True),
                                   timeout=drain_limit)
        return time.perf_counter() - started


async def hammer_floor(api: Api, tokens: Sequence[str], seconds: float) -> tuple[int, float]:
    """Every token posts to the floor endpoint until ``seconds`` pass; (commits, seconds)."""
    deadline = time.monotonic() + seconds
    commits = 0

    async def one(token: str) -> None:
        nonlocal commits
        while time.monotonic() < deadline:
            try:
                await api.call("POST /api/bench/floor", "POST", "/api/bench/floor", token=token)
            except CaseEnded:
                continue
            commits += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(token) for token in tokens))
    return commits, time.perf_counter() - started
