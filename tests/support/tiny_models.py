"""Tiny randomly initialised backbones saved as Hugging Face directories (no download).

``tiny_bert(dir, words)`` and ``tiny_qwen3(dir, words)`` write a model + a word-level
tokenizer whose vocabulary is ``words`` plus special tokens; pass the directory as
``ModelConfig.base_model_name``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

INSTRUCTION_WORDS = ["instruct", ":", "given", "a", "description", "of", "person", ",", "retrieve", "users", "it", "describes", "query"]


def _tokenizer(words: Iterable[str], specials: list[str], template: str, **special_names: str):
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(dict.fromkeys([*specials, *INSTRUCTION_WORDS, *words]))}
    tok = Tokenizer(WordLevel(vocab, unk_token=special_names["unk_token"]))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(s, vocab[s]) for s in specials if s in template])
    return PreTrainedTokenizerFast(tokenizer_object=tok, **special_names), len(vocab)


def tiny_bert(directory: Path, words: Iterable[str], hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    from transformers import BertConfig, BertModel

    tokenizer, size = _tokenizer(words, ["[PAD]", "[UNK]", "[CLS]", "[SEP]"], "[CLS] $A [SEP]",
                                 pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]")
    config = BertConfig(vocab_size=size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                        intermediate_size=2 * hidden, max_position_embeddings=256, pad_token_id=0)
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def tiny_qwen3(directory: Path, words: Iterable[str], hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    from transformers import Qwen3Config, Qwen3Model

    tokenizer, size = _tokenizer(words, ["<|endoftext|>", "<unk>"], "$A <|endoftext|>",
                                 pad_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<unk>")
    config = Qwen3Config(vocab_size=size, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=hidden // 4,
                         max_position_embeddings=256, pad_token_id=0, eos_token_id=0)
    torch.manual_seed(seed)
    Qwen3Model(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
