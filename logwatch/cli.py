"""The `logwatch` command line: options and help only; each command's work is in commands/."""

import functools
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from logwatch.errors import LogwatchError

_CONTEXT = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    help="Watch zipnet instances through their journald logs: rounds, leaders, clients, "
    "stalls and split-brain.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=_CONTEXT,
)
patterns_app = typer.Typer(
    help="List the named patterns, or test them on captured logs.",
    no_args_is_help=True,
    context_settings=_CONTEXT,
)
app.add_typer(patterns_app, name="patterns")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"logwatch {version('logwatch')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Watch zipnet instances through their journald logs: rounds, leaders, clients, stalls
    and split-brain. Docs: docs/ in the repository; `logwatch COMMAND -h` for a command."""


Command = TypeVar("Command", bound=Callable[..., Any])


class _ReaderGone(Exception):
    """Whoever read stdout went away (`| head`)."""


def _pipe_closing(command: Command) -> Command:
    """A command whose output's reader may go away: typer would make that exit 1, but it
    is how `| head` ends a run, so main() makes it exit 0."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BrokenPipeError:
            raise _ReaderGone from None

    return run  # type: ignore[return-value]


class Output(StrEnum):
    text = "text"
    json = "json"


class ReplayOutput(StrEnum):
    text = "text"
    json = "json"
    html = "html"


class Events(StrEnum):
    alerts = "alerts"
    rounds = "rounds"
    all = "all"


FORMATS = (
    "journal export json json-seq short-iso short-iso-precise short-precise short "
    "short-unix with-unit cat"
)

TIMES = (
    "journalctl's times (systemd.time(7)): '2026-11-25 10:00:30' (local time unless a "
    "zone follows), '10:00:30', 'yesterday', '@1795600000', RFC 3339"
)

InputsArg = Annotated[
    list[str],
    typer.Argument(
        help="Captured logs: journal files or directories, journalctl export/json/text "
        "captures, bare tracing lines; .gz/.xz read transparently; '-' for stdin.",
        show_default=False,
        metavar="CAPTURE",
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format", help=f"Force the input format: {FORMATS}.", show_default=False, metavar="FORMAT"
    ),
]
InstanceOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--instance",
        "-i",
        help="Only this instance (repeat for more); for captures without unit names, the "
        "instance they hold. A unit name (zipnet-server@acme-mainnet) is taken too.",
        show_default=False,
        metavar="INSTANCE",
    ),
]
PatternsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--patterns",
        help="Extra pattern directory (adds or overrides by name); see docs/patterns.md.",
        show_default=False,
        metavar="DIR",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Config file [default: $XDG_CONFIG_HOME/logwatch/config.toml, else "
        "~/.config/logwatch/config.toml]; see docs/config.md.",
        show_default=False,
        metavar="FILE",
    ),
]
OutputOpt = Annotated[
    Output, typer.Option("--output", "-o", help="text or json (docs/json.md).", metavar="FORMAT")
]
EventsOpt = Annotated[
    Events,
    typer.Option(help="What to print: alerts, rounds (and alerts) or all.", metavar="WHICH"),
]
PeriodOpt = Annotated[
    str | None,
    typer.Option(
        help="Round period P (e.g. 2s) [env ZIPNET_ROUND_PERIOD; config; else estimated].",
        metavar="DURATION",
    ),
]
DeadlineOpt = Annotated[
    str | None,
    typer.Option(
        help="Round deadline D [env ZIPNET_ROUND_DEADLINE; config; default P].",
        metavar="DURATION",
    ),
]
ExpectOpt = Annotated[
    int | None, typer.Option(help="Clients expected per round.", min=0, metavar="N")
]


