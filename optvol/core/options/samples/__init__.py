"""The option price task's samples (DESIGN section 4): features known at t-1, the
baselines' prices, the chronological split and the build over the clean quotes."""
