"""Encoders: events pooled to spikes, the cochlea, real-valued signals to spikes."""
