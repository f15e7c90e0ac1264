"""A valid users.jsonl object to build test files from."""

from __future__ import annotations


def user_line(user_id: str = "u1", n_chunks: int = 2, **extra) -> dict:
    """A valid users.jsonl object."""
    obj = {
        "user_id": user_id,
        "chunks": [{"text": f"post {i} of {user_id}", "platform": "reddit",
                    "timestamp": f"2024-05-0{1 + i % 9}T12:00:00Z", "metadata": {"subreddit": "hiking"}}
                   for i in range(n_chunks)],
        "statements": ["enjoys hiking"],
        "negative_statements": ["dislikes nature"],
        "traits": {"openness": 0.5},
        "metadata": {"country": "DE"},
    }
    obj.update(extra)
    return obj
