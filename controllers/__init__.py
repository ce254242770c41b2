"""Output spikes to actions, reward functions and closed-loop tasks."""
