"""`omnieval fetch starbench`: the STAR-Bench v1.0 release (Hugging Face dataset
`internlm/STAR-Bench`, CC-BY-NC-4.0) registered in `registry.fetchers`."""

from __future__ import annotations

from omnieval import registry
from omnieval.fetchers import hub_fetcher

REPO_ID = "internlm/STAR-Bench"
LICENCE = "CC-BY-NC-4.0 (non-commercial use only; cite the STAR-Bench paper, arXiv:2510.24693)"

registry.fetchers.register("starbench")(
    hub_fetcher(
        "starbench",
        "Download the STAR-Bench release (meta_info/ + starbench_audios/) from the hub.",
        REPO_ID,
        licence=LICENCE,
    )
)
