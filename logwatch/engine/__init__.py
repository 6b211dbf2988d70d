"""The engine stage: event-time clock, per-instance state and rules, alert lifecycle."""

from logwatch.engine.alerts import SEVERITY
from logwatch.engine.engine import Engine
from logwatch.engine.outputs import (
    AlertTransition,
    InstanceSummary,
    Output,
    RoundObservation,
    Summary,
)
from logwatch.engine.settings import RuleSettings
from logwatch.engine.views import (
    ActiveAlert,
    Gap,
    InstanceView,
    LeaderChange,
    ParticipantsBucket,
    RoundPoint,
    ServerView,
)

__all__ = [
    "SEVERITY",
    "ActiveAlert",
    "AlertTransition",
    "Engine",
    "Gap",
    "InstanceSummary",
    "InstanceView",
    "LeaderChange",
    "Output",
    "ParticipantsBucket",
    "RoundObservation",
    "RoundPoint",
    "RuleSettings",
    "ServerView",
    "Summary",
]
