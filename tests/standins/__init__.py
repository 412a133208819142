"""Local HTTP stand-ins for Slack, Kaleyra and Meta that tests point the bot at."""

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
