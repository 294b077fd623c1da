"""The rollout's steps in one region: each idempotent, each reporting what it changed and what was there before."""
