"""Scaled out on one PostgreSQL: two `visitcal serve` (one of them with two processes) and two
`visitcal worker` subprocesses deliver a batch exactly once; /metrics sums the processes of a
server; `visitcal status` shows the workers, and a stopped worker leaves the table."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from service.services import Services
from tests.helpers.cli import VISITCAL, run_cli, subprocess_env
from tests.helpers.live_server import free_port
from tests.helpers.receivers import HttpReceiver, confirm_by_link
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.services import ROOT, fresh_postgres, open_services
from tests.helpers.workers import WorkerProcess, reminders, wait_until

SLUG = "scaled-out-visit"
FOLLOWERS = 12


@contextmanager
def serving(database_url: str, workers: int, log: Path) -> Iterator[str]:
    """`visitcal serve --workers N` on a free port; its URL once /healthz answers."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(VISITCAL), "serve", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT,
            # One client address signs every follower up: past the per-address limit otherwise.
            env=subprocess_env(database_url, anonymous_write_burst=1000),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    try:
        assert wait_until(answers, 60, step=0.1) and process.poll() is None, log.read_text()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def metric(url: str, name: str) -> float:
    """The sum of one metric's samples (every label, every process)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def test_two_servers_and_two_workers_on_one_postgresql_deliver_a_batch_exactly_once(
    postgres_database: str, tmp_path: Path
) -> None:
    fresh_postgres(postgres_database)
    with ExitStack() as stack:
        services: Services = stack.enter_context(open_services(postgres_database))
        http = stack.enter_context(HttpReceiver())
        # One server of two processes (a shared metrics directory), one of one.
        servers = [
            stack.enter_context(serving(postgres_database, 2, tmp_path / "serve-a.log")),
            stack.enter_context(serving(postgres_database, 1, tmp_path / "serve-b.log")),
        ]
        workers = [WorkerProcess(postgres_database, heartbeat_seconds=1) for _ in range(2)]
        for worker in workers:
            stack.callback(worker.stop)
        worker_ids = {worker.wait_running() for worker in workers}

        start = whole_second(10)
        apply(
            services,
            SLUG,
            [Seg("talks", "Talks", start=start), Seg("lunch", "Lunch", start=start)],
            daytime_zone(start),
        )
        signed_up = []
        for k in range(FOLLOWERS):
            server = servers[k % 2]
            body = {"channel": http.url(f"f{k}"), "visits": [SLUG], "offsets": ["5s"]}
            created = httpx.post(f"{server}/subscriptions", json=body, timeout=30)
            assert created.status_code == 201, created.text
            subscription_id = created.json()["id"]
            assert confirm_by_link(services, server, subscription_id).status_code == 200
            signed_up.append(subscription_id)
        planned = reminders(services)
        assert len(planned) == 2 * FOLLOWERS
        assert all(r.due_at == start - timedelta(seconds=5) for r in planned)

        def reminders_arrived() -> list[str]:
            return [a.message_id for a in http.accepted if a.message_id]

        assert wait_until(lambda: len(reminders_arrived()) >= 2 * FOLLOWERS, timeout=40)
        # A second more: a repeat would still show up.
        wait_until(lambda: len(reminders_arrived()) > 2 * FOLLOWERS, timeout=1)
        arrived = Counter(reminders_arrived())

        # The two processes of the first server answered its sign-ups: /metrics sums them.
        assert metric(servers[0], "visitcal_sign_ups_total") == FOLLOWERS // 2
        assert metric(servers[0], "visitcal_workers_alive") == 2
        status = run_cli("status", database_url=postgres_database)
        assert status.returncode == 0, status.stderr
        for worker_id in worker_ids:
            assert worker_id in status.stdout and "alive" in status.stdout

        for worker in workers:
            worker.stop()
            assert worker.process.returncode == 0, worker.output
        after = run_cli("status", database_url=postgres_database)
        final = {r.state for r in reminders(services)}

    expected = {f"visitcal-{r.id}-{int(r.due_at.timestamp())}" for r in planned}
    assert arrived == Counter(dict.fromkeys(expected, 1))  # every one, once
    assert final == {"sent"}
    assert "workers: 0 alive, 0 silent" in after.stdout, after.stdout
