"""The replay report's history: rounds, participants and leaders over time; split episodes."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from logwatch.engine import AlertTransition, LeaderChange, RoundObservation
from logwatch.engine.hostclock import CaptureOffsets
from logwatch.events import Event
from logwatch.sinks import Output
from logwatch.sinks.report_grid import Bands, Series, TimeAxis
from logwatch.times import US, format_time

MAX_SERVERS = 32
"""Servers per instance given a row of the committee grid; more are counted, not drawn."""
CHANGES_KEPT = 100
"""Leader changes outside split episodes kept per instance (the latest; the rest counted)."""
EPISODES_KEPT = 1000
"""Split episodes kept per instance (the latest; the rest counted)."""
SPLIT_BRAIN = "split_brain"


@dataclass(frozen=True, slots=True)
class SplitEpisode:
    """A time split_brain was active (pending or firing) in which the leadership flipped at
    least twice or the alert fired: from its start to its resolution (None: still going
    when the capture ended), the servers that acted as leader in it, and how often the
    leadership changed hands."""

    start_us: int
    end_us: int | None
    fired_us: int | None
    leaders: tuple[str, ...]
    changes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "from": format_time(self.start_us),
            "to": None if self.end_us is None else format_time(self.end_us),
            "fired_at": None if self.fired_us is None else format_time(self.fired_us),
            "leaders": list(self.leaders),
            "changes": self.changes,
        }


class _Run:
    """split_brain active: what happened to the leadership meanwhile."""

    __slots__ = ("changes", "fired_us", "first_change", "leaders", "start_us")

    def __init__(self, start_us: int, leader: str | None) -> None:
        self.start_us = start_us
        self.fired_us: int | None = None
        self.leaders: set[str] = {leader} if leader is not None else set()
        self.changes = 0
        self.first_change: LeaderChange | None = None

    def episode(self, end_us: int | None) -> SplitEpisode | None:
        """The run as a split episode; None for a handover (one change, never fired)."""
        if self.fired_us is None and self.changes < 2:
            return None
        leaders = tuple(sorted(self.leaders))
        return SplitEpisode(self.start_us, end_us, self.fired_us, leaders, self.changes)


class ServerTrack:
    """One committee server on the axis: leader-only events (it says it leads) and its
    other events (it takes part)."""

    __slots__ = ("leads", "writes")

    def __init__(self, axis: TimeAxis) -> None:
        self.leads = Series(axis)
        self.writes = Series(axis)


class InstanceHistory:
    """One instance's history: the binned series and the leadership."""

    __slots__ = (
        "changes",
        "changes_dropped",
        "episodes",
        "episodes_dropped",
        "leader",
        "leader_us",
        "participants",
        "rounds",
        "run",
        "seen",
        "servers",
        "servers_dropped",
    )

    def __init__(self, axis: TimeAxis) -> None:
        self.rounds = Series(axis)
        self.participants = Bands(axis)
        self.servers: dict[str, ServerTrack] = {}
        self.servers_dropped: set[str] = set()
        self.leader: str | None = None
        self.leader_us: int | None = None
        self.changes: deque[LeaderChange] = deque(maxlen=CHANGES_KEPT)
        self.changes_dropped = 0
        self.episodes: deque[SplitEpisode] = deque(maxlen=EPISODES_KEPT)
        self.episodes_dropped = 0
        self.run: _Run | None = None
        self.seen: set[str] = set()

    def track(self, host: str, axis: TimeAxis) -> ServerTrack | None:
        track = self.servers.get(host)
        if track is None:
            if len(self.servers) >= MAX_SERVERS:
                if len(self.servers_dropped) < MAX_SERVERS * 32:
                    self.servers_dropped.add(host)
                return None
            track = self.servers[host] = ServerTrack(axis)
        return track

    def claim(self, host: str, at_us: int) -> None:
        """`host` acted as leader at `at_us`."""
        if len(self.seen) < MAX_SERVERS * 32:
            self.seen.add(host)
        # A late entry says who led then, not who leads now (as the engine reads it).
        if self.leader_us is not None and at_us < self.leader_us:
            return
        self.leader_us = at_us
        run = self.run
        if run is not None:
            run.leaders.add(host)
        previous, self.leader = self.leader, host
        if previous is None or previous == host:
            return
        change = LeaderChange(at_us, previous, host)
        if run is None:
            self._note_change(change)
            return
        run.changes += 1
        if run.first_change is None:
            run.first_change = change

    def split_brain(self, t: AlertTransition) -> None:
        """split_brain moved: a run opens, fires or ends."""
        if t.state == "resolved":
            if self.run is not None:
                self._close(self.run, t.at_us)
                self.run = None
            return
        if self.run is None:
            self.run = _Run(t.since_us, self.leader)
        if t.state == "firing" and self.run.fired_us is None:
            self.run.fired_us = t.at_us
        other = t.values.get("other_leader")
        if other is not None:
            # A rival report names the other leader by its peer id, not a host.
            self.run.leaders.add(str(other))

    def _close(self, run: _Run, end_us: int | None) -> None:
        episode = run.episode(end_us)
        if episode is not None:
            if len(self.episodes) == self.episodes.maxlen:
                self.episodes_dropped += 1
            self.episodes.append(episode)
        elif run.first_change is not None:
            self._note_change(run.first_change)

    def _note_change(self, change: LeaderChange) -> None:
        if len(self.changes) == self.changes.maxlen:
            self.changes_dropped += 1
        self.changes.append(change)

    def leadership(self) -> tuple[list[LeaderChange], list[SplitEpisode], int, int]:
        """(changes outside split episodes, split episodes, changes dropped, episodes
        dropped) as of now: a run still open counts as it would if it ended now."""
        changes, episodes = list(self.changes), list(self.episodes)
        dropped, episodes_dropped = self.changes_dropped, self.episodes_dropped
        run = self.run
        if run is not None:
            episode = run.episode(None)
            if episode is not None:
                episodes.append(episode)
            elif run.first_change is not None:
                changes.append(run.first_change)
        return changes, episodes, dropped, episodes_dropped


