"""State shared by the worker's modules: the settings, the slot's facts, and the job's (after the fork)."""

STATE = {}
