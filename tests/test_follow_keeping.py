"""`logwatch follow --state-dir --metrics` says what it could not keep (issue 19): a cursor
vacuumed while it was down, a state directory it cannot write. Real journal-remote files,
journal-remote's own rotation, journalctl's vacuum, a real tmpfs made read-only."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from fleet_parts import INSTANCE, following, poll, value, write_rounds
from mounts import remount, small_fs

from logwatch.livefeed import LiveJournal
from logwatch.simulate.rotation import rotation_export
from logwatch.times import wall_clock_us

WAIT_S = 30.0


def shown(lines: list[dict[str, object]]) -> list[int]:
    return [int(str(o["round"])) for o in lines if o["type"] == "round"]


def rotate(journal: LiveJournal) -> None:
    before = len(list(journal.directory.glob("*@*.journal")))
    journal.write(rotation_export(wall_clock_us()))
    poll(lambda: len(list(journal.directory.glob("*@*.journal"))) > before, WAIT_S, "rotation")


def rounds_in(directory: Path) -> list[int]:
    """The rounds finalized that the journal files in `directory` hold, as journalctl reads."""
    text = subprocess.run(
        ["journalctl", f"--directory={directory}", "-o", "cat", "--no-pager"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [int(n) for n in re.findall(r"round finalized round=(\d+)", text)]


def test_a_cursor_vacuumed_while_down_is_said_once_counted_and_nothing_left_is_missed(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with LiveJournal(tmp_path / "journal") as journal:
        d = journal.directory
        with following(d, "--state-dir", str(state)) as f:
            write_rounds(journal, 2)
            f.wait_line(lambda o: o.get("round") == 2, WAIT_S)
        # Down: the collector writes on, rotates and vacuums away the cursor's file.
        write_rounds(journal, 2, first_round=3)
        rotate(journal)
        write_rounds(journal, 2, first_round=5)
        rotate(journal)
        write_rounds(journal, 2, first_round=7)
        subprocess.run(["journalctl", f"--directory={d}", "--vacuum-files=2"], check=True)
        # Written when journal-remote has taken the last round in.
        left = poll(lambda: (r := rounds_in(d))[-1:] == [8] and r, WAIT_S, "round 8 written")
        assert left == [5, 6, 7, 8]
        with following(d, "--state-dir", str(state)) as again:
            again.wait_line(lambda o: o.get("round") == 8, WAIT_S)
            assert shown(again.lines) == left
            samples = again.scrape()
            assert value(samples, "logwatch_journal_gaps_total") == 1
            gone = value(samples, "logwatch_journal_gap_entries_total")
            assert gone is not None and gone > 0
            assert value(samples, "logwatch_journal_files_changed_total", change="truncated") == 0
    err = again.final_err
    lines = [x for x in err.splitlines() if "saved cursor" in x]
    assert len(lines) == 1, err
    assert re.fullmatch(
        r"logwatch: saved cursor \(\S+\): [\d.]+ s of journal after it \([\d,]+ entries\) "
        r"no longer in the journal \(vacuumed while logwatch was not reading\); resuming at "
        r"the oldest entry left",
        lines[0],
    )


def test_a_state_dir_that_turns_read_only_is_said_once_and_following_goes_on(
    tmp_path: Path,
) -> None:
    with small_fs(tmp_path / "fs") as fs, LiveJournal(tmp_path / "journal") as journal:
        state = fs / "state"
        with following(journal.directory, "--state-dir", str(state)) as f:
            write_rounds(journal, 1)
            f.wait_line(lambda o: o.get("round") == 1, WAIT_S)
            poll(lambda: list(state.glob("*.cursor")), WAIT_S, "a cursor saved")
            assert value(f.scrape(), "logwatch_cursor_save_failing") == 0
            remount(fs, "ro")
            write_rounds(journal, 1, first_round=2)  # a cursor to save
            poll(lambda: "cannot save the cursor" in f.err(), WAIT_S, "the failure said")
            f.wait_line(lambda o: o.get("round") == 2, WAIT_S)  # following goes on
            samples = f.scrape()
            assert value(samples, "logwatch_cursor_save_failing") == 1
            errors = value(samples, "logwatch_cursor_save_errors_total")
            assert errors is not None and errors >= 1
            write_rounds(journal, 1, first_round=3)
            f.wait_line(lambda o: o.get("round") == 3, WAIT_S)
            # Tried again at every save, said once.
            poll(
                lambda: (value(f.scrape(), "logwatch_cursor_save_errors_total") or 0) > errors,
                WAIT_S,
                "another attempt",
            )
            assert f.err().count("cannot save the cursor") == 1
            remount(fs, "rw")
            poll(lambda: "cursor saved again" in f.err(), WAIT_S, "the recovery said")
            assert value(f.scrape(), "logwatch_cursor_save_failing") == 0
        (cursor,) = state.glob("*.cursor")
        assert cursor.name.startswith(INSTANCE)
    err = f.final_err
    assert err.count("cannot save the cursor") == 1 and err.count("cursor saved again") == 1


def test_a_long_warm_up_does_not_put_every_host_ahead() -> None:
    """A restart reads its backlog while the hosts write on: what it reads last was
    written after it started. Nothing of the backlog is judged against the wall clock
    (it was, and every host looked ahead by the warm-up's length: clock_skew for each,
    seen in the soak after its kill -9). The follow runs on a stepped clock: the backlog
    is handed over by a stand-in source, a real journal cannot be written in the past."""
    import contextlib
    import io
    import json

    from logwatch.commands.follow import FollowOptions, FollowRun
    from logwatch.commands.source_options import SourceOptions
    from logwatch.records import Entry, RawItem
    from logwatch.run.clock import SteppedClock
    from logwatch.simulate import Scenario, render
    from logwatch.sources.live import StartPoint, triaged
    from logwatch.times import US
    from logwatch.triage import Triage

    lines = Scenario(INSTANCE, period_s=1.0, servers=3, clients=2).start().rounds(6).lines()
    started = lines[0].time_us - 10 * US  # the follow started 10 s before the first line

    class Backlog:
        """The lines, written while the warm-up ran, in batches of 25."""

        def __init__(self) -> None:
            self.batches = [lines[i : i + 25] for i in range(0, len(lines), 25)]

        def start(self, **_: object) -> StartPoint:
            return StartPoint("lookback", started - 60 * US)

        def poll(self, timeout_s: float, triage: Triage | None = None) -> list[RawItem]:
            if not self.batches:
                return []
            return triaged([
                Entry(x.time_us, True, {"MESSAGE": render(x, "full"),
                                        "_SYSTEMD_UNIT": x.unit_name, "_HOSTNAME": x.host})
                for x in self.batches.pop(0)
            ], triage)  # fmt: skip

        cursor = None

        def take_notices(self) -> list[str]:
            return []

        def close(self) -> None:
            return None

    out = io.StringIO()
    options = FollowOptions(
        instances=(INSTANCE,), source=SourceOptions(directory=Path("/nonexistent")),
        round_period="1s", round_deadline="1s", events="rounds", output="json",
    )  # fmt: skip
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        run = FollowRun(options, clock=SteppedClock(started), source=Backlog())  # type: ignore[arg-type]
        run.close()
    shown = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len([o for o in shown if o["type"] == "round"]) == 6
    assert [o["alert"] for o in shown if o["type"] == "alert"] == []
