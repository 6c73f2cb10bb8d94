"""AVI-Bench (FudanCVL/AVI-Bench): 14 tasks over four stages, parity and corrected scoring."""
