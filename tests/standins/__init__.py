"""Local HTTP stand-ins for Slack, Kaleyra and Meta that tests point the bot at, and the kit (kit.py, postgres.py)
the tests share with scripts/bench.py. No test module lives here."""

from .kaleyra import KaleyraRequest, KaleyraStandIn
from .meta import MetaRequest, MetaStandIn
from .slack import SlackCall, SlackStandIn

__all__ = [
    "KaleyraRequest",
    "KaleyraStandIn",
    "MetaRequest",
    "MetaStandIn",
    "SlackCall",
    "SlackStandIn",
]
