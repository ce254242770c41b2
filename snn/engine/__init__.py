"""The numba back end: its tick kernel, neuron models, short-term plasticity, delays, synaptic scaling."""
