"""What authenticating a request costs: an authenticated route against a bare one.

    python -m bench.auth [--seconds 3] [--concurrency 20] [--json]

Two sync routes are added to the app for the run: ``/bench/bare`` (no
dependency at all: the floor, one thread hop for the route) and
``/bench/auth`` (the API's own ``ApiUser`` and ``WebDep`` dependencies in
front of the same body). Both are driven in-process through ASGI (no
sockets) by ``--concurrency`` tasks for ``--seconds`` each, alternately, and
the process's CPU time per request is measured for each. It also counts the
thread-pool hops one authenticated request makes (calls of
``anyio.to_thread.run_sync``). The figures are ratios in the same run,
authenticated against bare: of requests/s, and of CPU per request (the
steadier of the two on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from sqlmodel import SQLModel

from counter.config import Settings
from counter.store import users
from counter.store.db import Database
from counter.store.migrate import import_table_modules
from counter.web.app import create_app
from counter.web.context import build_context
from counter.web.deps import ApiUser, WebDep

PASSWORD = "bench-auth-password-2026"


def build(folder: Path) -> Any:
    settings = Settings(
        database_url=f"sqlite:///{folder / 'counter.db'}",
        var_dir=folder,
        demo_mode=True,
        secret_key="bench-auth-secret-not-the-default",
    )
    db = Database(settings.database_url)
    import_table_modules()
    SQLModel.metadata.create_all(db.engine)
    users.create_branch(db, code="B001", name_zh="一", name_en="One")
    users.create_user(db, username="bench1", password=PASSWORD, roles=["teller"], branch="B001")
    app = create_app(settings, context=build_context(settings, db=db))

    @app.get("/bench/bare")
    def bare() -> dict[str, str]:
        return {"who": "nobody"}

    @app.get("/bench/auth")
    def authenticated(principal: ApiUser, web: WebDep) -> dict[str, str]:
        return {"who": principal.username}

    return app


async def drive(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], seconds: float, tasks: int
) -> tuple[float, float]:
    """(requests/s, CPU ms per request) of ``tasks`` loops on ``path`` for ``seconds``."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            answer = await client.get(path, headers=headers)
            assert answer.status_code == 200, answer.text
            done += 1

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(loop() for _ in range(tasks)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return done / wall, 1000 * cpu / max(done, 1)


async def hops_per_request(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> int:
    """Thread-pool hops of one request (FastAPI validates a sync route's answer in one too)."""
    real = anyio.to_thread.run_sync
    calls = 0

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await real(*args, **kwargs)

    anyio.to_thread.run_sync = counted  # type: ignore[assignment]
    try:
        for _ in range(10):
            await client.get(path, headers=headers)
    finally:
        anyio.to_thread.run_sync = real
    return calls // 10


async def main_async(seconds: float, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        app = build(Path(folder))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            answer = await client.post(
                "/api/session", json={"username": "bench1", "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            headers = {"Authorization": f"Bearer {answer.json()['token']}"}
            hops = await hops_per_request(client, "/bench/auth", headers)
            bare_hops = await hops_per_request(client, "/bench/bare", {})
            await drive(client, "/bench/auth", headers, 0.5, concurrency)  # warm up
            floor, floor_cpu, ours, ours_cpu = [], [], [], []
            for _ in range(3):  # alternate, so that noise falls on both
                rate, cpu = await drive(client, "/bench/bare", {}, seconds / 3, concurrency)
                floor.append(rate)
                floor_cpu.append(cpu)
                rate, cpu = await drive(client, "/bench/auth", headers, seconds / 3, concurrency)
                ours.append(rate)
                ours_cpu.append(cpu)
    return {
        "floor_rps": sorted(floor)[1],
        "floor_cpu_ms": sorted(floor_cpu)[1],
        "auth_rps": sorted(ours)[1],
        "auth_cpu_ms": sorted(ours_cpu)[1],
        "hops_per_request": hops,
        "dependency_hops": hops - bare_hops,
        "ratio": sorted(ours)[1] / sorted(floor)[1],
        "cpu_ratio": sorted(floor_cpu)[1] / sorted(ours_cpu)[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main_async(args.seconds, args.concurrency))
    if args.json:
        print(json.dumps(result))
        return
    print(f"floor: {result['floor_rps']:.0f} requests/s, "
          f"{result['floor_cpu_ms']:.2f} ms CPU each (bare sync route)")
    print(f"auth: {result['auth_rps']:.0f} requests/s, "
          f"{result['auth_cpu_ms']:.2f} ms CPU each (ApiUser + WebDep, same route body)")
    print(f"thread hops per authenticated request: {result['hops_per_request']:.0f}, "
          f"of which the dependencies: {result['dependency_hops']:.0f}")
    print(f"ratio: {result['ratio']:.2f} (requests/s, authenticated over bare)")
    print(f"cpu ratio: {result['cpu_ratio']:.2f} (CPU per request, bare over authenticated)")


if __name__ == "__main__":
    main()
