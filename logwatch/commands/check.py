"""`logwatch check`: the recent journal evaluated up to now, Nagios-style status and exit code."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from logwatch.commands.common import Reading, build_reading, rule_settings
from logwatch.commands.source_options import SourceOptions, look_back
from logwatch.engine import Engine, InstanceView, RuleSettings
from logwatch.engine.hostclock import HostTime
from logwatch.errors import InputError
from logwatch.escape import escape_text
from logwatch.match import Matcher
from logwatch.pipeline import Selection, read_steps
from logwatch.run.driver import Driver
from logwatch.run.replay_plan import Opener, ReplayPlan
from logwatch.sinks.json_output import dumps
from logwatch.sources.journalctl_window import JournalctlWindow
from logwatch.sources.live import check_journal_access, local_roots, seqnum_id
from logwatch.times import US, format_time, parse_time, wall_clock_us

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
# Which status wins when instances differ: a critical one is what must wake someone.
_RANK = {OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3}


class _Discard:
    """check prints statuses, not transitions."""

    def emit(self, output: object) -> None:
        return None

    def close(self, summary: object) -> None:
        return None


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """What the user asked for, validated: the reading side, the rules and the period."""

    reading: Reading
    settings: RuleSettings
    since_us: int
    now_us: int


def prepare_check(
    *,
    instances: Sequence[str],
    since: str,
    round_period: str | None,
    round_deadline: str | None,
    expect_clients: int | None,
    pattern_dirs: Sequence[Path],
    config_path: Path | None,
    now_us: int | None = None,
) -> CheckPlan:
    """Config, patterns, names, times and rule numbers: what the user typed, checked before
    anything is read (a bad one is a usage error, 2; what cannot be read is UNKNOWN, 3).
    now_us: the time the check is made at (default: the wall clock)."""
    reading = build_reading(
        instances=instances, pattern_dirs_opt=pattern_dirs, config_path=config_path
    )
    settings = rule_settings(reading, round_period, round_deadline, expect_clients)
    now = wall_clock_us() if now_us is None else now_us
    return CheckPlan(reading, settings, parse_time(since, now), now)


def run_check(plan: CheckPlan, *, source: SourceOptions, output: str) -> int:
    """Evaluate each instance over [since, now] as a replay of that window of the journal
    would (docs/clock.md: the same offsets, the same alerts); print one status line
    (text) or one JSON line per instance; return the worst code."""
    settings, since_us, now = plan.settings, plan.since_us, plan.now_us
    names = sorted(plan.reading.selection.instances or ())
    reading = dataclasses.replace(
        plan.reading, selection=Selection(frozenset(names), since_us, now)
    )
    inputs, opener = _window(source, since_us, now)
    replay = ReplayPlan(reading, inputs, None, opener=opener)
    offsets = replay.first_look(settings.clock_tolerance_us)
    engine = Engine(settings, HostTime(settings.clock_tolerance_us, offsets))
    for name in names:
        # Watched from --since, as the operator asked: "no round for W" counts from it.
        engine.start_watch(name, since_us)
    driver = Driver(engine, _Discard())
    # What each instance last said before --since, taken in first: one silent since
    # before it is stalled, not "no entries".
    stale = settings.fallback_window_us
    said, _ = look_back(source, reading, names, since_us, stale)
    everyone = Selection(reading.selection.instances, None, None)
    driver.take(
        read_steps(said, reading.new_decoder(), Matcher(reading.patterns), everyone, driver.tally)
    )
    driver.take(replay.steps(driver.tally, offsets))
    # Evaluated up to now: an instance silent since its last entry stalls by now.
    driver.finish(end_us=now)
    seen = {v.instance: v for v in engine.instances()}
    results = [_Result(name, *_status(seen.get(name), now, settings)) for name in names]
    worst = max((r.code for r in results), key=_RANK.__getitem__, default=OK)
    if output == "json":
        for r in results:
            print(_json_line(r.instance, r.code, r.text, r.perfdata))
    else:
        print(status_line(results, settings))
    return worst


@dataclass(frozen=True, slots=True)
class _Result:
    instance: str
    code: int
    text: str
    perfdata: Mapping[str, float | None]


def _window(source: SourceOptions, since_us: int, until_us: int) -> tuple[list[str], Opener | None]:
    """What a check reads: the journal directory, files or the system journal's
    directories (sought to `since_us`), or a journalctl run over the window."""
    directory = str(source.directory) if source.directory is not None else None
    files = [str(f) for f in source.files]
    if source.journalctl:
        window = JournalctlWindow(since_us, until_us, directory=directory, files=files)
        return [window.origin], window
    check_journal_access(directory, files or None)
    for name in files:
        if seqnum_id(Path(name)) is None:
            raise InputError(f"{name}: not a journal file (it has no journal file header)")
    if files:
        return files, None
    if directory is not None:
        return [directory], None
    return [str(d) for d in local_roots() if d.is_dir()], None


def unknown(reason: str, names: Sequence[str], output: str) -> str:
    """What a check that cannot look prints on stdout, as Nagios wants a status line
    whatever happens: `UNKNOWN - reason`, or one JSON line per instance."""
    if output != "json":
        return f"UNKNOWN - {_plain(reason)}"
    return "\n".join(_json_line(name, UNKNOWN, reason, {}) for name in names or [""])


def _json_line(instance: str, code: int, text: str, perfdata: Mapping[str, float | None]) -> str:
    """One instance's status as `--output json` prints it (docs/json.md)."""
    return dumps(
        {
            "type": "check",
            "instance": instance,
            "status": STATUS[code],
            "code": code,
            "text": text,
            "perfdata": dict(perfdata),
        }
    )


