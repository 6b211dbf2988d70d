"""The clock_skew alerts of one instance: one per server or aggregator, one for all its clients."""

from __future__ import annotations

import heapq
from typing import Final

from logwatch.engine.alerts import CLOCK_SKEW, Alert
from logwatch.engine.host_offsets import HOSTS_KEPT
from logwatch.engine.outputs import AlertTransition
from logwatch.engine.rules import human, seconds

CLIENTS: Final = "clients"
"""The host label of the one alert for the instance's clients: clients, and their host
names, are untrusted, and a flood of made-up hosts must page once, not once each."""
WORST_SHOWN: Final = 5
NAMED_KEPT: Final = 256
"""Servers and aggregators with an alert of their own, at most (a committee is 3 to 7)."""


class HostSkews:
    """Whose clock is off among an instance's hosts, and its clock_skew alerts: one per
    server or aggregator host, one for all the clients (naming how many, and the worst)."""

    __slots__ = ("_clients", "_named", "_skewed", "instance")

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self._named: dict[str, Alert] = {}
        self._clients = Alert(CLOCK_SKEW, instance, {"host": CLIENTS})
        self._skewed: dict[str, int] = {}  # clients off now, and by how much

    def __contains__(self, host: str) -> bool:
        return host in self._named or host in self._skewed

    def alerts(self) -> list[Alert]:
        """The hosts' alerts by name, then the clients' once it has been raised."""
        named = [self._named[h] for h in sorted(self._named)]
        raised = self._clients.status != "inactive" or self._skewed
        return [*named, self._clients] if raised else named

    def note(self, host: str, skew_us: int, at_us: int, role: str | None) -> AlertTransition | None:
        """The clock of `host` in `role` is off by `skew_us` (0: in line) at `at_us`."""
        if role == "client":
            return self._note_client(host, skew_us, at_us)
        alert = self._named.get(host)
        if not skew_us:
            if alert is None or not alert.firing:
                return None
            return alert.to_resolved(
                at_us, f"clock of {host} back in line with the other hosts", {"host": host}
            )
        if alert is None:
            if len(self._named) >= NAMED_KEPT:
                return None
            alert = self._named[host] = Alert(CLOCK_SKEW, self.instance, {"host": host})
        if alert.firing:
            return None
        return alert.to_firing(
            at_us,
            f"clock of {host} is {_off(skew_us)} the other hosts; its entries are placed at "
            "its corrected time",
            {"host": host, "offset_s": seconds(skew_us)},
        )

    def _note_client(self, host: str, skew_us: int, at_us: int) -> AlertTransition | None:
        skewed = self._skewed
        if not skew_us:
            if skewed.pop(host, None) is None:
                return None
            if skewed:
                self._clients.summary = self._summary()
                return None
            return self._clients.to_resolved(
                at_us, "every client's clock back in line with the other hosts", {"host": CLIENTS}
            )
        if host not in skewed and len(skewed) >= HOSTS_KEPT:
            return None
        skewed[host] = skew_us
        summary = self._summary()
        if self._clients.firing:
            self._clients.summary = summary  # what views and re-sends show from now on
            return None
        return self._clients.to_firing(
            at_us,
            summary,
            {"host": CLIENTS, "hosts": len(skewed), "offset_s": seconds(skew_us), "worst": host},
        )

    def _summary(self) -> str:
        skewed = self._skewed
        if len(skewed) == 1:
            ((host, off),) = skewed.items()
            return (
                f"clock of {host} is {_off(off)} the other hosts; its entries are placed at "
                "its corrected time"
            )
        worst = heapq.nlargest(WORST_SHOWN, skewed.items(), key=lambda m: abs(m[1]))
        shown = ", ".join(f"{host} {_off(off)}" for host, off in worst)
        return (
            f"clocks of {len(skewed)} clients are off the other hosts' (worst: {shown}); "
            "their entries are placed at their corrected times"
        )


def _off(skew_us: int) -> str:
    return f"{human(abs(skew_us))} {'ahead of' if skew_us > 0 else 'behind'}"
