"""Settings from the command line, the environment and the config file, in that order."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from logwatch.errors import UsageError
from logwatch.times import parse_duration

DEFAULT_CONFIG = Path("~/.config/logwatch/config.toml")
DEFAULT_TEMPLATE = "zipnet-{role}@{instance}.service"
_KEYS = {"round_period", "round_deadline", "unit_template", "aliases", "patterns"}


@dataclass(frozen=True, slots=True)
class Config:
    """What the config file may say; every field optional.

    aliases maps another spelling of an instance (the metrics label `acme.mainnet`)
    to the unit spelling logwatch prints (`acme-mainnet`).
    """

    round_period_s: float | None = None
    round_deadline_s: float | None = None
    unit_template: str = DEFAULT_TEMPLATE
    aliases: Mapping[str, str] = field(default_factory=dict)
    pattern_dirs: tuple[Path, ...] = ()


def load_config(path: Path | None) -> Config:
    """The config file at `path`, or the default one if it exists, or defaults."""
    explicit = path is not None
    p = (path or DEFAULT_CONFIG).expanduser()
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
        raise UsageError(f"{p}: cannot read config: {e}") from None
    unknown = set(raw) - _KEYS
    if unknown:
        raise UsageError(f"{p}: unknown config key(s): {', '.join(sorted(unknown))}")
    aliases = raw.get("aliases", {})
    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
        raise UsageError(f"{p}: aliases must be a table of strings")
    template = raw.get("unit_template", DEFAULT_TEMPLATE)
    if not isinstance(template, str) or "{instance}" not in template or "{role}" not in template:
        raise UsageError(f"{p}: unit_template must contain {{role}} and {{instance}}")
    dirs = raw.get("patterns", [])
    if isinstance(dirs, str):
        dirs = [dirs]
    return Config(
        round_period_s=_duration(raw, "round_period", p),
        round_deadline_s=_duration(raw, "round_deadline", p),
        unit_template=template,
        aliases=dict(aliases),
        pattern_dirs=tuple(Path(d).expanduser() for d in dirs),
    )


def _duration(raw: Mapping[str, object], key: str, path: Path) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return parse_duration(value)
    raise UsageError(f"{path}: {key} must be a duration like '2s'")


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
