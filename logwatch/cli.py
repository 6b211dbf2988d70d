"""The `logwatch` command line: options and help only; each command's work is in commands/."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from logwatch.errors import LogwatchError

app = typer.Typer(
    help="Watch zipnet instances through their journald logs: rounds, leaders, clients, "
    "stalls and split-brain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
patterns_app = typer.Typer(help="List the named patterns, or test them on captured logs.")
app.add_typer(patterns_app, name="patterns")

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


class Events(StrEnum):
    alerts = "alerts"
    rounds = "rounds"
    all = "all"


FORMATS = (
    "journal export json json-seq short-iso short-iso-precise short-precise short "
    "short-unix with-unit cat"
)

InputsArg = Annotated[
    list[str],
    typer.Argument(
        help="Captured logs: journal files or directories, journalctl export/json/text "
        "captures, bare tracing lines; .gz/.xz read transparently; '-' for stdin.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", help=f"Force the input format: {FORMATS}.", show_default=False),
]
InstanceOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--instance",
        "-i",
        help="Only these instances; for captures without unit names, the instance they hold.",
        show_default=False,
    ),
]
PatternsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--patterns",
        help="Extra pattern directory (adds or overrides by name).",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Config file [default: ~/.config/logwatch/config.toml].",
        show_default=False,
    ),
]


@app.command()
@_pipe_closing
def replay(
    inputs: InputsArg,
    fmt: FormatOpt = None,
    instance: InstanceOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Start at this time (RFC 3339 or -10m).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Stop at this time.")] = None,
    round_period: Annotated[
        str | None,
        typer.Option(help="Round period P (e.g. 2s) [env ZIPNET_ROUND_PERIOD; else estimated]."),
    ] = None,
    round_deadline: Annotated[
        str | None,
        typer.Option(help="Round deadline D [env ZIPNET_ROUND_DEADLINE; default P]."),
    ] = None,
    expect_clients: Annotated[
        int | None, typer.Option(help="Clients expected per round.", min=0)
    ] = None,
    events: Annotated[Events, typer.Option(help="Which events to print.")] = Events.alerts,
    output: Annotated[Output, typer.Option("--output", "-o", help="Output format.")] = Output.text,
    report: Annotated[bool, typer.Option(help="Print the post-incident report.")] = False,
    patterns: PatternsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Replay captured logs through the rules: alerts, rounds, and a summary or report."""
    from logwatch.commands.replay import run_replay

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
        help="Follow the journal files in this directory (e.g. a systemd-journal-remote "
        "collection of many hosts) instead of the system journal.",
        show_default=False,
        # The source says what to do about a journal that may not be read; click would
        # only say "not readable".
        readable=False,
    ),
]
FileOpt = Annotated[
    list[Path] | None,
    typer.Option("--file", help="Follow these journal files.", show_default=False, readable=False),
]
JournalctlOpt = Annotated[
    bool,
    typer.Option(
        "--journalctl",
        help="Read through a `journalctl --follow -o json` subprocess (no Python binding needed).",
    ),
]
PeriodOpt = Annotated[
    str | None,
    typer.Option(help="Round period P (e.g. 2s) [env ZIPNET_ROUND_PERIOD; else estimated]."),
]
DeadlineOpt = Annotated[
    str | None,
    typer.Option(help="Round deadline D [env ZIPNET_ROUND_DEADLINE; default P]."),
]
ExpectOpt = Annotated[int | None, typer.Option(help="Clients expected per round.", min=0)]


