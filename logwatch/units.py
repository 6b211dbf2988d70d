"""zipnet unit names and syslog identifiers ↔ (role, instance), and instance spellings."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from logwatch.errors import UsageError
from logwatch.escape import escape_text

DEFAULT_TEMPLATE = "zipnet-{role}@{instance}.service"
ROLES = ("server", "aggregator", "client")

# Characters systemd allows in an instance name (`systemd-escape` turns the rest into
# `\xNN`, which stays as is: it is the unit's spelling).
_INSTANCE = r"[A-Za-z0-9:_.\\-]+"
# Hostile input can name endless units; the answers kept about them stay bounded.
_NAMES_KEPT = 4096


class UnitTemplate:
    """How the units of an instance are named: `zipnet-{role}@{instance}.service` by
    default, any text around `{role}` and `{instance}`.

    The syslog identifier (the binary, `zipnet-server`) is the template's part before
    `@` with the role filled in; a template without `@` falls back to `zipnet-{role}`.
    """

    __slots__ = ("_identifier", "_roles", "_template", "_unit")

    def __init__(self, template: str = DEFAULT_TEMPLATE, roles: tuple[str, ...] = ROLES) -> None:
        if template.count("{role}") != 1 or template.count("{instance}") != 1:
            raise UsageError(
                f"unit template {template!r} must hold {{role}} and {{instance}} once each"
            )
        self._template = template
        self._roles = tuple(roles)
        role = "(?P<role>" + "|".join(re.escape(r) for r in self._roles) + ")"
        self._unit = re.compile(_fill(template, role, f"(?P<instance>{_INSTANCE})"))
        prefix = template.split("@", 1)[0] if "@" in template else ""
        if "{role}" not in prefix or "{instance}" in prefix:
            prefix = "zipnet-{role}"
        self._identifier = re.compile(_fill(prefix, role, ""))

    @property
    def template(self) -> str:
        """The template text, as given."""
        return self._template

    def parse(self, unit: str) -> tuple[str, str] | None:
        """`(role, instance)` of a unit such as `zipnet-server@acme-mainnet.service`,
        None when `unit` is no unit of this template (not ours)."""
        m = self._unit.fullmatch(unit)
        if m is None:
            return None
        return m.group("role"), m.group("instance")

    def role_of_identifier(self, identifier: str) -> str | None:
        """The role of a syslog identifier (`zipnet-server` → `server`), or None."""
        m = self._identifier.fullmatch(identifier)
        return None if m is None else m.group("role")

    def unit_for(self, role: str, instance: str) -> str:
        """The unit of `role` in `instance`: `zipnet-server@acme-mainnet.service`."""
        return self._template.replace("{role}", role).replace("{instance}", instance)

    def glob_for(self, instance: str) -> list[str]:
        """Every unit of `instance`, one per role, for journal matches."""
        return [self.unit_for(role, instance) for role in self._roles]


class Writers:
    """Which writers are zipnet's, by unit name or syslog identifier, as the decoder
    tells them: for sources that pass everyone else's entries on unparsed. Answers are
    remembered, as a journal holds few distinct names.

    instances: if given, only these instances' units are wanted.
    """

    __slots__ = ("_identifiers", "_instances", "_raw_units", "_template", "_units")

    def __init__(self, template: UnitTemplate, instances: Collection[str] | None = None) -> None:
        self._template = template
        self._instances = None if instances is None else frozenset(instances)
        self._units: dict[str, bool] = {}
        self._raw_units: dict[bytes, bool] = {}
        self._identifiers: dict[str, bool] = {}

    def unit(self, name: str) -> bool:
        """Whether the unit `name` is one of the template's (any role), of a wanted instance."""
        ours = self._units.get(name)
        if ours is None:
            who = self._template.parse(name)
            ours = who is not None and (self._instances is None or who[1] in self._instances)
            self._remember(self._units, name, ours)
        return ours

    def raw_unit(self, name: bytes) -> bool:
        """`unit` of a name as the journal's bytes hold it, without decoding it each time."""
        ours = self._raw_units.get(name)
        if ours is None:
            ours = self.unit(name.decode("utf-8", "replace"))
            self._remember(self._raw_units, name, ours)
        return ours

    def identifier(self, name: str) -> bool:
        """Whether the syslog identifier `name` is one of the template's (`zipnet-server`);
        an empty one may be anybody's, so it is."""
        ours = self._identifiers.get(name)
        if ours is None:
            ours = not name or self._template.role_of_identifier(name) is not None
            self._remember(self._identifiers, name, ours)
        return ours

    @staticmethod
    def _remember(cache: dict[Any, bool], name: str | bytes, ours: bool) -> None:
        if len(cache) >= _NAMES_KEPT:
            cache.clear()
        cache[name] = ours


# What a command-line word may hold to name an instance, an alias or a unit: systemd's
# characters for unit names (escapes are written `\xNN`), and `@` between unit and instance.
_ARGUMENT = re.compile(r"[A-Za-z0-9:_.\\@-]+")


def instance_from_argument(text: str, template: UnitTemplate, aliases: Mapping[str, str]) -> str:
    """The instance a command-line word names: an instance (`acme-mainnet`), an alias
    (`acme.mainnet`), or one of its units (`zipnet-server@acme-mainnet`, with or
    without `.service`). UsageError for a word that cannot be a systemd instance name
    (a `/`, whitespace, a path): `--exec /bin/x /tmp/y` must not follow `/tmp/y`."""
    if not _ARGUMENT.fullmatch(text) or text in (".", ".."):
        hint = " (a path? quote --exec's command as one argument)" if "/" in text else ""
        shown = escape_text(text, limit=80)
        raise UsageError(
            f"'{shown}' cannot be an instance name: systemd allows letters, digits and "
            f":_.-\\ only, no '/', spaces or paths{hint}"
        )
    for unit in (text, f"{text}.service"):
        who = template.parse(unit)
        if who is not None:
            return aliases.get(who[1], who[1])
    if "@" in text:
        raise UsageError(f"{text!r} is no unit of {template.template!r}")
    return normalize_instance(text, aliases)


def normalize_instance(name: str, aliases: Mapping[str, str]) -> str:
    """The spelling logwatch prints for an instance: the unit spelling.

    aliases: another spelling (the metrics label `acme.mainnet`) → the unit spelling
        (`acme-mainnet`), as the config file's `aliases` table holds them.
    """
    return aliases.get(name, name)


def _fill(template: str, role: str, instance: str) -> str:
    """`template` as a regex: literal text escaped, the placeholders replaced."""
    pieces = re.split(r"(\{role\}|\{instance\})", template)
    out = []
    for piece in pieces:
        if piece == "{role}":
            out.append(role)
        elif piece == "{instance}":
            out.append(instance)
        else:
            out.append(re.escape(piece))
    return "".join(out)
