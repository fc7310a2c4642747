"""Filler backends: each module has ``load(config)`` and
``detect(samples, sr, model, *, speech, profile, config) -> [(start, end, label, confidence)]``."""
