"""Standard formats out: a sentence-transformers model with its user side, user vectors as Parquet,
and the Hugging Face Hub upload."""
