"""Rollout lines into trainer data: token sequences, loss masks, rewards, GRPO groups, the failure mask.

Pure data in, pure data out: the core (`trajectories`, `samples`, `batches`) reads rollout lines as
`gymhall collect` and NeMo Gym write them and imports only `gymhall.wire` and `gymhall.exceptions`,
never torch. `gymhall.training.trl` is the adapter for TRL's `GRPOTrainer`: it alone imports
`gymhall.collection` (to run rollouts) and, inside its functions, trl and torch.
"""
