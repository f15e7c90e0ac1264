"""Evaluation: ranking and classification metrics, the baselines (untrained encoder,
TF-IDF, BM25), the evaluation report with its figures."""
