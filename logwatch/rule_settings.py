"""The rules' numbers for a run, and where each came from: default, config, env or flag."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from logwatch.config import Config, RuleValue, rule_keys
from logwatch.engine import RuleSettings
from logwatch.errors import UsageError
from logwatch.times import parse_duration

Source = Literal["default", "config", "env", "flag"]
ENV = {"round_period_s": "ZIPNET_ROUND_PERIOD", "round_deadline_s": "ZIPNET_ROUND_DEADLINE"}


@dataclass(frozen=True, slots=True)
class Setting:
    """One number the rules use: its config key, value, source and meaning in words."""

    key: str
    field: str
    kind: str
    value: RuleValue
    source: Source
    meaning: str


@dataclass(frozen=True, slots=True)
class ActiveRules:
    """The RuleSettings of a run and the source of each field."""

    settings: RuleSettings
    sources: Mapping[str, Source]

    def describe(self) -> tuple[Setting, ...]:
        """Every setting, in the dataclass's order, with its meaning."""
        meaning = field_meanings()
        return tuple(
            Setting(
                k.key,
                k.field,
                k.kind,
                getattr(self.settings, k.field),
                self.sources.get(k.field, "default"),
                meaning.get(k.field, k.key.replace("_", " ")),
            )
            for k in rule_keys()
        )


def resolve_rules(
    config: Config,
    *,
    round_period: str | None = None,
    round_deadline: str | None = None,
    expect_clients: int | None = None,
) -> ActiveRules:
    """Flags over the environment over the config file over the defaults."""
    values: dict[str, RuleValue] = {}
    sources: dict[str, Source] = {}
    for name, value in config.rules.items():
        values[name], sources[name] = value, "config"
    for name, var in ENV.items():
        text = os.environ.get(var)
        if text:
            try:
                values[name] = parse_duration(text)
            except UsageError as e:
                raise UsageError(f"{var}: {e}") from None
            sources[name] = "env"
    flags: dict[str, RuleValue] = {}
    if round_period is not None:
        flags["round_period_s"] = parse_duration(round_period)
    if round_deadline is not None:
        flags["round_deadline_s"] = parse_duration(round_deadline)
    if expect_clients is not None:
        flags["expect_clients"] = expect_clients
    for name, value in flags.items():
        values[name], sources[name] = value, "flag"
    return ActiveRules(RuleSettings(**values), sources)  # type: ignore[arg-type]


_DOC_ENTRY = re.compile(r"^    ([a-z_]+(?: / [a-z_]+)*): (.*)$")


def field_meanings() -> dict[str, str]:
    """Each field's meaning, from the `name: text` entries of RuleSettings' docstring (the
    one place the engine documents them), joined over their continuation lines."""
    meanings: dict[str, str] = {}
    current: list[str] = []
    for line in (RuleSettings.__doc__ or "").splitlines():
        m = _DOC_ENTRY.match(line)
        if m:
            current = m.group(1).split(" / ")
            for name in current:
                meanings[name] = m.group(2).strip()
        elif line.startswith("        ") and current:
            for name in current:
                meanings[name] += " " + line.strip()
        else:
            current = []
    known = {f.name for f in dataclasses.fields(RuleSettings)}
    return {k: v for k, v in meanings.items() if k in known}