class ReportHistory:
    """A sink for the replay report: takes the engine's outputs (`emit`) and the matched
    events (`take`) and keeps, per instance, what the report draws over time. Memory is
    bounded: the axis keeps MAX_BINS bins, the leadership its episodes, not every change.

    offsets: the capture's host clock offsets (the first look), so that a skewed host's
    events are placed at their corrected time, as the engine places them.
    """

    def __init__(self, offsets: CaptureOffsets | None = None) -> None:
        self.axis = TimeAxis()
        self._offsets = offsets
        self._instances: dict[str, InstanceHistory] = {}

    def instance(self, name: str) -> InstanceHistory:
        history = self._instances.get(name)
        if history is None:
            history = self._instances[name] = InstanceHistory(self.axis)
        return history

    def emit(self, output: Output) -> None:
        if isinstance(output, RoundObservation):
            history = self.instance(output.instance)
            history.rounds.add(output.at_us)
            if output.participants is not None:
                history.participants.add(output.at_us, output.participants)
        elif isinstance(output, AlertTransition) and output.alert == SPLIT_BRAIN:
            self.instance(output.instance).split_brain(output)

    def take(self, event: Event) -> None:
        """A matched event: a server's says it leads (leader-only) or takes part."""
        host = event.host
        if event.role != "server" or host is None:
            return
        at_us = event.time_us
        if self._offsets is not None:
            at_us -= self._offsets.offset(host, at_us)
        history = self.instance(event.instance)
        track = history.track(host, self.axis)
        if event.leader_only:
            if track is not None:
                track.leads.add(at_us)
            history.claim(host, at_us)
        elif track is not None:
            track.writes.add(at_us)

    def close(self, summary: dict[str, Any] | None) -> None:
        """Nothing to flush: the report is built from the history afterwards."""

    def axis_json(self) -> dict[str, Any]:
        origin = self.axis.origin_us
        return {
            "from": None if origin is None else format_time(origin),
            "bin_s": self.axis.width_us / US,
            "bins": self.axis.bins,
        }

    def timeline_json(self, name: str) -> dict[str, Any]:
        """One instance's series, each as long as the axis."""
        history = self.instance(name)
        n = self.axis.bins

        def padded(values: list[int]) -> list[int]:
            return values + [0] * (n - len(values))

        bands = history.participants
        rows = bands.values + [bands.empty() for _ in range(n - len(bands.values))]
        return {
            "rounds": padded(history.rounds.values),
            "participants": {"band_width": bands.width, "bins": rows},
            "servers": {
                host: {"leads": padded(t.leads.values), "writes": padded(t.writes.values)}
                for host, t in sorted(history.servers.items())
            },
            "servers_dropped": len(history.servers_dropped),
        }
