"""Sources of raw sensor streams (event cameras, recordings, the built-in scene) as EventBatch."""
