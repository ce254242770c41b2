"""Live sources: dv-processing cameras and network streams, frame-to-event emulation."""
