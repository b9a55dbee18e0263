"""Message records, their decoders and their JSON Schema files (the topic contracts)."""
