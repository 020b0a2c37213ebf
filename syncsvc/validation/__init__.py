"""Record validation against JSON field specs."""
