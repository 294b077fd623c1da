"""pullthrough's domain layer: catalog, models, AWS adapters and the rollout steps."""
