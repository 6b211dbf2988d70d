"""The config file (XDG_CONFIG_HOME/logwatch/config.toml): read, validated, one line per error."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from logwatch.engine import RuleSettings
from logwatch.errors import UsageError
from logwatch.times import parse_duration

DEFAULT_TEMPLATE = "zipnet-{role}@{instance}.service"
_KEYS = {
    "round_period",
    "round_deadline",
    "unit_template",
    "aliases",
    "patterns",
    "rules",
    "runbook_base",
}
RUNBOOK = "docs/alerts.md"
"""The runbook, one section per alert, as a path in logwatch's repository."""
RuleValue = float | int | bool | str | None


def config_home() -> Path:
    """`$XDG_CONFIG_HOME/logwatch`, or `~/.config/logwatch` (the XDG base directory spec)."""
    base = os.environ.get("XDG_CONFIG_HOME")
    # The spec says a relative value is invalid and must be ignored.
    if base and os.path.isabs(base):
        return Path(base) / "logwatch"
    return Path("~/.config/logwatch").expanduser()


@dataclass(frozen=True, slots=True)
class RuleKey:
    """One `[rules]` key: the RuleSettings field it sets and how its value is written.

    kind: "duration" (`"2s"` or seconds; the field's name ends in `_s`), "int", "bool",
        "number" or "text", from the field's type.
    """

    key: str
    field: str
    kind: str
    optional: bool


def rule_keys() -> tuple[RuleKey, ...]:
    """Every RuleSettings field as a `[rules]` key, read off the dataclass itself: a field
    added to the engine's settings is configurable without a change here."""
    keys = []
    for f in dataclasses.fields(RuleSettings):
        kind_text = str(f.type)
        optional = "None" in kind_text
        if "float" in kind_text and f.name.endswith("_s"):
            kind, key = "duration", f.name.removesuffix("_s")
        elif "bool" in kind_text:
            kind, key = "bool", f.name
        elif "int" in kind_text:
            kind, key = "int", f.name
        elif "float" in kind_text:
            kind, key = "number", f.name
        else:
            kind, key = "text", f.name
        keys.append(RuleKey(key, f.name, kind, optional))
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class Config:
    """What the config file may say; every field optional.

    aliases maps another spelling of an instance (the metrics label `acme.mainnet`)
    to the unit spelling logwatch prints (`acme-mainnet`).
    rules: RuleSettings field name → value, for the keys the file sets (`[rules]`, and
        the top-level `round_period`/`round_deadline`).
    """

    unit_template: str = DEFAULT_TEMPLATE
    aliases: Mapping[str, str] = field(default_factory=dict)
    pattern_dirs: tuple[Path, ...] = ()
    rules: Mapping[str, RuleValue] = field(default_factory=dict)
    path: Path | None = None
    runbook_base: str | None = None

    @property
    def round_period_s(self) -> float | None:
        value = self.rules.get("round_period_s")
        return None if value is None else float(value)

    @property
    def round_deadline_s(self) -> float | None:
        value = self.rules.get("round_deadline_s")
        return None if value is None else float(value)


def default_config_path() -> Path:
    return config_home() / "config.toml"


def load_config(path: Path | None) -> Config:
    """The config file at `path`, or the default one if it exists, or defaults."""
    explicit = path is not None
    p = path.expanduser() if path is not None else default_config_path()
    try:
        exists = p.exists()
    except OSError as e:
        # A HOME that is not ours to read (`sudo -u` keeps HOME): say so, in one line.
        raise UsageError(f"{p}: cannot read config: {e.strerror or e}") from None
    if not exists:
        if explicit:
            raise UsageError(f"{p}: no such config file")
        return Config()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"{p}: cannot read config: {_one_line(str(e))}") from None
    unknown = set(raw) - _KEYS
    if unknown:
        raise UsageError(f"{p}: unknown config key(s): {', '.join(sorted(unknown))}")
    aliases = raw.get("aliases", {})
    if not isinstance(aliases, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()
    ):
        raise UsageError(f"{p}: aliases must be a table of strings")
    template = raw.get("unit_template", DEFAULT_TEMPLATE)
    if not isinstance(template, str) or "{instance}" not in template or "{role}" not in template:
        raise UsageError(f"{p}: unit_template must be a string holding {{role}} and {{instance}}")
    dirs = raw.get("patterns", [])
    if isinstance(dirs, str):
        dirs = [dirs]
    if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
        raise UsageError(f"{p}: patterns must be a list of directories (patterns = ['~/pat'])")
    return Config(
        unit_template=template,
        aliases=dict(aliases),
        pattern_dirs=tuple(Path(d).expanduser() for d in dirs),
        rules=_rules(raw, p),
        path=p,
        runbook_base=_runbook_base(raw.get("runbook_base"), p),
    )


