"""The bot's background loops (lease renewal, the sweeper, a batch's keeper, Home refreshes, the outbox) run under
`supervised`: whatever a loop raises is logged, counted and the loop started again after a pause, so no error
(a store away, Slack away, a bug) silently ends work that a replica promises to keep doing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

FIRST_PAUSE = 1.0  # seconds before the first restart; doubled at each crash in a row, up to LONGEST_PAUSE
LONGEST_PAUSE = 30.0
HEALTHY_AFTER = 60.0  # a loop that ran this long since its last start crashed anew: the pause starts over


async def supervised(
    name: str,
    loop: Callable[[], Awaitable[None]],
    crashed: Callable[[str], None] | None = None,
    first_pause: float = FIRST_PAUSE,
) -> None:
    """Run `loop` for as long as this task lives; restart it after it raises (or returns: a loop that ends is a
    bug too). Cancelling the task is the one way to stop it."""
    pause = first_pause
    clock = asyncio.get_running_loop().time
    while True:
        started = clock()
        try:
            await loop()
            log.error("background loop %r ended on its own; starting it again", name)
        except Exception:
            log.exception("background loop %r crashed; starting it again", name)
        if crashed is not None:
            crashed(name)
        if clock() - started > HEALTHY_AFTER:
            pause = first_pause
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


def start(
    name: str, loop: Callable[[], Awaitable[None]], crashed: Callable[[str], None] | None = None
) -> asyncio.Task[None]:
    """`supervised(name, loop)` as a task of the running event loop."""
    return asyncio.get_running_loop().create_task(supervised(name, loop, crashed), name=f"wa-bot: {name}")