@app.command(context_settings=_CONTEXT)
@_pipe_closing
def replay(
    inputs: InputsArg,
    fmt: FormatOpt = None,
    instance: InstanceOpt = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            "-S",
            help="Start at this time: "
            + TIMES
            + "; relative ones (-1h, '1 hour ago') count back from the capture's last entry.",
            metavar="TIME",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            "-U",
            help="Stop at this time, as --since (-10m: ten minutes before the capture's end).",
            metavar="TIME",
        ),
    ] = None,
    round_period: PeriodOpt = None,
    round_deadline: DeadlineOpt = None,
    expect_clients: ExpectOpt = None,
    events: EventsOpt = Events.alerts,
    output: Annotated[
        ReplayOutput,
        typer.Option(
            "--output",
            "-o",
            help="text or json (docs/json.md); html with --report: one "
            "self-contained page (docs/report.md).",
            metavar="FORMAT",
        ),
    ] = ReplayOutput.text,
    report: Annotated[bool, typer.Option(help="Print the post-incident report.")] = False,
    patterns: PatternsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Replay captured logs through the rules: alerts, rounds, and a summary or report."""
    from logwatch.commands.replay import run_replay

    if output is ReplayOutput.html and not report:
        raise typer.BadParameter("html is a form of the report: add --report", param_hint="-o")

    code = run_replay(
        inputs=inputs,
        fmt=fmt,
        instances=instance or [],
        since=since,
        until=until,
        round_period=round_period,
        round_deadline=round_deadline,
        expect_clients=expect_clients,
        events=events.value,
        output=output.value,
        report=report,
        pattern_dirs=patterns or [],
        config_path=config,
    )
    raise typer.Exit(code)


class LiveOutput(StrEnum):
    tui = "tui"
    text = "text"
    json = "json"


DirectoryOpt = Annotated[
    Path | None,
    typer.Option(
        "--directory",
        "-D",
        help="Read the journal files in this directory (e.g. a systemd-journal-remote "
        "collection of many hosts) instead of the system journal.",
        show_default=False,
        # The source says what to do about a journal that may not be read; click would
        # only say "not readable".
        readable=False,
        metavar="DIR",
    ),
]
FileOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--file",
        help="Read this journal file (repeat for more).",
        show_default=False,
        readable=False,
        metavar="FILE",
    ),
]
JournalctlOpt = Annotated[
    bool,
    typer.Option(
        "--journalctl",
        help="Read through a `journalctl --follow -o json` subprocess (no Python binding needed).",
    ),
]
InstancesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Instances (acme-mainnet), their aliases, or their unit names "
        "(zipnet-server@acme-mainnet[.service]).",
        show_default=False,
        metavar="INSTANCE",
    ),
]


AllOpt = Annotated[bool, typer.Option("--all", help="Every instance found.")]
FollowSinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since", "-S", help="Start here instead of the recent past: -10m, " + TIMES + ".",
        metavar="TIME",
    ),
]  # fmt: skip
StateDirOpt = Annotated[
    Path | None,
    typer.Option(help="Save the journal cursor here and resume exactly after it.", metavar="DIR"),
]
LiveOutputOpt = Annotated[
    LiveOutput | None,
    typer.Option(
        "--output", "-o", help="tui (default on a terminal), json (default when piped), text.",
        metavar="FORMAT",
    ),
]  # fmt: skip
ExecOpt = Annotated[
    str | None,
    typer.Option(
        "--exec", help="Run this command (no shell; quote it as one argument, split like a "
        "shell would) for alerts that page (see --exec-states), alert JSON on stdin.",
        metavar="COMMAND",
    ),
]  # fmt: skip
ExecStatesOpt = Annotated[
    str, typer.Option(help="Transitions --exec runs for: some of pending,firing,resolved "
                      "(resolved only of an alert it ran for).", metavar="STATES"),
]  # fmt: skip
ExecTimeoutOpt = Annotated[
    str, typer.Option(help="Kill an --exec command after this long.", metavar="DURATION")
]


@app.command(context_settings={**_CONTEXT, "allow_interspersed_args": True})
@_pipe_closing
def follow(
    instances: InstancesArg = None,
    all_instances: AllOpt = False,
    directory: DirectoryOpt = None,
    file: FileOpt = None,
    journalctl: JournalctlOpt = False,
    fmt: FormatOpt = None,
    instance: InstanceOpt = None,
    since: FollowSinceOpt = None,
    state_dir: StateDirOpt = None,
    round_period: PeriodOpt = None,
    round_deadline: DeadlineOpt = None,
    expect_clients: ExpectOpt = None,
    events: EventsOpt = Events.alerts,
    output: LiveOutputOpt = None,
    exec_cmd: ExecOpt = None,
    exec_states: ExecStatesOpt = "firing,resolved",
    exec_timeout: ExecTimeoutOpt = "10s",
    patterns: PatternsOpt = None,
    config: ConfigOpt = None,
    # docs/fleet.md; the hidden resend interval (60s) is shortened by the tests.
    metrics: Annotated[
        str | None,
        typer.Option(
            help="Serve Prometheus metrics on HOST:PORT (/metrics).",
            metavar="HOST:PORT",
            show_default=False,
        ),
    ] = None,
    alertmanager: Annotated[
        list[str] | None,
        typer.Option(
            help="Send alerts to this Alertmanager URL (repeat for each member).",
            metavar="URL",
            show_default=False,
        ),
    ] = None,
    alertmanager_resend: Annotated[str, typer.Option(hidden=True)] = "60s",
) -> None:
    """Follow the journald units of instances live: dashboard, JSON lines or text.
    '-' as the only INSTANCE reads entries piped in."""
    import shlex

    from logwatch.commands.follow import FollowOptions, run_follow
    from logwatch.commands.source_options import SourceOptions
    from logwatch.sinks.exec import parse_states
    from logwatch.times import parse_duration

    names = list(instances or [])
    stdin = names == ["-"]
    if stdin:
        names = list(instance or [])
    code = run_follow(
        FollowOptions(
            instances=tuple(names),
            all_instances=all_instances or (stdin and not names),
            source=SourceOptions(directory, tuple(file or ()), journalctl, stdin),
            fmt=fmt,
            since=since,
            state_dir=state_dir,
            round_period=round_period,
            round_deadline=round_deadline,
            expect_clients=expect_clients,
            events=events.value,
            output=output.value if output else None,
            exec_argv=tuple(shlex.split(exec_cmd)) if exec_cmd else (),
            exec_states=parse_states(exec_states),
            exec_timeout_s=parse_duration(exec_timeout),
            pattern_dirs=tuple(patterns or ()),
            config_path=config,
            metrics=metrics,
            alertmanagers=tuple(alertmanager or ()),
            alertmanager_resend_s=parse_duration(alertmanager_resend),
        )
    )
    raise typer.Exit(code)


@app.command(context_settings=_CONTEXT)
@_pipe_closing
def check(
    instances: Annotated[
        list[str],
        typer.Argument(
            help="Instances to check (or their aliases or unit names).", metavar="INSTANCE"
        ),
    ],
    since: Annotated[
        str,
        typer.Option(
            "--since", "-S", help="Evaluate from this time: -10m, " + TIMES + ".", metavar="TIME"
        ),
    ] = "-10m",
    directory: DirectoryOpt = None,
    file: FileOpt = None,
    journalctl: JournalctlOpt = False,
    round_period: PeriodOpt = None,
    round_deadline: DeadlineOpt = None,
    expect_clients: ExpectOpt = None,
    output: OutputOpt = Output.text,
    patterns: PatternsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """One-shot health check, a Nagios plugin: one status line with performance data; exit
    0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    from logwatch.commands.check import prepare_check, run_check, unknown
    from logwatch.commands.source_options import SourceOptions

    # A bad name, option or config is exit 2 like any usage error; only what cannot be
    # read is UNKNOWN.
    plan = prepare_check(
        instances=instances,
        since=since,
        round_period=round_period,
        round_deadline=round_deadline,
        expect_clients=expect_clients,
        pattern_dirs=patterns or [],
        config_path=config,
    )
    try:
        source = SourceOptions(directory, tuple(file or ()), journalctl, False)
        code = run_check(plan, source=source, output=output.value)
    except LogwatchError as e:
        # A check that cannot look says UNKNOWN, as a Nagios plugin must (2 would page as
        # CRITICAL for a typo in a path), with a status line on stdout: Nagios shows
        # "(No output on stdout)" otherwise.
        names = sorted(plan.reading.selection.instances or ())
        print(unknown(str(e), names, output.value))
        print(f"logwatch: {e}", file=sys.stderr)
        raise typer.Exit(3) from None
    raise typer.Exit(code)


