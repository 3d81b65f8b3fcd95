"""Webhook dispatcher benchmark: deliveries per second and alert-to-delivery latency with
50 fast endpoints, 5 slow ones (5 s answers) and 1 dead one (never answers). Prints what
it measured; never part of the test suite.

    .venv/bin/python bench/webhooks/bench_webhooks.py [--alerts 400] [--rate 40]

The dispatcher (intake from the in-memory bus, rows in PostgreSQL, delivery over loopback)
runs in this process pinned to core 1; the receivers run in a child process on core 0, so
their work does not count against the dispatcher. Two runs side by side, the same day on
the same machine:

* baseline — the 50 fast endpoints alone;
* mixed — the same plus 5 slow and 1 dead: the fast endpoints' p99 should not move.

Latency is from ``publish_many`` returning to the receiver reading the request. Starts its
own embedded PostgreSQL in a temporary directory unless LOOKOUT_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import psycopg
import typer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.webhooks.dispatcher import Dispatcher
from api.webhooks.settings import WebhookSettings
from api.webhooks.signing import new_secret
from bus.base import Outgoing
from bus.memory import MemoryBus
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store import webhooks as db
from store.db import connect
from store.embedded import EmbeddedPostgres
from store.migrate import migrate
from store.settings import StoreSettings
from tests.support.webhook_receiver import Reply, WebhookReceiver

console = Console()
FAST, SLOW, DEAD = 50, 5, 1


def receiver_process(pipe: Connection, slow_s: float) -> None:
    """Child: one receiver, fast/slow/dead paths; sends its port, then at the end every
    (path, webhook-id, arrival time)."""
    os.sched_setaffinity(0, {0})

    async def main() -> None:
        server = await WebhookReceiver().start()
        for n in range(SLOW):
            server.script(f"/slow/{n}", default=Reply(delay_s=slow_s))
        for n in range(DEAD):
            server.script(f"/dead/{n}", default=Reply(hold=True))
        pipe.send(server.port)
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        pipe.send([(r.path, r.webhook_id, r.at) for r in server.received])
        await server.stop()

    asyncio.run(main())


def alert_message(n: int) -> tuple[Outgoing, str]:
    start = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=n)
    alert = Alert.open(
        rule=AlertRule.LOITERING,
        severity=Severity.HIGH,
        subject=str(525_000_000 + n),
        title=f"loitering {n}",
        started_at=start,
        lat=-8.5,
        lon=115.2,
    )
    event_id = str(uuid.uuid5(alert.alert_id, "opened"))
    return Outgoing(Topic.FUSION_ALERTS, str(alert.alert_id), alert, event_id=event_id), event_id


async def run_once(url: str, alerts: int, rate: float, mixed: bool) -> dict[str, float]:
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=receiver_process, args=(child, 5.0))
    proc.start()
    port = parent.recv()
    async with await connect(url) as conn:
        await conn.execute("TRUNCATE webhook_subscriptions CASCADE")
        await conn.execute(
            "INSERT INTO agencies (agency_id, name) VALUES ('BENCH', 'bench') "
            "ON CONFLICT DO NOTHING"
        )
        paths = [f"/fast/{n}" for n in range(FAST)]
        if mixed:
            paths += [f"/slow/{n}" for n in range(SLOW)] + [f"/dead/{n}" for n in range(DEAD)]
        for path in paths:
            await db.create_subscription(
                conn,
                agency_id="BENCH",
                url=f"http://127.0.0.1:{port}{path}",
                secret=new_secret(),
                fmt="cloudevents",
            )
    bus = MemoryBus(source="/bench")
    await bus.start()
    await bus.ensure_topics([Topic.FUSION_ALERTS, Topic.DEADLETTER])
    settings = WebhookSettings(
        webhook_allow_cidrs="127.0.0.0/8", dispatch_group=f"bench-{uuid.uuid4().hex[:6]}"
    )
    dispatcher = Dispatcher(bus, settings, url)
    task = asyncio.create_task(dispatcher.run())
    published: dict[str, float] = {}
    started = time.time()
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task("publishing alerts", total=alerts)
        for n in range(alerts):
            message, event_id = alert_message(n)
            due = started + n / rate
            await asyncio.sleep(max(0.0, due - time.time()))
            await bus.publish_many([message])
            published[event_id] = time.time()
            progress.advance(bar)
        bar2 = progress.add_task("waiting for the fast endpoints", total=alerts * FAST)
        expected = alerts * FAST
        while True:
            async with await connect(url) as conn:
                cur = await conn.execute(
                    """SELECT count(*) FROM webhook_deliveries d
                       JOIN webhook_subscriptions s USING (subscription_id)
                       WHERE d.status = 'delivered' AND s.url LIKE '%%/fast/%%'"""
                )
                row = await cur.fetchone()
            done = int(row[0]) if row else 0
            progress.update(bar2, completed=done)
            if done >= expected:
                break
            await asyncio.sleep(0.5)
    elapsed = time.time() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await bus.stop()
    parent.send("done")
    received = parent.recv()
    proc.join(30)
    fast = [at - published[wid] for path, wid, at in received if path.startswith("/fast/")]
    fast.sort()
    return {
        "deliveries": len(received),
        "fast deliveries": len(fast),
        "seconds": elapsed,
        "fast deliveries/s": len(fast) / elapsed,
        "p50 ms": statistics.median(fast) * 1000,
        "p99 ms": fast[int(len(fast) * 0.99) - 1] * 1000,
        "max ms": fast[-1] * 1000,
    }


async def raw_http(alerts: int) -> float:
    """The ceiling: plain signed-size POSTs to the 50 fast endpoints through httpx, 4 in
    flight per endpoint, no bus, no database, no SSRF guard. Deliveries per second."""
    import httpx

    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=receiver_process, args=(child, 5.0))
    proc.start()
    port = parent.recv()
    body = b"x" * 900  # about one CloudEvents alert
    started = time.time()

    async def endpoint(n: int) -> None:
        limits = httpx.Limits(max_connections=4)
        async with httpx.AsyncClient(limits=limits) as client:
            gate = asyncio.Semaphore(4)

            async def one() -> None:
                async with gate:
                    await client.post(f"http://127.0.0.1:{port}/fast/{n}", content=body)

            await asyncio.gather(*(one() for _ in range(alerts)))

    await asyncio.gather(*(endpoint(n) for n in range(FAST)))
    elapsed = time.time() - started
    parent.send("done")
    parent.recv()
    proc.join(30)
    return alerts * FAST / elapsed


async def bench(url: str, alerts: int, rate: float) -> None:
    async with await connect(url) as conn:
        await migrate(conn, StoreSettings(database_url=url))
    ceiling = await raw_http(alerts)
    baseline = await run_once(url, alerts, rate, mixed=False)
    mixed = await run_once(url, alerts, rate, mixed=True)
    table = Table("figure", "baseline: 50 fast", "mixed: 50 fast + 5 slow (5 s) + 1 dead")
    for key in baseline:
        table.add_row(key, f"{baseline[key]:.1f}", f"{mixed[key]:.1f}")
    console.print(table)
    console.print(f"ceiling, plain httpx POSTs to the same 50 receivers: {ceiling:.0f} /s")
    console.print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{alerts} alerts at {rate:g}/s, pinned to core 1; receivers on core 0"
    )


def main(
    alerts: int = typer.Option(400, help="Alert events published."),
    rate: float = typer.Option(40.0, help="Alert events per second."),
) -> None:
    os.sched_setaffinity(0, {1})
    external = os.environ.get("LOOKOUT_DATABASE_URL")
    if external:
        name = "lookout_bench_webhooks"
        with psycopg.connect(external, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
            admin.execute(f'CREATE DATABASE "{name}"'.encode())
        asyncio.run(bench(make_conninfo("", **{**conninfo_to_dict(external), "dbname": name}),
                          alerts, rate))  # fmt: skip
        return
    parent = Path(tempfile.mkdtemp(prefix="lookout-bench-"))
    parent.chmod(0o755)
    server = EmbeddedPostgres(parent / "data")
    url = server.start()
    try:
        asyncio.run(bench(url, alerts, rate))
    finally:
        server.stop()


if __name__ == "__main__":
    typer.run(main)
