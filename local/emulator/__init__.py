"""Local emulation helpers for pullthrough (moto extensions used by tests and the local stack)."""
