"""The Python API exactly as the README shows it (`from uue import ...`), on a tiny backbone."""

from __future__ import annotations

import numpy as np
import pytest

from support.tiny_models import tiny_bert

WORDS = ["summit", "at", "dawn", "legs", "like", "jelly", "new", "pb", "on", "the", "trail", "today", "enjoys", "hiking", "plays", "chess", "opening", "gambit", "rook", "endgame", "blitz", "sourdough", "starter", "oven", "bread", "bakes", "loves", "baking"]


@pytest.mark.slow
def test_readme_python_api(tmp_path):
    from uue import (
        ModelConfig,
        UniversalUserEmbeddingEvaluator,
        UniversalUserEmbeddingTrainer,
        UserChunk,
        UserData,
        create_evaluation_report,
    )

    backbone = tiny_bert(tmp_path / "backbone", WORDS)
    config = ModelConfig(base_model_name=str(backbone), num_epochs=1, batch_size=4,
                         attention_heads=2, negatives="random", num_negative_samples=1)
    topics = {"enjoys hiking": "summit at dawn legs like jelly", "plays chess": "opening gambit rook endgame",
              "loves baking": "sourdough starter oven bread"}

    def users(prefix: str, n: int) -> list[UserData]:
        return [UserData(f"{prefix}{i}-{k}", [UserChunk(text, platform="reddit")], statements=[statement])
                for i, (statement, text) in enumerate(topics.items()) for k in range(n)]

    train, dev, test = users("train", 4), users("dev", 1), users("test", 2)
    trainer = UniversalUserEmbeddingTrainer(config, train_data=train, eval_data=dev,
                                            statement_pool=list(topics), output_dir=str(tmp_path / "mine"))
    metrics = trainer.train()
    assert "dev_recall@10" in metrics

    evaluator = UniversalUserEmbeddingEvaluator(str(tmp_path / "mine"))
    user = evaluator.get_user_embedding([UserChunk("new pb on the trail today")])
    statement = evaluator.get_statement_embedding("enjoys hiking")
    assert user.shape == statement.shape == (32,)
    assert abs(np.linalg.norm(user) - 1) < 1e-5 and abs(np.linalg.norm(statement) - 1) < 1e-5
    similarity = evaluator.compute_similarity([UserChunk("new pb on the trail today")], "enjoys hiking")
    assert abs(similarity - float(user @ statement)) < 1e-5

    report = create_evaluation_report(evaluator, test, list(topics), output_dir=str(tmp_path / "report"),
                                      baselines=("tfidf",))
    assert set(report) == {"model", "tfidf"}
    assert 0.0 <= report["model"]["retrieval/recall@10"] <= 1.0
    assert (tmp_path / "report" / "report.md").exists()
