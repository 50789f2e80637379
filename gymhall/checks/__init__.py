"""`gymhall check`: does an environment keep the contracts every trainer relies on?

`conformance` (isolation, unknown sessions, verify, close, strict schemas, reference solutions).

May import: `gymhall.collection`, `gymhall.models`, `gymhall.client`, `gymhall.wire`, `gymhall.exceptions`.
"""
