"""The report's history: bins that stay few, participant bands that widen, and leader changes
that collapse into split episodes, all in bounded memory."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from logwatch.cli import app
from logwatch.engine import AlertTransition
from logwatch.events import Event
from logwatch.sinks.report_grid import BANDS, MAX_BINS, Bands, Series, TimeAxis
from logwatch.sinks.report_history import CHANGES_KEPT, EPISODES_KEPT, ReportHistory
from logwatch.times import US

T0 = 1_795_600_800 * US
ENV = {"ZIPNET_ROUND_PERIOD": None, "ZIPNET_ROUND_DEADLINE": None}


def test_a_day_of_rounds_fits_the_bins_and_keeps_every_count() -> None:
    axis = TimeAxis()
    series = Series(axis)
    for s in range(0, 86400, 2):
        series.add(T0 + s * US)
    assert len(series.values) <= MAX_BINS
    assert sum(series.values) == 43200
    assert axis.width_us % 5_000_000 == 0 and axis.origin_us is not None
    assert axis.origin_us % axis.width_us == 0  # bins keep their place when they merge
    # Each bin holds the rounds of its own time.
    first = axis.origin_us
    assert series.values[0] == (first + axis.width_us - T0) // (2 * US)


def test_an_earlier_time_extends_the_axis_backwards() -> None:
    axis = TimeAxis()
    a, b = Series(axis), Series(axis)
    a.add(T0 + 100 * US)
    b.add(T0)
    assert axis.origin_us is not None and axis.origin_us <= T0
    assert (a.values.index(1) - b.values.index(1)) * axis.width_us == 100 * US


def test_participant_bands_widen_and_keep_their_counts() -> None:
    axis = TimeAxis()
    bands = Bands(axis)
    rng = random.Random(1)
    values = [0, 1, 16, 17, 100, *(rng.randrange(0, 5000) for _ in range(500))]
    for v in values:
        bands.add(T0, v)
    (row,) = bands.values
    assert len(row) == BANDS + 1 and sum(row) == len(values)
    assert BANDS * bands.width >= max(values) > BANDS * bands.width // 2
    for band, count in enumerate(row):
        low, high = bands.band_range(band)
        assert count == sum(1 for v in values if low <= v <= high), band


def _claim(history: ReportHistory, host: str, at_s: float) -> None:
    history.take(Event("round_finalized", T0 + round(at_s * US), "i", "server", host, {}, True))


def _split(history: ReportHistory, state: str, at_s: float, since_s: float) -> None:
    at, since = T0 + round(at_s * US), T0 + round(since_s * US)
    history.emit(
        AlertTransition("split_brain", state, "critical", "i", at, since, "", {}, {})  # type: ignore[arg-type]
    )


def test_a_handover_is_a_change_and_a_flapping_split_one_episode() -> None:
    history = ReportHistory()
    _claim(history, "srv1", 0)
    _claim(history, "srv1", 2)
    # A handover: split_brain pending while both are in W, then let go.
    _split(history, "pending", 4, 4)
    _claim(history, "srv2", 4)
    _split(history, "resolved", 12, 4)
    # A split: the leadership flips 200 times; split_brain fires after its hold.
    _split(history, "pending", 20, 20)
    for k in range(200):
        _claim(history, "srv1" if k % 2 else "srv3", 20 + k)
    _split(history, "firing", 80, 20)
    _split(history, "resolved", 230, 20)
    changes, episodes, dropped, episodes_dropped = history.instance("i").leadership()
    assert [(c.from_host, c.to_host) for c in changes] == [("srv1", "srv2")]
    (episode,) = episodes
    assert episode.to_json() == {
        "from": "2026-11-25T10:00:20.000000Z",
        "to": "2026-11-25T10:03:50.000000Z",
        "fired_at": "2026-11-25T10:01:20.000000Z",
        "leaders": ["srv1", "srv2", "srv3"],
        "changes": 200,
    }
    assert (dropped, episodes_dropped) == (0, 0)
    assert history.instance("i").seen == {"srv1", "srv2", "srv3"}


def test_leadership_memory_is_bounded() -> None:
    history = ReportHistory()
    t = 0.0
    _claim(history, "srv0", t)
    for _ in range(EPISODES_KEPT + 50):
        _split(history, "pending", t, t)
        for host in ("srv1", "srv2", "srv1"):
            t += 1
            _claim(history, host, t)
        _split(history, "resolved", t, t)
    for k in range(CHANGES_KEPT + 7):
        t += 100
        _claim(history, f"srv{k % 2 + 3}", t)
    changes, episodes, dropped, episodes_dropped = history.instance("i").leadership()
    assert (len(episodes), episodes_dropped) == (EPISODES_KEPT, 50)
    assert len(changes) == CHANGES_KEPT and dropped == 7


def test_the_json_report_keeps_the_split_as_an_episode(tmp_path: object) -> None:
    made = CliRunner().invoke(app, ["simulate", "split", "--minutes", "3"], env=ENV)
    capture = f"{tmp_path}/split.export"
    with open(capture, "wb") as f:
        f.write(made.stdout_bytes)
    done = CliRunner().invoke(app, ["replay", capture, "--report", "-o", "json"], env=ENV)
    (inst,) = json.loads(done.stdout)["instances"]
    leaders = inst["leaders"]
    (episode,) = leaders["split_episodes"]
    assert episode["leaders"] == ["srv1", "srv2"] and episode["changes"] > 50
    assert leaders["changes"] == []  # every flip is in the episode
    (alert,) = [a for a in inst["alerts"] if a["alert"] == "split_brain"]
    assert (episode["from"], episode["fired_at"], episode["to"]) == (
        alert["pending_at"],
        alert["firing_at"],
        alert["resolved_at"],
    )
    timeline = inst["timeline"]
    assert sum(timeline["rounds"]) == inst["rounds"]["finalized"]
    both = [
        i
        for i, (a, b) in enumerate(
            zip(
                timeline["servers"]["srv1"]["leads"],
                timeline["servers"]["srv2"]["leads"],
                strict=True,
            )
        )
        if a and b
    ]
    assert both  # the committee grid shows two leaders at once
    text = CliRunner().invoke(app, ["replay", capture, "--report"], env=ENV).stdout
    assert "split episode" in text and "(no change, 1 split episode)" in text
    assert "None" not in text and "unknown" not in text
