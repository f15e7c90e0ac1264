"""Training: the trainer, negative samplers and hard-negative mining, checkpoints, and
training from a workspace's store."""
