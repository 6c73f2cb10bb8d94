"""The runner: plan -> prepare -> infer -> extract -> score -> aggregate, journaled and resumable."""
