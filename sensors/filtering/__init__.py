"""Event filters (noise, refractory, region, polarity, hot pixels, downsample)."""
