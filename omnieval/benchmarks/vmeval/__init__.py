"""VMEvalKit: image + text -> video reasoning tasks (question directories, generated editions
with exact verifiers, upstream judge protocols)."""
