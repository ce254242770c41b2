"""Audio sources (files, microphones) and AudioChunk."""
