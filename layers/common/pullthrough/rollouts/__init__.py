"""Rollouts, one use case per module over one store (the cookbook's ``service/logic/<use_case>.py``).

- ``start``: POST /rules, the EventBridge trigger and drift repair: a rule request rolled out, step by step.
- ``plan``: the same request as a dry run (every write refused).
- ``delete`` and ``converge``: DELETE /rules/{prefix}; an account that joined or left a targeted OU.
- ``finish``, ``close``, ``recover``: the state machine's end, its last resort, an execution that ended early.
- ``view``: GET /rollouts/{id}.
Their steps, each in one module: ``deps`` (what every use case is given), ``checks`` (roles, credential secret,
targets), ``lock``, ``source`` (inline credentials kept), ``record`` (the rollout and desired rule recorded, with
``execution``: the state machine's input), ``launch`` (StartExecution, or undo), ``outcomes`` and ``restore``.
POST /rules enters each once on its way to StartExecution. No module here imports a request model at run time:
FinishRollout, on every rollout's critical path, imports this package (pydantic would double its cold start).
"""
