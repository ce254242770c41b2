"""Pure computation: network spec, Numba kernels, encoders and the reference numba back end."""
