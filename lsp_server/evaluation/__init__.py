"""``agentic-optimizer eval``: run a task suite against the configured models and measure what
the cascade solves, what it wrongly accepts, what it costs and how long it takes.

:mod:`.suite` reads tasks, :mod:`.checks` runs each task's hidden check, :mod:`.runner` runs
the tasks through the assistant, :mod:`.report` aggregates the results per tier.
"""
