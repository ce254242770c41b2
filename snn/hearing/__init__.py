"""Utterances and the word network."""
