"""The model: config, token encoder (HF backbone + token pooling), chunk pooling, the
dual encoder, its losses, and inference on a saved model directory."""