def status_line(results: Sequence[_Result], settings: RuleSettings) -> str:
    """The one line Nagios shows: worst instance first, each `STATUS name: text`, then
    `|` and the performance data (labels prefixed by the instance when there are several).
    Log-derived text is escaped and holds no `|`, which would start the perfdata."""
    ordered = sorted(results, key=lambda r: -_RANK[r.code])
    text = "; ".join(f"{STATUS[r.code]} {_plain(r.instance)}: {_plain(r.text)}" for r in ordered)
    perf = []
    for r in results:
        prefix = f"{r.instance}_" if len(results) > 1 else ""
        for name, value in r.perfdata.items():
            perf.append(_perf(prefix + name, value, settings))
    return f"{text} | {' '.join(perf)}" if perf else text


def _perf(label: str, value: float | None, settings: RuleSettings) -> str:
    """One Nagios performance datum: 'label'=value[UOM];warn;crit;min."""
    shown = "U" if value is None else f"{value:.1f}".rstrip("0").rstrip(".")
    quoted = "'" + label.replace("'", "''") + "'"
    if label.endswith("last_round_age"):
        period = settings.period_us
        warn = crit = ""
        if period is not None:
            warn = f"{period / US:g}"
            crit = f"{settings.window_us(period) / US:g}"
        unit = "" if value is None else "s"
        return f"{quoted}={shown}{unit};{warn};{crit};0"
    return f"{quoted}={shown};;;0"


def _plain(text: str) -> str:
    return escape_text(text).replace("|", "/")


def _status(
    view: InstanceView | None, now_us: int, settings: RuleSettings
) -> tuple[int, str, dict[str, float | None]]:
    age = None
    if view is not None and view.last_round_at_us is not None:
        age = max(0, now_us - view.last_round_at_us) / US
    perfdata: dict[str, float | None] = {
        "rounds_per_min": round(view.round_rate_1m, 2) if view is not None else None,
        "last_round_age": None if age is None else round(age, 3),
    }
    if view is None or not view.entries_seen:
        # No view at all: the engine holds one only because check started its watch, and
        # the alerts of that watch (a stall counted from --since) are about nothing seen.
        return UNKNOWN, "no entries for this instance in the journal over the period", perfdata
    facts = []
    if view.last_round is not None and age is not None:
        facts.append(f"last round {view.last_round} {age:.0f}s ago")
    facts.append(f"{view.round_rate_1m:.1f} rounds/min")
    if view.leader:
        facts.append(f"leader {view.leader}")
    # Firing alerts decide first: whatever else is unknown, they are known.
    firing = [a for a in view.active_alerts if a.state == "firing"]
    if firing:
        code = CRITICAL if any(a.severity == "critical" for a in firing) else WARNING
        alerts = "; ".join(
            f"{a.alert} since {format_time(a.since_us)} ({a.summary})" for a in firing
        )
        return code, f"{alerts} - {', '.join(facts)}", perfdata
    if view.round_period_s is None and view.last_round is None:
        # Without P the stall rule has no window, and no round was seen: OK would be a guess.
        return (
            UNKNOWN,
            "round period unknown and no round finalized over the period "
            "(set --round-period or [rules] round_period)",
            perfdata,
        )
    return OK, ", ".join(facts), perfdata
