"""The NeMo Gym wire contract, the one thing both ends of every HTTP hop import.

`contract` (header, cookie and key names; judge-failure fields; retryability), `schemas`
(resources-server bodies), `responses` (the OpenAI Responses object as it travels), `items` (its items,
gymhall's own models), `chat_messages` and `conversion` (Responses <-> Chat Completions), `lines`
(rollout lines and the failure vocabulary), `metrics` (the `/aggregate_metrics` answer).

May import: nothing of gymhall, and no web framework (pydantic only; the OpenAI SDK's types are what
`tests/wire/test_items.py` holds these models to, never imported here).
"""
