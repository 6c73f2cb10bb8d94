"""Run outputs: results.json, samples.jsonl, leaderboard (terminal and markdown)."""
