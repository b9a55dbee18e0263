"""The commentary stage: personas, prompts, backends, validation."""