@app.command(context_settings=_CONTEXT)
@_pipe_closing
def demo(
    output: LiveOutputOpt = None,
    speed: Annotated[
        float, typer.Option(help="Play the simulated logs this much faster.", min=0.1, metavar="X")
    ] = 1.0,
) -> None:
    """About a minute of a simulated zipnet (healthy, stall, split-brain, recovery) written
    live into a real journal by systemd-journal-remote, followed by the real `follow`."""
    from logwatch.commands.demo import run_demo

    raise typer.Exit(run_demo(output=output.value if output else None, speed=speed))


@app.command(context_settings=_CONTEXT)
@_pipe_closing
def simulate(
    incidents: Annotated[
        list[str],
        typer.Argument(
            help="healthy, stall, split, skew, dead-committee; INCIDENT@INSTANCE names its "
            "instance (default: the incident's name). Several play side by side.",
            show_default=False,
            metavar="INCIDENT",
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="export, or what journalctl -o prints: json, short-iso, "
            "with-unit, ... (real journalctl on a real journal).",
            metavar="FORMAT",
        ),
    ] = "export",
    directory: Annotated[
        Path | None,
        typer.Option(
            "--directory",
            "-D",
            help="Write journal files (one per host, by "
            "systemd-journal-remote) into this directory instead.",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    style: Annotated[
        str,
        typer.Option(
            help="How zipnet renders its lines: full-ansi, full, compact, json, "
            "json-flat, journald.",
            metavar="STYLE",
        ),
    ] = "full-ansi",
    clients: Annotated[int, typer.Option(help="Clients per instance.", metavar="N")] = 5,
    minutes: Annotated[float, typer.Option(help="Length of the run.", metavar="M")] = 10.0,
    period: Annotated[str, typer.Option(help="Round period.", metavar="DURATION")] = "2s",
    seed: Annotated[int, typer.Option(help="Same seed, same logs.", metavar="N")] = 0,
) -> None:
    """Simulated zipnet logs of named incidents, for fire drills, tests and bug reports:
    `logwatch simulate stall -o export > cap.export; logwatch replay cap.export`."""
    from logwatch.commands.simulate import run_simulate

    code = run_simulate(
        incidents=incidents,
        output=output,
        directory=directory,
        style=style,
        clients=clients,
        minutes=minutes,
        period=period,
        seed=seed,
    )
    raise typer.Exit(code)


@patterns_app.command("list", context_settings=_CONTEXT)
@_pipe_closing
def patterns_list(
    patterns: PatternsOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """List the loaded patterns: name, roles, message, fields, and which file defines them."""
    from logwatch.commands.patterns import run_list

    run_list(pattern_dirs=patterns or [], config_path=config, output=output.value)


@patterns_app.command("test", context_settings=_CONTEXT)
@_pipe_closing
def patterns_test(
    inputs: InputsArg,
    fmt: FormatOpt = None,
    instance: InstanceOpt = None,
    show_missed: Annotated[
        bool, typer.Option("--show-missed", help="Print the lines no pattern matched.")
    ] = False,
    patterns: PatternsOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Run the patterns over captured logs: matches per pattern, misses, unreadable entries."""
    from logwatch.commands.patterns import run_test

    run_test(
        inputs=inputs,
        fmt=fmt,
        instances=instance or [],
        show_missed=show_missed,
        pattern_dirs=patterns or [],
        config_path=config,
        output=output.value,
    )


@app.command(context_settings=_CONTEXT)
@_pipe_closing
def rules(
    round_period: PeriodOpt = None,
    round_deadline: DeadlineOpt = None,
    expect_clients: ExpectOpt = None,
    output: OutputOpt = Output.text,
    config: ConfigOpt = None,
) -> None:
    """The active rules: each alert's severity and condition, and every threshold with its
    value for this P and D and where it comes from (default, config, env, flag)."""
    from logwatch.commands.rules import run_rules

    run_rules(
        round_period=round_period,
        round_deadline=round_deadline,
        expect_clients=expect_clients,
        output=output.value,
        config_path=config,
    )


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    # typer 0.28 vendors click; pyproject pins that line so this import holds.
    from typer._click.exceptions import ClickException
    from typer.exceptions import Abort
    from typer.main import get_command

    try:
        # Not standalone: click would print usage errors over several lines and turn a
        # broken pipe into exit 1; here both are handled the logwatch way.
        code = _in_words(get_command(app)).main(prog_name="logwatch", standalone_mode=False)
        sys.stdout.flush()
    except ClickException as e:
        if type(e).__name__ == "NoArgsIsHelpError":
            print(e.format_message(), file=sys.stderr)
            sys.exit(2)
        print(f"logwatch: {_usage_message(e)}", file=sys.stderr)
        sys.exit(2)
    except LogwatchError as e:
        print(f"logwatch: {e}", file=sys.stderr)
        sys.exit(2)
    except (BrokenPipeError, _ReaderGone):
        # The reader (`| head`) went away: not an error worth a traceback. Point stdout
        # at /dev/null so the interpreter's last flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except OSError as e:
        # The machine's fault, not logwatch's (a full disk under stdout, an I/O error):
        # one line, like any other error the user has to fix.
        where = f": {e.filename}" if e.filename else ""
        print(f"logwatch: {e.strerror or e}{where}", file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, Abort):
        sys.exit(130)
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> None:
    """Exit with `code`. A reader thread still blocked on stdin (`follow -` stopped by
    SIGTERM or q while its pipe stays open) holds stdin's buffer lock, and the
    interpreter's finalization then aborts ("Fatal Python error: _enter_buffered_busy",
    exit 134): with such a thread alive, flush and leave without finalizing; the command
    has cleaned up already."""
    import threading

    if any(t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _in_words(command: Any) -> Any:
    """`command` with its arguments shown as Unix help does (`INSTANCE...`, `[CAPTURE...]`):
    typer would add braces (`{CAPTURE}`) and drop the dots."""
    from typer.core import TyperArgument

    for param in getattr(command, "params", ()):
        if isinstance(param, TyperArgument) and param.metavar:
            word = param.metavar + ("..." if param.nargs != 1 else "")
            usage = word if param.required else f"[{word}]"
            param.get_usage_pieces = lambda ctx, usage=usage: [usage]  # type: ignore[method-assign,misc]
    for sub in getattr(command, "commands", {}).values():
        _in_words(sub)
    return command


def _usage_message(e: Exception) -> str:
    """A click usage error as one line ending with the help of the command it is about:
    `see 'logwatch check --help'`."""
    message = " ".join(e.format_message().split())  # type: ignore[attr-defined]
    ctx = getattr(e, "ctx", None)
    path = ctx.command_path if ctx is not None and ctx.command_path else "logwatch"
    return f"{message} (see '{path} --help')"
