"""Firing and resolved alerts to every Alertmanager of a cluster, kept alive as Prometheus does.

Alertmanager hears firing and resolved, never pending. A firing alert is re-sent every
`resend_s` (60 s) with `endsAt` = now + 4 × resend_s, so an Alertmanager that stops
hearing from logwatch (logwatch died, the network broke) resolves it by itself after
that; a resolved one is sent with `endsAt` = its resolve time, repeated for 15 × resend_s
(15 min) so a member that was away hears it too. Two logwatch replicas on the same
journal send the same labels and Alertmanager deduplicates them: that is the HA story,
no coordination of ours.

`emit()` never blocks the follow loop: it puts the transition in a bounded queue (full:
dropped and counted). One thread keeps the table of alerts and decides when to send;
one thread per Alertmanager sends, with a timeout, and backs off while it fails. A
newer batch replaces an unsent older one, as every batch holds the whole table.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from logwatch.engine.outputs import AlertTransition
from logwatch.errors import UsageError
from logwatch.sinks.metric_families import NotifierStats
from logwatch.times import US, format_time, wall_clock_us

RESEND_S = 60.0
LEAD_RESENDS = 4
"""endsAt = now + this many resend intervals: two lost sends in a row do not resolve it."""
RESOLVED_RESENDS = 15
"""A resolution is repeated for this many resend intervals (15 min by default)."""
QUEUE_CAPACITY = 1000
TIMEOUT_S = 10.0
BACKOFF_FIRST_S = 1.0
RUNBOOK_BASE = "docs/alerts.md"
"""Where the runbook of each alert is, as `RUNBOOK_BASE#alertname` (docs/alerts.md in the
logwatch repository, one section per alert), until the config's `runbook_base` names
the operator's copy (an absolute URL)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One alert as Alertmanager is told about it: firing while `resolved_us` is None.

    starts_us: when it fired (event time), as Prometheus sends FiredAt.
    told_until: monotonic time after which a resolution is no longer repeated.
    """

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_us: int
    resolved_us: int | None
    told_until: float

    def to_json(self, now_us: int, lead_us: int) -> dict[str, Any]:
        ends = self.resolved_us if self.resolved_us is not None else now_us + lead_us
        return {
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": format_time(self.starts_us),
            "endsAt": format_time(ends),
        }


def alert_labels(t: AlertTransition) -> dict[str, str]:
    """The alert's identity: the same in every replica, so Alertmanager deduplicates."""
    labels = {str(k): str(v) for k, v in t.labels.items()}
    labels.update(alertname=t.alert, instance=t.instance, severity=t.severity, source="logwatch")
    return labels


def alert_annotations(t: AlertTransition, runbook_base: str) -> dict[str, str]:
    values = ", ".join(f"{k}={v}" for k, v in t.values.items())
    description = f"{t.alert} on {t.instance} ({t.severity}): {t.summary}"
    annotations = {
        "summary": t.summary,
        "description": f"{description} [{values}]" if values else description,
        "runbook_url": f"{runbook_base}#{t.alert}",
    }
    if t.cause is not None:
        annotations["cause"] = t.cause
        annotations["evidence"] = "\n".join(
            f"{format_time(e.at_us)} {e.host}: {e.text}" for e in t.evidence
        )
    return annotations


