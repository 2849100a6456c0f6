"""Evaluation: metrics from predictions and saliency maps, on MONAI (imported lazily)."""