def _runbook_base(value: object, path: Path) -> str | None:
    """The URL of the operator's copy of docs/alerts.md: absolute, http(s), no fragment."""
    if value is None:
        return None
    import urllib.parse

    parts = urllib.parse.urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"{path}: runbook_base must be an http(s) URL of your copy of docs/alerts.md "
            "(runbook_base = 'https://git.example.com/ops/logwatch/-/blob/main/docs/alerts.md')"
        )
    if parts.fragment:
        raise UsageError(f"{path}: runbook_base takes no #fragment: each alert adds its own")
    return str(value)


def runbook_url(alert: str, base: str | None) -> str:
    """Where the runbook of `alert` is: `BASE#alert` once `runbook_base` is set, else its
    section of docs/alerts.md in logwatch's repository (a relative link)."""
    return f"{base or RUNBOOK}#{alert}"


def _rules(raw: Mapping[str, object], path: Path) -> dict[str, RuleValue]:
    table = raw.get("rules", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: rules must be a table ([rules])")
    by_key = {k.key: k for k in rule_keys()}
    unknown = sorted(set(table) - set(by_key))
    if unknown:
        raise UsageError(
            f"{path}: [rules]: unknown key(s) {', '.join(unknown)} (known: {', '.join(by_key)})"
        )
    given: dict[str, tuple[str, object]] = {k: (f"[rules] {k}", v) for k, v in table.items()}
    # The older top-level spelling of P and D is still read; one place per number.
    for key in ("round_period", "round_deadline"):
        if key in raw:
            if key in table:
                raise UsageError(f"{path}: {key} is set twice: at the top and in [rules]")
            given[key] = (key, raw[key])
    values: dict[str, RuleValue] = {}
    for key, (where, value) in given.items():
        spec = by_key[key]
        converted = _convert(spec, value, f"{path}: {where}")
        try:
            # Each key alone against the defaults, so the error names the key at fault.
            RuleSettings(**{spec.field: converted})  # type: ignore[arg-type]
        except UsageError as e:
            raise UsageError(f"{path}: {where}: {e}") from None
        values[spec.field] = converted
    return values


def _convert(spec: RuleKey, value: object, where: str) -> RuleValue:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if spec.kind == "duration":
        if number:
            return float(value)  # type: ignore[arg-type]
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except UsageError as e:
                raise UsageError(f"{where}: {e}") from None
        raise UsageError(f"{where}: must be a duration like '2s' or '500ms'")
    if spec.kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise UsageError(f"{where}: must be a whole number")
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        raise UsageError(f"{where}: must be true or false")
    if spec.kind == "number":
        if number:
            return float(value)  # type: ignore[arg-type]
        raise UsageError(f"{where}: must be a number")
    if isinstance(value, str):
        return value
    raise UsageError(f"{where}: must be a string")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def resolve_duration(flag: str | None, env_var: str, configured: float | None) -> float | None:
    """Seconds from the flag, else the environment variable, else the config file."""
    if flag is not None:
        return parse_duration(flag)
    env = os.environ.get(env_var)
    if env:
        try:
            return parse_duration(env)
        except UsageError as e:
            raise UsageError(f"{env_var}: {e}") from None
    return configured
