"""Short free-form answers graded by a normalized exact match, then an LLM judge."""
