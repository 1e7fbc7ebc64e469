"""The scale path for real: Rasa with endpoints.scale.yml (PostgreSQL tracker store, Redis lock
store, Pika event broker), the consumer writing to PostgreSQL, and the report reading PostgreSQL."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
import yaml

from bot.analytics.store import AnalyticsStore, TrackerEvents
from tests.analytics.events import event_count
from tests.analytics.rabbit import ConsumerThread, delete_queue_and_exchange, queue_depth, wait_until
from tests.conftest import require_service
from tests.live import MODEL, ROOT, SCALE_ENV, Servers, pg_schema, write_endpoints

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Servers, str, AnalyticsStore]]:
    for name, port in (("PostgreSQL", 5432), ("RabbitMQ", 5672), ("Redis", 6379)):
        require_service(name, port)
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing")
    suffix = uuid.uuid4().hex[:10]
    queue, exchange = f"tg_scale_{suffix}", f"tg-scale-{suffix}"
    with pg_schema("scale") as (schema, url):
        workdir = tmp_path_factory.mktemp("scale")
        servers = Servers(
            workdir,
            {
                **SCALE_ENV,
                "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": url,
                "TRAENINGSGUIDEN_ANALYTICS_DATABASE_URL": url,
            },
        )
        # endpoints.scale.yml as shipped, with this test's ports, schema, queue and exchange
        write_endpoints(servers, "endpoints.scale.yml", schema, queue=queue, exchange=exchange)
        store = AnalyticsStore(url)
        consumer = ConsumerThread(store, queue, exchange).start()
        try:
            with servers.running():
                yield servers, url, store
        finally:
            consumer.stop()
            store.close()
            delete_queue_and_exchange(queue, exchange)


def test_postgresql_and_rabbitmq_end_to_end(scale: tuple[Servers, str, AnalyticsStore]) -> None:
    servers, url, store = scale
    senders = [f"scale-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    servers.send(senders[0], "jeg er 80 og lige kommet hjem fra sygehuset", {"channel": "citizen"})
    servers.send(senders[0], "ja")
    servers.send(senders[0], "Ballerup")
    servers.send(senders[1], "ssss")
    servers.send(senders[2], "min søn er 8 år, cpr 010116-1234")
    tracker = TrackerEvents(url)
    with tracker.engine.connect() as conn:
        raw = " ".join(row[0] for row in conn.execute(sa.text("SELECT data FROM events")))
        total = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
    assert "010116" not in raw and "[CPR-nummer fjernet]" in raw
    wait_until(lambda: event_count(store) >= total, seconds=120, what="the consumer caught up")
    assert event_count(store) == total
    from_tracker = {r.sender_id: r for r in tracker.records()}
    assert set(from_tracker) == set(senders)
    assert {r.sender_id: r for r in store.records()} == from_tracker
    assert from_tracker[senders[0]].outcome == "rehabilitation" and from_tracker[senders[1]].fallbacks == 1
    tracker.close()
    report = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--since", "1d", "--format", "csv"],
        cwd=ROOT,
        env=servers.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows = dict(csv.reader(io.StringIO(report.stdout)))
    assert (rows["conversations"], rows["completed"], rows["outcome_rehabilitation"]) == ("3", "1", "1")
    with store.engine.connect() as conn:
        analytics_raw = " ".join(str(row) for row in conn.execute(sa.select(store.events)))
    assert "010116" not in analytics_raw
    assert queue_depth(str(yaml.safe_load(servers.endpoints.read_text())["event_broker"]["queues"][0])) == 0
    assert "010116" not in Path(servers.workdir / "rasa.log").read_text(encoding="utf-8", errors="replace")
