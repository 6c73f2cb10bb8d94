"""The runner: plan -> infer -> extract -> score -> aggregate, journaled and resumable."""
