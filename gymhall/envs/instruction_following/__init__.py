"""The `instruction_following` environment: IFEval-style verifiable instructions, graded by rule-based checkers."""
