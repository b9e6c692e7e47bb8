"""The trigger path: queues on Redis, the two actors, the exactly-once guards, outcomes."""
