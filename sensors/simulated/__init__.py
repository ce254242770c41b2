"""The built-in simulated event camera and the moving-shapes scene."""
