"""Math problems with final answers checked by math-verify, and an optional LLM judge."""
