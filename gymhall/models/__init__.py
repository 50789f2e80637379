"""Models: one interface (`base.Model`), one module per backend, the model server and the fakes.

`base` (the interface), `openai_compatible` (what every HTTP backend shares), `openai_responses` and
`chat_completions` (the two dialects), `replay` and `fake` (in-process models for offline runs and tests),
`spec_strings` (a model from a spec string), `server` (any `Model` served as an OpenAI-compatible server),
`fake_openai` and `fake_policy` (a fake OpenAI-compatible server speaking the real protocol, and what it
answers, for tests and benchmarks).

May import: `gymhall.client` (its HTTP pool), `gymhall.wire`, `gymhall.exceptions`.
"""
