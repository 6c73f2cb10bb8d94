"""Models that answer with segmentation masks (artifacts, see docs/spatial-models.md).

- `grounded-sam2` (`pipeline.py`): a grounding chat model gives a box for the referred object,
  SAM 2 (`transformers`) turns it into masks and propagates them over the frames.
- `sa2va` (`sa2va.py`): ByteDance Sa2VA through `trust_remote_code` (untested here).

Both register themselves when `registry.load_builtins()` imports them; torch and
transformers load lazily.
"""
