"""Serving vectors: index builds from the store, the vectors behind them, the queries
(audience / similar / profile) and index maintenance (verify, stats)."""
