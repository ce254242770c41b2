"""Recorded event files: AEDAT4, Prophesee RAW EVT2/EVT3 and DAT, Event Stream, NumPy; writers."""
