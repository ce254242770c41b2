"""The hippocampal memory (DG, CA3, CA1) and its export as a NetworkSpec."""
