"""Effects take turns behind the requests Slack is waiting on (`bot.turns`)."""

from __future__ import annotations

import asyncio

import pytest

from bot.turns import Turns
from tests.waiting import eventually


class Effects:
    """Effects that each hold their turn until the test lets them finish."""

    def __init__(self, turns: Turns) -> None:
        self.turns = turns
        self.started: list[int] = []
        self.finish: dict[int, asyncio.Event] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def ask(self, n: int) -> None:
        self.finish[n] = asyncio.Event()

        async def effect() -> None:
            async with self.turns.effect():
                self.started.append(n)
                await self.finish[n].wait()

        self.tasks[n] = asyncio.create_task(effect())

    async def settled(self, running: int, waiting: int) -> None:
        """Until `running` effects hold a turn and have started, and `waiting` wait for one."""
        finished = sum(1 for n in self.started if self.finish[n].is_set())
        await eventually(
            lambda: (
                self.turns.running == running
                and self.turns.waiting == waiting
                and len(self.started) - finished == running
            ),
            timeout=5,
            what=f"{running} running and {waiting} waiting",
        )

    def done(self, n: int) -> None:
        self.finish[n].set()


async def test_with_no_answer_pending_effects_run_up_to_the_limit_then_wait_in_order() -> None:
    effects = Effects(Turns(size=3, when_busy=1))
    for n in range(5):
        effects.ask(n)
    await effects.settled(running=3, waiting=2)
    assert effects.started == [0, 1, 2]
    effects.done(1)
    await effects.settled(running=3, waiting=1)
    assert effects.started == [0, 1, 2, 3]
    for n in (0, 2, 3, 4):
        effects.done(n)
    await asyncio.gather(*effects.tasks.values())
    assert effects.started == [0, 1, 2, 3, 4]
    assert (effects.turns.running, effects.turns.waiting) == (0, 0)


async def test_while_an_answer_is_pending_only_a_few_effects_start_and_the_rest_follow_it() -> None:
    turns = Turns(size=4, when_busy=1)
    effects = Effects(turns)
    with turns.answer():
        assert turns.answering == 1
        for n in range(4):
            effects.ask(n)
        await effects.settled(running=1, waiting=3)
        effects.done(0)  # a turn that ends while Slack still waits goes to the next, one at a time
        await effects.settled(running=1, waiting=2)
        assert effects.started == [0, 1]
    # Answered: the waiting effects start at once, oldest first.
    await effects.settled(running=3, waiting=0)
    assert effects.started == [0, 1, 2, 3]
    for n in range(1, 4):
        effects.done(n)
    await asyncio.gather(*effects.tasks.values())


async def test_effects_already_running_go_on_while_an_answer_is_pending() -> None:
    turns = Turns(size=4, when_busy=1)
    effects = Effects(turns)
    for n in range(3):
        effects.ask(n)
    await effects.settled(running=3, waiting=0)
    with turns.answer(), turns.answer():
        assert turns.answering == 2
        effects.ask(3)
        await effects.settled(running=3, waiting=1)  # over the busy limit: it waits
        for n in range(3):
            effects.done(n)
        await effects.settled(running=1, waiting=0)
    assert turns.answering == 0
    effects.done(3)
    await asyncio.gather(*effects.tasks.values())
    assert effects.started == [0, 1, 2, 3]


@pytest.mark.parametrize("handed_over", [False, True], ids=["waiting", "as_its_turn_came"])
async def test_an_effect_cancelled_before_it_runs_leaves_its_turn_to_the_next(
    handed_over: bool,
) -> None:
    turns = Turns(size=1, when_busy=1)
    effects = Effects(turns)
    held = turns.effect()  # the running effect, held by the test so it ends exactly when told
    await held.__aenter__()
    effects.ask(1)
    effects.ask(2)
    await eventually(lambda: turns.waiting == 2, timeout=5, what="two effects waiting")
    if handed_over:
        await held.__aexit__(None, None, None)  # the turn goes to 1 ...
        effects.tasks[1].cancel()  # ... which is cancelled before it could run
    else:
        effects.tasks[1].cancel()
    with pytest.raises(asyncio.CancelledError):
        await effects.tasks[1]
    if not handed_over:
        await held.__aexit__(None, None, None)
    await effects.settled(running=1, waiting=0)
    assert effects.started == [2]
    effects.done(2)
    await effects.tasks[2]
    assert (turns.running, turns.waiting) == (0, 0)


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError):
        Turns(size=2, when_busy=3)
    with pytest.raises(ValueError):
        Turns(size=2, when_busy=0)
