"""A tiny random-weight SAM 2 video model built from configs, in memory (nothing downloaded).

Image size 128, hidden size 128 (the smallest that transformers' memory attention accepts: its
image cross-attention reads 64-channel memories, and object pointers are split into 64-channel
pieces, which needs a hidden size that is a multiple of 64 and larger than it), one block per
Hiera stage but the third (two blocks, the second global). ~1.3 M parameters; a 5-frame
sequence segments in well under a second on one CPU core.

Requires torch and transformers; import this module only after `pytest.importorskip("torch")`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import (
    Sam2HieraDetConfig,
    Sam2VideoConfig,
    Sam2VideoMaskDecoderConfig,
    Sam2VideoModel,
    Sam2VideoPromptEncoderConfig,
    Sam2VisionConfig,
)

IMAGE_SIZE = 128
HIDDEN = 128


def tiny_sam2_config(image_size: int = IMAGE_SIZE) -> Sam2VideoConfig:
    s = image_size
    backbone = Sam2HieraDetConfig(
        hidden_size=16,
        num_attention_heads=1,
        image_size=[s, s],
        blocks_per_stage=[1, 1, 2, 1],
        embed_dim_per_stage=[16, 32, 64, 128],
        num_attention_heads_per_stage=[1, 1, 1, 1],
        window_size_per_stage=[4, 4, 4, 4],
        global_attention_blocks=[3],
        window_positional_embedding_background_size=[4, 4],
    )
    vision = Sam2VisionConfig(
        backbone_config=backbone,
        backbone_channel_list=[128, 64, 32, 16],
        backbone_feature_sizes=[[s // 4, s // 4], [s // 8, s // 8], [s // 16, s // 16]],
        fpn_hidden_size=HIDDEN,
    )
    return Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config=Sam2VideoPromptEncoderConfig(
            hidden_size=HIDDEN, image_size=s, patch_size=16
        ),
        mask_decoder_config=Sam2VideoMaskDecoderConfig(
            hidden_size=HIDDEN, mlp_dim=64, num_attention_heads=2, iou_head_hidden_dim=32
        ),
        image_size=s,
        memory_attention_hidden_size=HIDDEN,
        memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[s // 16, s // 16],
        memory_encoder_hidden_size=HIDDEN,
        memory_encoder_output_channels=64,
        mask_downsampler_embed_dim=HIDDEN,
        memory_fuser_embed_dim=HIDDEN,
        memory_fuser_intermediate_dim=64,
        memory_fuser_num_layers=1,
        num_maskmem=3,
    )


def tiny_sam2(seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return Sam2VideoModel(tiny_sam2_config()).eval()


def save_tiny_sam2(directory: Path, seed: int = 0) -> Path:
    """Write the tiny model as a checkpoint directory (`from_pretrained` reads it offline)."""
    tiny_sam2(seed).save_pretrained(directory)
    return directory
