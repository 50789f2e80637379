"""mcqa: multiple-choice questions graded by answer-letter extraction, as NeMo Gym's mcqa server grades them."""
