"""Spatial QA + mask benchmark (upstream `LilyYang0504/dyn-bench`): questions and segmentation
masks about where objects are relative to the camera, each other and the scene."""
