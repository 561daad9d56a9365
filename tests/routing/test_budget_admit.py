"""Budget.admit: the per-user checks first, then the team's reservation for priced calls only."""

from __future__ import annotations

from lsp_server.config import BudgetSettings
from lsp_server.routing.budget import Budget


class Team:
    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.asked: list[tuple[str, float]] = []

    async def reserve(self, call: str, estimate: float) -> str | None:
        self.asked.append((call, estimate))
        return self.refuse


async def test_a_priced_call_reserves_with_the_team() -> None:
    team = Team()
    check = await Budget(BudgetSettings(daily_usd=1.0), team).admit(
        call="sonnet", spent_today=0.1, spent_request=0.0, estimate=0.02)
    assert check.allowed and team.asked == [("sonnet", 0.02)]


async def test_the_team_cap_refuses_with_its_reason() -> None:
    team = Team(refuse="team budget reached: ...")
    check = await Budget(BudgetSettings(daily_usd=1.0), team).admit(
        call="sonnet", spent_today=0.1, spent_request=0.0, estimate=0.02)
    assert not check.allowed and check.reason == "team budget reached: ..."


async def test_free_unpriced_and_personally_refused_calls_reserve_nothing() -> None:
    team = Team()
    budget = Budget(BudgetSettings(daily_usd=1.0), team)
    assert (await budget.admit(call="local", spent_today=0.0, spent_request=0.0,
                               estimate=0.0)).allowed
    unpriced = await budget.admit(call="x", spent_today=0.0, spent_request=0.0, estimate=None)
    assert unpriced.allowed and unpriced.reason and "no known price" in unpriced.reason
    over = await budget.admit(call="sonnet", spent_today=0.99, spent_request=0.0, estimate=0.02)
    assert not over.allowed and over.reason and "daily budget reached" in over.reason
    assert team.asked == []
