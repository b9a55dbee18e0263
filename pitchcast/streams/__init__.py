"""Topic definitions and the pure stream logic (batching, replay)."""
