"""A number's life: its states and allowed moves, durable operations, the use-cases and the sweeper."""
