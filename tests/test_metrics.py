"""`follow --metrics`: the real endpoint scraped during a live follow of a journal that
systemd-journal-remote writes while it runs, parsed with prometheus_client's parser."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_parts import INSTANCE, following, poll, value, write_rounds

from logwatch.engine import SEVERITY
from logwatch.livefeed import LiveJournal
from logwatch.sinks.metrics import parse_address
from logwatch.times import US, iso_to_us

QUIET = "preview-alpha"  # named, never writes: its series must be there, at 0


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[LiveJournal]:
    with LiveJournal(tmp_path / "journal") as j:
        yield j


def test_metrics_follow_the_engine_live_and_named_instances_read_zero(
    journal: LiveJournal,
) -> None:
    with following(journal.directory, QUIET) as f:
        before = f.scrape()
        for name in (INSTANCE, QUIET):
            assert value(before, "logwatch_rounds_finalized_total", instance=name) == 0
            assert value(before, "logwatch_round_participants_count", instance=name) == 0
            assert value(before, "logwatch_clients_registered", instance=name) == 0
            for alertname, severity in SEVERITY.items():
                labels = {"alertname": alertname, "instance": name, "severity": severity}
                assert value(before, "logwatch_alert_firing", **labels) == 0
        # Counters without the `_created` series (off by design: they only add load).
        assert not [k for k in before if k[0].endswith("_created")]

        write_rounds(journal, 3)
        rounds = [f.wait_line(lambda o: o["type"] == "round", 5) for _ in range(3)]
        # The loop publishes on its next tick (within 250 ms): poll for it.
        live = poll(
            lambda: (
                (s := f.scrape())
                and value(s, "logwatch_rounds_finalized_total", instance=INSTANCE) == 3
                and s
            ),
            5,
            "3 rounds in the metrics",
        )
        last_at = iso_to_us(rounds[-1]["at"])
        assert last_at is not None
        assert value(
            live, "logwatch_last_round_finalized_timestamp_seconds", instance=INSTANCE
        ) == pytest.approx(last_at / US)
        assert value(live, "logwatch_last_round_number", instance=INSTANCE) == 3
        participants = [r["participants"] for r in rounds]
        assert (
            value(live, "logwatch_last_round_participants", instance=INSTANCE) == (participants[-1])
        )
        assert value(live, "logwatch_round_participants_count", instance=INSTANCE) == 3
        assert value(live, "logwatch_round_participants_sum", instance=INSTANCE) == sum(
            participants
        )
        assert value(live, "logwatch_round_participants_bucket", instance=INSTANCE, le="2") == 0
        assert value(live, "logwatch_round_participants_bucket", instance=INSTANCE, le="5") == 3
        # The leader of these rounds is local to itself, and only it.
        leaders = {
            dict(k[1])["member"]: v for k, v in live.items() if k[0] == "logwatch_leader_is_local"
        }
        assert sorted(leaders.values()) == [0, 0, 1], leaders
        assert leaders[rounds[-1]["leader"]] == 1
        assert value(live, "logwatch_clients_registered", instance=INSTANCE) == 3
        assert value(live, "logwatch_round_window_seconds", instance=INSTANCE) == 3 * 1.0 + 1.0
        assert (
            value(live, "logwatch_events_total", instance=INSTANCE, pattern="round_finalized") == 3
        )
        assert value(live, "logwatch_pattern_matches_total", pattern="round_finalized") == 3
        assert value(live, "logwatch_pattern_timeouts_total", pattern="round_finalized") == 0
        matched = value(live, "logwatch_entries_total", outcome="matched")
        assert matched is not None and matched >= 3 * 5
        assert value(live, "logwatch_entries_total", outcome="unreadable") == 0
        last_entry = value(live, "logwatch_last_entry_timestamp_seconds")
        assert last_entry is not None and last_entry >= last_at / US

        # Silence: the stall fires, and the metrics say so.
        f.wait_line(lambda o: o.get("alert") == "round_stall" and o["state"] == "firing", 10)
        stalled = poll(
            lambda: (s := f.scrape())
            and value(
                s, "logwatch_alert_firing",
                alertname="round_stall", instance=INSTANCE, severity="critical",
            ) == 1
            and s,
            5,
            "round_stall firing in the metrics",
        )  # fmt: skip
        # Why: after complete silence the logs cannot tell (engine/diagnosis.py).
        causes = {
            dict(k[1])["cause"]: v
            for k, v in stalled.items()
            if k[0] == "logwatch_round_stall_cause" and dict(k[1])["instance"] == INSTANCE
        }
        assert causes == {
            "committee_stuck": 0, "aggregator_down": 0, "min_participants_unmet": 0, "unknown": 1
        }  # fmt: skip
        assert not any(v for k, v in live.items() if k[0] == "logwatch_round_stall_cause")
        # Nothing vanished: the quiet instance and the leaders are all still there.
        assert value(stalled, "logwatch_rounds_finalized_total", instance=QUIET) == 0
        members = [k for k in stalled if k[0] == "logwatch_leader_is_local"]
        assert len(members) == 3
        # A scrape waits for the loop's next tick (250 ms at most when idle), no longer.
        started = time.perf_counter()
        for _ in range(20):
            f.scrape_text()
        per_scrape = (time.perf_counter() - started) / 20
        assert per_scrape < 1.0, per_scrape
        print(f"scrape: {per_scrape * 1000:.1f} ms")


def _follow_exit(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    directory = tmp_path / "journal"
    with LiveJournal(directory):
        pass
    return subprocess.run(
        [sys.executable, "-m", "logwatch", "follow", INSTANCE, "-D", str(directory), *args],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _follow_exit(tmp_path, "--metrics", f"127.0.0.1:{port}")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "--metrics" in done.stderr and "in use" in done.stderr


@pytest.mark.parametrize("address", ["9150", "localhost", "127.0.0.1:0", "127.0.0.1:99999", ":x"])
def test_a_bad_address_is_one_line_and_exit_2(tmp_path: Path, address: str) -> None:
    done = _follow_exit(tmp_path, "--metrics", address)
    assert done.returncode == 2
    assert done.stderr.startswith("logwatch: --metrics wants HOST:PORT"), done.stderr
    assert done.stderr.count("\n") == 1


def test_addresses() -> None:
    assert parse_address("127.0.0.1:9150") == ("127.0.0.1", 9150)
    assert parse_address("[::1]:9150") == ("::1", 9150)
    assert parse_address(":9150") == ("0.0.0.0", 9150)


def test_the_participants_histogram_counts_a_round_number_once() -> None:
    # A second leader's copy of a round (split brain) is one round, as the engine counts.
    from logwatch.commands.common import build_reading
    from logwatch.engine import Engine
    from logwatch.events import Event
    from logwatch.pipeline import Tally
    from logwatch.sinks.metrics import Publisher

    publisher = Publisher((INSTANCE,), 30.0)
    for host, number, participants in [("srv1", 1, 7), ("srv2", 1, 7), ("srv1", 2, 0)]:
        fields = {"round": number, "participants": participants}
        publisher.count_event(Event("round_finalized", number * US, INSTANCE, "server", host,
                                    fields, leader_only=True))  # fmt: skip
    reading = build_reading(instances=[INSTANCE], pattern_dirs_opt=[], config_path=None)
    publisher.publish(Engine(), Tally(), reading.matcher)
    hist = publisher.snapshot.participants[INSTANCE]
    assert (hist.count, hist.buckets[0], hist.total) == (2, 1, 7)
    assert publisher.snapshot.events[INSTANCE, "round_finalized"] == 3


def test_every_pattern_alert_and_named_instance_is_exported_at_0_from_the_first_scrape() -> None:
    # Before the first tick, and before any event: a rule on increase() of a series (the
    # shipped ZipnetBondDrop on heartbeat_failed) must see the series at 0 to fire on its
    # first event.
    from prometheus_client import CollectorRegistry, generate_latest

    from logwatch.commands.common import build_reading
    from logwatch.sinks.metric_families import FollowCollector, empty_snapshot

    reading = build_reading(instances=[INSTANCE], pattern_dirs_opt=[], config_path=None)
    patterns = [p.name for p in reading.patterns.patterns]
    registry = CollectorRegistry()
    registry.register(FollowCollector(lambda: empty_snapshot((INSTANCE,), 30.0, patterns)))
    text = generate_latest(registry).decode()
    for pattern in patterns:
        assert f'logwatch_events_total{{instance="{INSTANCE}",pattern="{pattern}"}} 0.0' in text
        assert f'logwatch_pattern_matches_total{{pattern="{pattern}"}} 0.0' in text
    assert 'logwatch_events_total{instance="acme-mainnet",pattern="heartbeat_failed"} 0.0' in text
    for alert in ("round_stall", "split_brain", "clock_skew", "no_data"):
        assert f'logwatch_alert_firing{{alertname="{alert}",instance="{INSTANCE}"' in text