@app.command(context_settings={"allow_interspersed_args": True})
@_pipe_closing
def follow(
    instances: Annotated[
        list[str] | None,
        typer.Argument(
            help="Instances to follow (`acme-mainnet`); '-' reads entries piped in.",
            show_default=False,
        ),
    ] = None,
    all_instances: Annotated[bool, typer.Option("--all", help="Every instance found.")] = False,
    directory: DirectoryOpt = None,
    file: FileOpt = None,
    journalctl: JournalctlOpt = False,
    fmt: FormatOpt = None,
    instance: InstanceOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Start here instead of the recent past (-10m, RFC 3339).")
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="Save the journal cursor here and resume exactly after it."),
    ] = None,
    round_period: PeriodOpt = None,
    round_deadline: DeadlineOpt = None,
    expect_clients: ExpectOpt = None,
    events: Annotated[Events, typer.Option(help="Which events to print.")] = Events.alerts,
    output: Annotated[
        LiveOutput | None,
        typer.Option(
            "--output", "-o", help="tui (default on a terminal), json (default when piped), text."
        ),
    ] = None,
    exec_cmd: Annotated[
        str | None,
        typer.Option(
            "--exec",
            help="Run this command (no shell; quote it as one argument, split like a shell "
            "would) for every alert transition, alert JSON on stdin.",
        ),
    ] = None,
    exec_timeout: Annotated[
        str, typer.Option(help="Kill an --exec command after this long.")
    ] = "10s",
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
    """Follow the journald units of instances live: dashboard, JSON lines or text."""
    import shlex

    from logwatch.commands.follow import SourceOptions, run_follow
    from logwatch.times import parse_duration

    names = list(instances or [])
    stdin = names == ["-"]
    if stdin:
        names = list(instance or [])
    code = run_follow(
        instances=names,
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
        exec_argv=shlex.split(exec_cmd) if exec_cmd else [],
        exec_timeout_s=parse_duration(exec_timeout),
        pattern_dirs=patterns or [],
        config_path=config,
        metrics=metrics,
        alertmanagers=alertmanager or [],
        alertmanager_resend_s=parse_duration(alertmanager_resend),
    )
    raise typer.Exit(code)


@app.command()
@_pipe_closing
def check(
    instances: Annotated[list[str], typer.Argument(help="Instances to check.")],
    since: Annotated[str, typer.Option(help="Evaluate from this time (-10m, RFC 3339).")] = "-10m",
    directory: DirectoryOpt = None,
    file: FileOpt = None,
    journalctl: JournalctlOpt = False,
    round_period: PeriodOpt = None,
    round_deadline: DeadlineOpt = None,
    expect_clients: ExpectOpt = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="Output format.")] = Output.text,
    patterns: PatternsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """One-shot health check: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (Nagios plugin)."""
    from logwatch.commands.check import run_check
    from logwatch.commands.follow import SourceOptions

    try:
        code = run_check(
            instances=instances,
            source=SourceOptions(directory, tuple(file or ()), journalctl, False),
            since=since,
            round_period=round_period,
            round_deadline=round_deadline,
            expect_clients=expect_clients,
            output=output.value,
            pattern_dirs=patterns or [],
            config_path=config,
        )
    except LogwatchError as e:
        # A check that cannot look says UNKNOWN, as a Nagios plugin must: 2 would page
        # as CRITICAL for a typo in a path.
        print(f"logwatch: {e}", file=sys.stderr)
        raise typer.Exit(3) from None
    raise typer.Exit(code)


@app.command()
@_pipe_closing
def demo(
    output: Annotated[
        LiveOutput | None,
        typer.Option("--output", "-o", help="tui (default on a terminal), json, text."),
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Play the simulated logs this much faster.", min=0.1)
    ] = 1.0,
) -> None:
    """About a minute of a simulated zipnet (healthy, stall, split-brain, recovery) written
    live into a real journal by systemd-journal-remote, followed by the real `follow`."""
    from logwatch.commands.demo import run_demo

    raise typer.Exit(run_demo(output=output.value if output else None, speed=speed))


@patterns_app.command("list")
@_pipe_closing
def patterns_list(
    patterns: PatternsOpt = None,
    config: ConfigOpt = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="Output format.")] = Output.text,
) -> None:
    """List the loaded patterns: name, roles, message, fields, and which file defines them."""
    from logwatch.commands.patterns import run_list

    run_list(pattern_dirs=patterns or [], config_path=config, output=output.value)


@patterns_app.command("test")
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
    output: Annotated[Output, typer.Option("--output", "-o", help="Output format.")] = Output.text,
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


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    # typer 0.29 vendors click; pyproject pins that line so this import holds.
    from typer._click.exceptions import ClickException
    from typer.exceptions import Abort
    from typer.main import get_command

    try:
        # Not standalone: click would print usage errors over several lines and turn a
        # broken pipe into exit 1; here both are handled the logwatch way.
        code = get_command(app).main(prog_name="logwatch", standalone_mode=False)
        sys.stdout.flush()
    except ClickException as e:
        if type(e).__name__ == "NoArgsIsHelpError":
            print(e.format_message(), file=sys.stderr)
            sys.exit(2)
        print(f"logwatch: {e.format_message()} (see logwatch --help)", file=sys.stderr)
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
    sys.exit(code if isinstance(code, int) else 0)
