"""What `follow --metrics/--alertmanager` add to a follow, started and stopped together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from logwatch.engine import Engine, RuleSettings

if TYPE_CHECKING:
    from logwatch.commands.follow import FollowRun
    from logwatch.sinks.alertmanager import AlertmanagerSink
    from logwatch.sinks.metrics import MetricsServer, Publisher


@dataclass(frozen=True, slots=True)
class Fleet:
    """The metrics endpoint (with the publisher the follow loop feeds) and the
    Alertmanager sink; either may be absent."""

    publisher: Publisher | None
    server: MetricsServer | None
    alertmanager: AlertmanagerSink | None

    def attach(self, run: FollowRun) -> None:
        """Makes the follow loop count events, and take a snapshot on the tick after a
        scrape asked for one."""
        publisher = self.publisher
        if publisher is None:
            return
        run.driver.on_event = publisher.count_event
        previous = run.on_tick

        def tick(engine: Engine, now_us: int) -> None:
            if previous is not None:
                previous(engine, now_us)
            publisher.publish_if_wanted(engine, run.driver.tally, run.reading.matcher)

        run.on_tick = tick

    def close(self) -> None:
        """Stops the endpoint (the Alertmanager sink closes with the other sinks)."""
        if self.server is not None:
            self.server.close()

    def abort(self) -> None:
        """Stops both, for a follow that failed before its sinks were made."""
        self.close()
        if self.alertmanager is not None:
            self.alertmanager.close()


def start_fleet(
    metrics: str | None,
    alertmanagers: Sequence[str],
    resend_s: float,
    names: Sequence[str],
    settings: RuleSettings,
    runbook_base: str | None = None,
    patterns: Sequence[str] = (),
) -> Fleet | None:
    """Starts what the options ask for (None: neither); UsageError for a bad address, a
    port in use or a URL that is not http(s), before anything is left running.
    runbook_base: the config's, for the alerts' absolute runbook_url.
    patterns: the pattern names, exported at 0 from the first scrape."""
    if metrics is None and not alertmanagers:
        return None
    from logwatch.sinks.alertmanager import RUNBOOK_BASE, AlertmanagerSink, validate_url
    from logwatch.sinks.metrics import Publisher, parse_address, serve

    if metrics is not None:
        parse_address(metrics)
    for url in alertmanagers:
        validate_url(url)
    alertmanager = None
    if alertmanagers:
        runbook = runbook_base or RUNBOOK_BASE
        alertmanager = AlertmanagerSink(alertmanagers, resend_s=resend_s, runbook_base=runbook)
    publisher = server = None
    if metrics is not None:
        publisher = Publisher(tuple(names), settings.fallback_window_s, tuple(patterns))
        try:
            server = serve(metrics, publisher, alertmanager.stats if alertmanager else None)
        except BaseException:
            if alertmanager is not None:
                alertmanager.close()
            raise
    return Fleet(publisher, server, alertmanager)
