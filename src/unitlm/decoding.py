"""A lean decoding loop for short answers on a CPU.

Measured on 2 cores (see README, Speed): transformers' `generate` keeps every row
of a batch running until the longest one ends, computes the prefill's last-token
logits through a slow broadcast matmul, and runs single-token attention through a
kernel with a high fixed cost. This loop drops rows as they finish, feeds the
output layer a contiguous tensor, and does single-token attention with two
matmuls. It calls the model's own forward, so the tokens are the model's.
"""

from collections.abc import Callable
from contextlib import contextmanager

import torch
import transformers
from transformers import AttentionInterface, AttentionMaskInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import sdpa_mask

ATTENTION = "unitlm_decode"


def decode_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """sdpa, except for one query token per row: grouped-query attention as two batched matmuls."""
    batch, heads, length, dim = query.shape
    if length != 1 or kwargs.get("sliding_window") or kwargs.get("softcap") or dropout:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    kv_heads = key.shape[1]
    grouped = query.view(batch, kv_heads, heads // kv_heads, dim)
    scores = torch.matmul(grouped, key.transpose(-1, -2)) * (scaling if scaling is not None else dim**-0.5)
    if attention_mask is not None:
        scores = scores.masked_fill(~attention_mask, float("-inf"))
    probs = scores.float().softmax(-1).to(value.dtype)
    return torch.matmul(probs, value).reshape(batch, 1, heads, dim), None


AttentionInterface.register(ATTENTION, decode_attention)
AttentionMaskInterface.register(ATTENTION, sdpa_mask)


@contextmanager
def _decoding(model):
    """The fast attention and a contiguous output-layer input, for the duration of one decode."""
    previous = model.config._attn_implementation
    fast = previous == "sdpa"
    if fast:
        model.set_attn_implementation(ATTENTION)
    hook = model.get_output_embeddings().register_forward_pre_hook(lambda _, args: (args[0].contiguous(),))
    try:
        yield
    finally:
        hook.remove()
        if fast:
            model.set_attn_implementation(previous)


def _next_tokens(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    logits = logits.float()
    if temperature <= 0:
        return logits.argmax(-1)
    return torch.multinomial((logits / temperature).softmax(-1), 1).squeeze(-1)


@torch.inference_mode()
def decode(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    max_new_tokens: int,
    stop_ids: set[int],
    finished: Callable[[list[int]], bool],
    temperature: float = 0.0,
    prefix: list[int] | None = None,
) -> list[list[int]]:
    """New token ids per row of a left-padded batch that follows `prefix`, shared by every row.

    The prefix (a few-shot prompt, say) runs once, not once per row. A row ends at a
    token in `stop_ids` (kept in its output), when `finished(row_tokens)` says so, or
    after `max_new_tokens`; finished rows leave the batch at once.
    """
    rows = list(range(input_ids.shape[0]))
    outputs: list[list[int]] = [[] for _ in rows]
    if max_new_tokens < 1 or not rows:
        return outputs
    cache = transformers.DynamicCache(config=model.config)
    positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    with _decoding(model):
        if prefix:
            model(input_ids=torch.tensor([prefix], device=input_ids.device), cache=cache, use_cache=True,
                  logits_to_keep=1)
            cache.batch_repeat_interleave(len(rows))
            attention_mask = torch.cat([attention_mask.new_ones(len(rows), len(prefix)), attention_mask], dim=1)
            positions = positions + len(prefix)
        logits = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
        ).logits[:, -1]
        position = positions[:, -1:] + 1
        for step in range(max_new_tokens):
            tokens = _next_tokens(logits, temperature)
            keep = []
            for i, (row, token) in enumerate(zip(rows, tokens.tolist())):
                outputs[row].append(token)
                if token not in stop_ids and not finished(outputs[row]):
                    keep.append(i)
            if not keep or step == max_new_tokens - 1:
                break
            if len(keep) < len(rows):
                index = torch.tensor(keep, device=tokens.device)
                cache.batch_select_indices(index)
                attention_mask, tokens, position = attention_mask[index], tokens[index], position[index]
                rows = [rows[i] for i in keep]
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(rows), 1)], dim=1)
            logits = model(
                input_ids=tokens[:, None],
                attention_mask=attention_mask,
                position_ids=position,
                cache=cache,
                use_cache=True,
            ).logits[:, -1]
            position = position + 1
    return outputs
