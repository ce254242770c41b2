"""Benchmark scripts (not tests): each prints one JSON object as its last stdout line."""