def validate_url(url: str) -> str:
    """The Alertmanager's alerts endpoint for `url`; UsageError when it is not http(s)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--alertmanager wants an http(s) URL (http://HOST:9093), not {url!r}")
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, parts.path.rstrip("/") + "/api/v2/alerts", "", "")
    )


def _label_of(url: str) -> str:
    """The URL as a metric label and in messages, without any user:password in it."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class _Mailbox:
    """Holds the latest batch for one sender; a newer one replaces it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._batch: bytes | None = None
        self._closed = False

    def put(self, batch: bytes) -> None:
        with self._cond:
            self._batch = batch
            self._cond.notify()

    def put_back(self, batch: bytes) -> None:
        """A batch that failed goes back unless a newer one came meanwhile."""
        with self._cond:
            if self._batch is None:
                self._batch = batch

    def take(self, timeout_s: float | None) -> bytes | None:
        with self._cond:
            if self._batch is None and not self._closed:
                self._cond.wait(timeout_s)
            batch, self._batch = self._batch, None
            return batch

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_closed(self, timeout_s: float) -> bool:
        """Sleeps `timeout_s` (a backoff), or less when the sink closes; True if it did."""
        with self._cond:
            return self._cond.wait_for(lambda: self._closed, timeout_s)

    @property
    def closed(self) -> bool:
        return self._closed


class _Sender:
    """Posts batches to one Alertmanager, with a timeout, backing off while it fails."""

    def __init__(self, url: str, owner: AlertmanagerSink) -> None:
        self.endpoint = validate_url(url)
        self.label = _label_of(url)
        self.mailbox = _Mailbox()
        self.sent = 0
        self.errors = 0
        self._owner = owner
        self._thread = threading.Thread(
            target=self._run, name=f"alertmanager {self.label}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)

    def _run(self) -> None:
        backoff = 0.0
        failing = 0
        while True:
            batch = self.mailbox.take(None)
            if batch is None:
                if self.mailbox.closed:
                    return
                continue
            error = self._post(batch)
            if error is None:
                self.sent += 1
                if failing:
                    self._owner.say(
                        f"{self.label}: alerts delivered again after {failing} failures"
                    )
                failing, backoff = 0, 0.0
                continue
            self.errors += 1
            failing += 1
            if failing == 1:
                self._owner.say(f"{self.label}: cannot send alerts ({error}); retrying")
            if self.mailbox.closed:
                return  # the last attempt at exit: no retries
            self.mailbox.put_back(batch)
            # Doubling from 1 s, never past the resend interval, so an Alertmanager that
            # comes back hears of the alerts about as soon as it would have anyway.
            backoff = min(max(backoff * 2, BACKOFF_FIRST_S), self._owner.resend_s)
            if self.mailbox.wait_closed(backoff):
                return

    def _post(self, batch: bytes) -> str | None:
        """None when Alertmanager took the batch, else why not."""
        request = urllib.request.Request(
            self.endpoint,
            data=batch,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._owner.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as e:
            body = e.read(200).decode("utf-8", "replace").strip()
            return f"HTTP {e.code}: {body}" if body else f"HTTP {e.code}"
        except urllib.error.URLError as e:
            return str(e.reason)
        except (TimeoutError, OSError) as e:
            return str(e) or type(e).__name__
        return None


class AlertmanagerSink:
    """A sink (emit/close) that sends firing and resolved alerts to every Alertmanager in
    `urls`; `stats()` is safe to call from another thread (the metrics endpoint).

    resend_s: how often firing alerts are re-sent (60 s); the endsAt lead (4×) and how
        long a resolution is repeated (15×) follow from it.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        resend_s: float = RESEND_S,
        timeout_s: float = TIMEOUT_S,
        capacity: int = QUEUE_CAPACITY,
        runbook_base: str = RUNBOOK_BASE,
        clock: Callable[[], int] = wall_clock_us,
        stderr: IO[str] | None = None,
    ) -> None:
        if not urls:
            raise ValueError("no Alertmanager URL")
        if not resend_s > 0:
            raise UsageError("the Alertmanager resend interval must be > 0")
        self.resend_s = resend_s
        self.timeout_s = timeout_s
        self.stopping = threading.Event()
        self._senders = [_Sender(u, self) for u in dict.fromkeys(urls)]
        # None wakes the table thread to stop (it may be waiting up to resend_s).
        self._queue: queue.Queue[AlertTransition | None] = queue.Queue(capacity + 1)
        self._capacity = capacity
        self._dropped = 0
        self._runbook = runbook_base
        self._clock = clock
        self._stderr = stderr
        self._table: dict[frozenset[tuple[str, str]], Notice] = {}
        self._thread = threading.Thread(target=self._run, name="alertmanager table", daemon=True)
        for sender in self._senders:
            sender.start()
        self._thread.start()

    def emit(self, output: object) -> None:
        """Takes firing and resolved transitions; never blocks."""
        if not isinstance(output, AlertTransition) or output.state == "pending":
            return
        if self._queue.qsize() >= self._capacity:  # the last slot is kept for close()
            self._dropped += 1  # only this thread writes it; readers see a recent value
            return
        try:
            self._queue.put_nowait(output)
        except queue.Full:
            self._dropped += 1

    def close(self, summary: Mapping[str, Any] | None = None) -> None:
        """Sends what changed since the last batch, once, within the timeout; then stops."""
        self.stopping.set()
        with contextlib.suppress(queue.Full):  # full: the thread is busy, not waiting
            self._queue.put_nowait(None)
        self._thread.join(self.timeout_s)
        for sender in self._senders:
            sender.mailbox.close()
        deadline = time.monotonic() + self.timeout_s
        for sender in self._senders:
            sender.join(max(0.0, deadline - time.monotonic()))

    def stats(self) -> NotifierStats:
        return NotifierStats(
            sent={s.label: s.sent for s in self._senders},
            errors={s.label: s.errors for s in self._senders},
            dropped=self._dropped,
            queue_length=self._queue.qsize(),
            queue_capacity=self._capacity,
        )

    def say(self, text: str) -> None:
        print(f"logwatch: alertmanager {text}", file=self._stderr or sys.stderr, flush=True)

    def _run(self) -> None:
        next_send = time.monotonic() + self.resend_s
        while True:
            stopping = self.stopping.is_set()
            wait = 0.0 if stopping else max(0.0, next_send - time.monotonic())
            changed = False
            with contextlib.suppress(queue.Empty):
                changed = self._apply(self._queue.get(timeout=wait) if wait else None)
            while True:  # take everything queued: one batch for a burst of transitions
                try:
                    changed |= self._apply(self._queue.get_nowait())
                except queue.Empty:
                    break
            now = time.monotonic()
            if changed or (now >= next_send and not stopping):
                self._dispatch(now)
                next_send = now + self.resend_s
            if stopping:
                return

    def _apply(self, t: AlertTransition | None) -> bool:
        if t is None:
            return False
        labels = alert_labels(t)
        key = frozenset(labels.items())
        if t.state == "firing":
            notice = Notice(labels, alert_annotations(t, self._runbook), t.at_us, None, 0.0)
        else:
            fired = self._table.get(key)
            if fired is None or fired.resolved_us is not None:
                return False  # never told it was firing: nothing to resolve
            until = time.monotonic() + RESOLVED_RESENDS * self.resend_s
            notice = Notice(
                labels, alert_annotations(t, self._runbook), fired.starts_us, t.at_us, until
            )
        self._table[key] = notice
        return True

    def _dispatch(self, now: float) -> None:
        for key in [k for k, n in self._table.items() if n.resolved_us and n.told_until < now]:
            del self._table[key]
        if not self._table:
            return
        now_us = self._clock()
        lead_us = round(LEAD_RESENDS * self.resend_s * US)
        batch = json.dumps([n.to_json(now_us, lead_us) for n in self._table.values()]).encode()
        for sender in self._senders:
            sender.mailbox.put(batch)
