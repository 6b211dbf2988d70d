"""Tests for logwatch.units: unit names and identifiers ↔ role and instance, aliases."""

from __future__ import annotations

import pytest

from logwatch.errors import UsageError
from logwatch.units import UnitTemplate, normalize_instance


def test_default_template_parses_each_role() -> None:
    units = UnitTemplate()
    assert units.parse("zipnet-server@acme-mainnet.service") == ("server", "acme-mainnet")
    assert units.parse("zipnet-aggregator@acme-mainnet.service") == ("aggregator", "acme-mainnet")
    assert units.parse("zipnet-client@preview-alpha.service") == ("client", "preview-alpha")


@pytest.mark.parametrize(
    "unit",
    [
        "sshd.service",
        "zipnet-server.service",  # no instance
        "zipnet-server@.service",  # empty instance
        "zipnet-exporter@acme-mainnet.service",  # not one of the roles
        "zipnet-server@acme-mainnet.service.bak",
        "xzipnet-server@acme-mainnet.service",
        "zipnet-server@acme mainnet.service",
        "",
    ],
)
def test_units_that_are_not_ours(unit: str) -> None:
    assert UnitTemplate().parse(unit) is None


def test_instance_keeps_its_unit_spelling() -> None:
    units = UnitTemplate()
    assert units.parse("zipnet-client@acme.mainnet.service") == ("client", "acme.mainnet")
    assert units.parse(r"zipnet-client@a\x2db.service") == ("client", r"a\x2db")


@pytest.mark.parametrize(
    ("template", "unit", "expected"),
    [
        ("zn-{role}@{instance}.service", "zn-server@acme.service", ("server", "acme")),
        ("{instance}-zipnet-{role}.service", "acme-zipnet-client.service", ("client", "acme")),
        ("zipnet@{instance}-{role}.service", "zipnet@acme-x-aggregator.service",
         ("aggregator", "acme-x")),
        ("zipnet-{role}@{instance}.service", "zn-server@acme.service", None),
        # Regex characters in the template are literal text.
        ("zip.net-{role}@{instance}.service", "zipXnet-server@acme.service", None),
    ],
)  # fmt: skip
def test_template_variants(template: str, unit: str, expected: tuple[str, str] | None) -> None:
    assert UnitTemplate(template).parse(unit) == expected


def test_roles_are_configurable() -> None:
    units = UnitTemplate(roles=("server", "relay"))
    assert units.parse("zipnet-relay@acme.service") == ("relay", "acme")
    assert units.parse("zipnet-client@acme.service") is None
    assert units.glob_for("acme") == ["zipnet-server@acme.service", "zipnet-relay@acme.service"]


@pytest.mark.parametrize("template", ["zipnet-{role}.service", "{instance}.service", "x", ""])
def test_template_must_name_role_and_instance(template: str) -> None:
    with pytest.raises(UsageError, match="must hold"):
        UnitTemplate(template)


def test_template_naming_a_placeholder_twice_is_refused() -> None:
    with pytest.raises(UsageError):
        UnitTemplate("zipnet-{role}@{instance}-{instance}.service")


def test_role_of_identifier_uses_the_part_before_the_at() -> None:
    units = UnitTemplate()
    assert units.role_of_identifier("zipnet-server") == "server"
    assert units.role_of_identifier("zipnet-aggregator") == "aggregator"
    assert units.role_of_identifier("zipnet-client") == "client"
    assert units.role_of_identifier("zipnet-exporter") is None
    assert units.role_of_identifier("sshd") is None
    assert units.role_of_identifier("zipnet-server@acme") is None
    assert UnitTemplate("zn-{role}@{instance}.service").role_of_identifier("zn-client") == "client"


def test_template_without_at_falls_back_to_the_binary_name() -> None:
    units = UnitTemplate("{instance}-zipnet-{role}.service")
    assert units.role_of_identifier("zipnet-server") == "server"
    assert units.role_of_identifier("acme-zipnet-server") is None


def test_unit_for_and_glob_for_round_trip() -> None:
    units = UnitTemplate()
    assert units.unit_for("server", "acme-mainnet") == "zipnet-server@acme-mainnet.service"
    assert units.glob_for("acme-mainnet") == [
        "zipnet-server@acme-mainnet.service",
        "zipnet-aggregator@acme-mainnet.service",
        "zipnet-client@acme-mainnet.service",
    ]
    for unit in units.glob_for("preview-alpha"):
        parsed = units.parse(unit)
        assert parsed is not None
        assert units.unit_for(*parsed) == unit


def test_template_property_returns_the_text() -> None:
    assert UnitTemplate("zn-{role}@{instance}.service").template == "zn-{role}@{instance}.service"


def test_normalize_instance_maps_the_metrics_label_to_the_unit_spelling() -> None:
    aliases = {"acme.mainnet": "acme-mainnet"}
    assert normalize_instance("acme.mainnet", aliases) == "acme-mainnet"
    assert normalize_instance("acme-mainnet", aliases) == "acme-mainnet"
    assert normalize_instance("preview-alpha", aliases) == "preview-alpha"
    assert normalize_instance("acme.mainnet", {}) == "acme.mainnet"
