"""Wotu (沃土): the system a city Science & Technology Bureau runs its work on."""
