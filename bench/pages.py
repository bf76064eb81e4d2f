"""``python -m bench.pages``: how long each console page of the clean case takes, one teller.

    python -m bench.pages [--rounds 20] [--db sqlite|postgres] [--json]

It starts its own ``counter serve`` (as ``bench.load`` does: web processes
and the outbox worker, on a fresh database), signs one teller in to the
console (cookie session, as a browser) and to the API, and walks one clean
``pos_unbind`` case through the API. At each stop (the case just opened,
after identity, after the binding, after the code, completed) it loads the
console pages a teller sees there ``--rounds`` times in turn, one request at
a time (an idle server), and reports p50/p95 of each beside the bare page:
the login form, the same app's cheapest page (templates, middleware, no
database).

**ratio** = the slowest page's p50 ÷ the bare page's p50 (lower is better).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._issue14 import PAGE_TARGET_MS as TARGET_MS
from bench._issue14 import PAGE_TARGET_RATIO as TARGET_RATIO
from bench._load_registry import PASSWORD
from bench._load_server import Deployment
from bench._load_tellers import CodeReader, percentile
from bench.report import Result, python_command

BARE = "GET /login (bare page)"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Teller:
    """One teller: a browser's cookie session for pages, a bearer token for the walk."""

    def __init__(self, url: str, username: str) -> None:
        self.browser = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
        self.anonymous = httpx.Client(base_url=url, timeout=30)
        self.api = httpx.Client(base_url=url, timeout=30)
        token = self.api.post("/api/session",
                              json={"username": username, "password": PASSWORD}).json()["token"]
        self.api.headers["Authorization"] = f"Bearer {token}"
        opened = self.api.post("/api/counter", json={"window": 1})
        assert opened.status_code == 201, opened.text
        form = self.browser.get("/login")
        found = _CSRF.search(form.text)
        assert found is not None, form.text[:500]
        signed = self.browser.post("/login", data={"username": username, "password": PASSWORD,
                                                   "csrf_token": found.group(1), "next": "/"})
        assert signed.status_code == 303, signed.text[:500]

    def fire(self, case: dict[str, Any], trigger: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = self.api.post(f"/api/cases/{case['reference']}/triggers/{trigger}",
                               json={"data": data, "version": case["version"]})
        assert answer.status_code == 200, answer.text
        fired: dict[str, Any] = answer.json()
        return fired

    def case(self, reference: str) -> dict[str, Any]:
        found: dict[str, Any] = self.api.get(f"/api/cases/{reference}").json()
        return found

    def close(self) -> None:
        for client in (self.browser, self.anonymous, self.api):
            client.close()


def _wait(what: str, check: Any, limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise RuntimeError(f"no {what} in {limit:.0f} s")


def measure(teller: Teller, codes: CodeReader, merchant: Any, rounds: int
            ) -> dict[str, list[float]]:
    """The latencies (ms) of each page at each stop of one clean case, and of the bare page."""
    timings: dict[str, list[float]] = {}

    def load(label: str, client: httpx.Client, path: str) -> None:
        started = time.perf_counter()
        answer = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"{label}: {answer.status_code} {answer.text[:300]}")
        timings.setdefault(label, []).append(elapsed)

    def stop(name: str, reference: str | None, extra: tuple[tuple[str, str], ...] = ()) -> None:
        pages = [("home", "/"), ("new case", "/cases/new")] if reference is None else [
            (f"case ({name})", f"/cases/{reference}"),
            ("diagram", f"/cases/{reference}/diagram.svg"),
        ]
        pages += list(extra)
        for _ in range(rounds):  # in turn, so that a disturbance hits every page alike
            load(BARE, teller.anonymous, "/login")
            for label, path in pages:
                load(f"GET {label}", teller.browser, path)

    stop("start", None)
    case: dict[str, Any] = teller.api.post("/api/cases", json={"workflow": "pos_unbind"}).json()
    reference = case["reference"]
    stop("identity", reference)
    case = teller.fire(case, "submit_identity", merchant.identity())
    stop("binding", reference)
    case = teller.fire(case, "submit_binding", merchant.binding())
    code = _wait("SMS", lambda: codes(merchant.phone))
    stop("code", reference)
    case = teller.fire(case, "confirm_code", {"code": code})
    stop("sign-off", reference)
    teller.fire(case, "sign_off", {"password": PASSWORD})
    _wait("completed case", lambda: (lambda c: c["final"] and not c["waiting"])(
        teller.case(reference)))
    stop("completed", reference, (("slip page", f"/cases/{reference}/slip"),
                                  ("slip PDF", f"/cases/{reference}/slip.pdf")))
    return timings


def report(args: argparse.Namespace, timings: dict[str, list[float]]) -> Result:
    bare = percentile(timings[BARE], 0.5)
    rows = sorted(((label, percentile(v, 0.5), percentile(v, 0.95), len(v))
                   for label, v in timings.items() if label != BARE), key=lambda r: -r[1])
    slowest_label, slowest, _, _ = rows[0]
    lines = [
        f"pages: one teller, idle server ({args.db}), {args.rounds} loads of each page at each "
        "stop of one clean case, in turn with the bare page",
        f"{'page':<40} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'x bare':>7}",
        f"{BARE:<40} {len(timings[BARE]):>5} {bare:>8.1f} "
        f"{percentile(timings[BARE], 0.95):>8.1f} {1.0:>7.1f}",
        *(f"{label:<40} {n:>5} {p50:>8.1f} {p95:>8.1f} {p50 / bare:>7.1f}"
          for label, p50, p95, n in rows),
    ]
    over = [label for label, p50, _, _ in rows if p50 > TARGET_MS]
    limits = [f"Target (issue 14): every console page's p50 at most {TARGET_MS:.0f} ms and "
              f"{TARGET_RATIO:.0f} x the bare page's. Slowest: {slowest_label}, {slowest:.0f} ms "
              f"= {slowest / bare:.1f} x; over {TARGET_MS:.0f} ms: {', '.join(over) or 'none'}."]
    return Result(
        name="pages", title="console pages of the clean case, one teller", figure=slowest,
        floor=bare, ratio=slowest / bare, units="ms (p50)", figure_label="slowest page",
        floor_label="bare page", command=python_command("bench.pages", sys.argv[1:]),
        target=TARGET_RATIO, higher_is_better=False, lines=lines,
        extra={"limits": limits, "pages": {label: {"p50": p50, "p95": p95, "n": n}
                                           for label, p50, p95, n in rows},
               "bare": {"p50": bare, "p95": percentile(timings[BARE], 0.95)}},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="loads of each page at each stop")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON last")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="counter-pages-") as temporary:
        deployment = Deployment(args.dir or Path(temporary), kind=args.db, floor=False)
        try:
            staff = deployment.prepare(tellers=1, supervisors=1, cases=2, agent_every=0,
                                       demo_data=False)
            [server] = deployment.start_servers(1)
            teller = Teller(server.url, staff.tellers[0])
            codes = CodeReader(deployment.database_url)
            try:
                timings = measure(teller, codes, staff.merchants.popleft(), args.rounds)
            finally:
                codes.close()
                teller.close()
        finally:
            deployment.close()
    result = report(args, timings)
    result.print(as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
