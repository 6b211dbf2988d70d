"""`follow --alertmanager`: alerts delivered to real Alertmanagers (Debian's
prometheus-alertmanager, started here on loopback, no cluster), read back from their API."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from fleet_parts import (
    INSTANCE,
    Alertmanager,
    following,
    free_port,
    poll,
    value,
    write_rounds,
)

from logwatch.engine import AlertTransition
from logwatch.engine.diagnosis import Evidence
from logwatch.livefeed import LiveJournal
from logwatch.sinks.alertmanager import AlertmanagerSink
from logwatch.times import US, format_time, iso_to_us, wall_clock_us

RESEND = 0.5  # s: endsAt = now + 2 s, resolutions repeated for 7.5 s
STALL = {"alertname": "round_stall", "instance": INSTANCE}


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[LiveJournal]:
    with LiveJournal(tmp_path / "journal") as j:
        yield j


@pytest.fixture
def alertmanager() -> Iterator[Alertmanager]:
    with Alertmanager(resolve_timeout_s=1) as am:
        yield am


def _ms(text: str) -> int:
    """An Alertmanager time (ms precision) in µs."""
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000) * 1000


def _transition(alert: str, state: str, at_us: int, **labels: str) -> AlertTransition:
    return AlertTransition(
        alert=alert,
        state=state,  # type: ignore[arg-type]
        severity="warning",
        instance=INSTANCE,
        at_us=at_us,
        since_us=at_us,
        summary=f"{alert} {state}",
        labels={"alertname": alert, "instance": INSTANCE, "severity": "warning", **labels},
        values={"offset_s": 3.5},
    )


def test_firing_arrives_stays_past_resolve_timeout_and_resolves(
    journal: LiveJournal, alertmanager: Alertmanager
) -> None:
    with following(
        journal.directory,
        "--alertmanager", alertmanager.url, "--alertmanager-resend", f"{RESEND}s",
    ) as f:  # fmt: skip
        write_rounds(journal, 3)
        fired = f.wait_line(lambda o: o.get("alert") == "round_stall", 10)
        assert fired["state"] == "firing"
        shown = time.monotonic()
        (alert,) = poll(lambda: alertmanager.alerts(**STALL), 10, "the alert in Alertmanager")
        latency = time.monotonic() - shown
        assert alert["labels"] == {**STALL, "severity": "critical", "source": "logwatch"}
        assert alert["status"]["state"] == "active"
        assert alert["annotations"]["summary"] == fired["summary"]
        assert alert["annotations"]["runbook_url"].endswith("docs/alerts.md#round_stall")
        assert "last_round=3" in alert["annotations"]["description"]
        at = iso_to_us(fired["at"])
        assert at is not None and _ms(alert["startsAt"]) == at // 1000 * 1000
        # endsAt is a lead of 4 resends, not the resolve time: still firing.
        first_end = _ms(alert["endsAt"])
        assert first_end > wall_clock_us()
        # Kept alive by re-sending: past its first endsAt and past Alertmanager's
        # resolve_timeout (1 s) it is still active, with endsAt moved on.
        until = max(first_end, wall_clock_us() + 1 * US) + 1 * US
        while wall_clock_us() < until:
            (alert,) = alertmanager.alerts(**STALL)
            assert alert["status"]["state"] == "active"
            time.sleep(0.1)
        assert _ms(alert["endsAt"]) > first_end
        # Rounds again: resolved in logwatch, then gone from Alertmanager's active alerts.
        write_rounds(journal, 1, first_round=4)
        resolved = f.wait_line(
            lambda o: o.get("alert") == "round_stall" and o["state"] == "resolved", 10
        )
        poll(lambda: not alertmanager.alerts(**STALL), 10, "the alert to resolve")
        assert iso_to_us(resolved["at"]) is not None
    print(f"send latency: {latency * 1000:.0f} ms")


def test_two_alertmanagers_both_hear_and_one_down_stops_neither_them_nor_follow(
    journal: LiveJournal,
) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    with (
        Alertmanager() as one,
        Alertmanager() as two,
        following(
            journal.directory,
            "--alertmanager", one.url, "--alertmanager", down, "--alertmanager", two.url,
            "--alertmanager-resend", f"{RESEND}s",
        ) as f,
    ):  # fmt: skip
        write_rounds(journal, 3)
        f.wait_line(lambda o: o.get("alert") == "round_stall", 10)
        for am in (one, two):
            poll(lambda am=am: am.alerts(**STALL), 10, f"the alert in {am.url}")  # type: ignore[misc]
        # follow goes on: a round written now shows up at once.
        write_rounds(journal, 1, first_round=4)
        written = time.monotonic()
        f.wait_line(lambda o: o["type"] == "round" and o["round"] == 4, 5)
        assert time.monotonic() - written < 1.0
        samples = poll(
            lambda: (
                (s := f.scrape())
                and (value(s, "logwatch_notifications_errors_total", alertmanager=down) or 0) >= 2
                and s
            ),
            10,
            "failures to be counted",
        )
        for am in (one, two):
            sent = value(samples, "logwatch_notifications_sent_total", alertmanager=am.url)
            assert sent is not None and sent >= 1, samples
            assert value(samples, "logwatch_notifications_errors_total", alertmanager=am.url) == 0
        assert value(samples, "logwatch_notifications_sent_total", alertmanager=down) == 0
    # Said on stderr once per run of failures, not once per retry.
    assert f.final_err.count(f"alertmanager {down}: cannot send alerts") == 1, f.final_err


def test_two_replicas_on_one_journal_make_one_alert(
    journal: LiveJournal, alertmanager: Alertmanager
) -> None:
    args = ("--alertmanager", alertmanager.url, "--alertmanager-resend", f"{RESEND}s")
    with following(journal.directory, *args) as a, following(journal.directory, *args) as b:
        write_rounds(journal, 3)
        for f in (a, b):
            f.wait_line(lambda o: o.get("alert") == "round_stall", 10)
        for f in (a, b):
            # Each replica delivered at least once...
            poll(
                lambda f=f: (
                    (
                        value(
                            f.scrape(),
                            "logwatch_notifications_sent_total",
                            alertmanager=alertmanager.url,
                        )
                        or 0
                    )
                    >= 1
                ),
                10,
                "a delivery from each replica",
            )  # type: ignore[misc]
        # ...and Alertmanager holds one alert per alert: same labels from both.
        alerts = poll(lambda: alertmanager.alerts(instance=INSTANCE), 10, "alerts")
        names = [a["labels"]["alertname"] for a in alerts]
        assert "round_stall" in names
        assert len(names) == len(set(names)), names


def test_pending_is_never_sent_and_extra_labels_are(alertmanager: Alertmanager) -> None:
    sink = AlertmanagerSink([alertmanager.url], resend_s=RESEND)
    now = wall_clock_us()
    try:
        sink.emit(_transition("split_brain", "pending", now))
        sink.emit(_transition("clock_skew", "firing", now, host="srv2"))
        # Resolving what never fired tells Alertmanager nothing.
        sink.emit(_transition("no_data", "resolved", now))
        (skew,) = poll(lambda: alertmanager.alerts(instance=INSTANCE), 10, "the firing alert")
        assert skew["labels"] == {
            "alertname": "clock_skew", "instance": INSTANCE, "severity": "warning",
            "host": "srv2", "source": "logwatch",
        }  # fmt: skip
        # Wait for more sends; still only the firing one.
        sent = sink.stats().sent[alertmanager.url]
        poll(lambda: sink.stats().sent[alertmanager.url] >= sent + 2, 10, "two more sends")
        assert [a["labels"]["alertname"] for a in alertmanager.alerts()] == ["clock_skew"]
        sink.emit(_transition("clock_skew", "resolved", now + US, host="srv2"))
        poll(lambda: not alertmanager.alerts(), 10, "the resolution")
        # A stall's diagnosis goes along as annotations.
        evidence = (Evidence(now - US, "agg1", "forwarded aggregate round=9 clients=1"),)
        stall = replace(
            _transition("round_stall", "firing", now),
            cause="min_participants_unmet",
            evidence=evidence,
        )
        sink.emit(stall)
        (sent_stall,) = poll(lambda: alertmanager.alerts(alertname="round_stall"), 10, "stall")
        assert sent_stall["annotations"]["cause"] == "min_participants_unmet"
        assert sent_stall["annotations"]["evidence"] == (
            f"{format_time(now - US)} agg1: forwarded aggregate round=9 clients=1"
        )
    finally:
        sink.close()


def test_a_hanging_alertmanager_never_blocks_emit_nor_close() -> None:
    # A listener that accepts connections and never answers: each send hangs until
    # the timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        sink = AlertmanagerSink([url], resend_s=RESEND, timeout_s=0.5, capacity=10)
        now = wall_clock_us()
        started = time.perf_counter()
        for i in range(1000):
            sink.emit(_transition(f"alert_{i % 20}", "firing", now))
        emitting = time.perf_counter() - started
        assert emitting < 0.5, emitting
        poll(lambda: sink.stats().errors[url] >= 1, 10, "a timed-out send")
        stats = sink.stats()
        assert stats.sent[url] == 0
        assert stats.queue_capacity == 10
        assert stats.queue_length <= 10
        started = time.perf_counter()
        sink.close()
        assert time.perf_counter() - started < 0.5 + 1.0
    assert not [t for t in threading.enumerate() if t.name.startswith("alertmanager ")]


def test_close_is_prompt_with_the_default_resend_interval(alertmanager: Alertmanager) -> None:
    # The table thread waits up to the resend interval (60 s) for news; close must not.
    sink = AlertmanagerSink([alertmanager.url])
    sink.emit(_transition("clock_skew", "firing", wall_clock_us()))
    poll(lambda: alertmanager.alerts(alertname="clock_skew"), 10, "the alert")
    started = time.perf_counter()
    sink.close()
    assert time.perf_counter() - started < 1.0
