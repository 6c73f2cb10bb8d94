"""`omnieval fetch avibench`: the gated AVI-Bench release (Hugging Face dataset
`FudanCVL/AVIBench`) registered in `registry.fetchers`.

The dataset is gated: accept its terms on the hub first, then give a token through the
environment (`HF_TOKEN`); the fetch pins the revision it resolved in `FETCHED.json`, and a rerun
resumes. Licence, printed by the command: CC BY-ND 4.0 plus the authors' anti-training addendum.
"""

from __future__ import annotations

from omnieval import registry
from omnieval.fetchers import hub_fetcher

REPO_ID = "FudanCVL/AVIBench"
LICENCE = (
    "CC BY-ND 4.0 plus the AVI-Bench anti-training addendum: evaluation use only; do not train "
    "or fine-tune models on this data, do not redistribute modified copies; cite the AVI-Bench "
    "paper (arXiv:2606.07643). The dataset is gated: accept its terms on the hub and set HF_TOKEN."
)

registry.fetchers.register("avibench")(
    hub_fetcher(
        "avibench",
        "Download the gated AVI-Bench release (levels/<stage>/<TASK>/data.json + input/).",
        REPO_ID,
        licence=LICENCE,
    )
)
