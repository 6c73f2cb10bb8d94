"""`omnieval fetch spatial`: the spatial QA + mask release (Hugging Face dataset
`LilyYang0504/BenchDatasets`: frames/, masks/, multi_json/) registered in `registry.fetchers`."""

from __future__ import annotations

from omnieval import registry
from omnieval.fetchers import hub_fetcher

REPO_ID = "LilyYang0504/BenchDatasets"
LICENCE = "not stated in the upstream code repositories: read the dataset card before use"

registry.fetchers.register("spatial")(
    hub_fetcher(
        "spatial",
        "Download the spatial QA + mask release (frames/, masks/, multi_json/) from the hub.",
        REPO_ID,
        licence=LICENCE,
    )
)
