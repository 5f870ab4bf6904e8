"""A lean decoding loop for short answers on a CPU.

Measured on 2 cores (see README, Speed): transformers' `generate` keeps every row
of a batch running until the longest one ends, pads every prompt to the longest,
computes the prefill's last-token logits through a slow broadcast matmul, and
runs attention through a kernel with a high fixed cost. This loop drops rows as
they finish, runs the prompts in groups of similar length, feeds the output layer
a contiguous tensor, and does attention with two matmuls. It calls the model's
own forward, so the tokens are the model's.
"""

import weakref
from collections.abc import Callable
from contextlib import contextmanager

import torch
import transformers
from transformers import AttentionInterface, AttentionMaskInterface
from transformers.cache_utils import DynamicLayer
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import sdpa_mask

ATTENTION = "unitlm_decode"


LONG_PROMPT = 64  # tokens; longer prompts go to sdpa: CoT (~300-token prompts) ran 3.4-3.8 vs 2.4-2.7 q/s (3 rounds)


def decode_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """sdpa as two batched matmuls, for grouped-query attention that is causal or has a boolean mask.

    Prompts longer than LONG_PROMPT go to sdpa itself: there the score matrix the matmuls
    build grows with the square of the length, and sdpa's fixed cost no longer matters."""
    batch, heads, length, dim = query.shape
    keys = key.shape[-2]
    plain = not (kwargs.get("sliding_window") or kwargs.get("softcap") or dropout) and length <= LONG_PROMPT
    if attention_mask is None and length > 1 and getattr(module, "is_causal", False):
        # transformers leaves the mask out of unpadded prompts and asks for causal attention
        attention_mask = torch.ones(length, keys, dtype=torch.bool, device=query.device).tril(keys - length)[None, None]
    known = length == 1 if attention_mask is None else attention_mask.dtype == torch.bool
    if not (plain and known):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    kv_heads = key.shape[1]
    group = heads // kv_heads
    grouped = query.reshape(batch, kv_heads, group * length, dim)  # query head h reads key head h // group
    scores = torch.matmul(grouped, key.transpose(-1, -2)) * (scaling if scaling is not None else dim**-0.5)
    if attention_mask is not None:
        # A finite floor, not -inf: a padding row that sees nothing gets an even spread, not NaN.
        mask = attention_mask[:, :, None].expand(batch, kv_heads, group, length, keys).reshape(scores.shape)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    probs = scores.float().softmax(-1).to(value.dtype)
    out = torch.matmul(probs, value).view(batch, heads, length, dim)
    return out.transpose(1, 2).contiguous(), None


def new_cache(model, states: list[tuple[torch.Tensor, torch.Tensor]] | None = None):
    """A key/value cache for `model`, filled with `states` (keys, values per layer) when given."""
    cache = transformers.DynamicCache(config=model.config)
    for layer, (keys, values) in zip(cache.layers, states or []):
        layer.update(keys, values)
    return cache


def _plain(cache) -> bool:
    """Every layer keeps every position (no sliding window), so caches can be cut and joined."""
    return all(type(layer) is DynamicLayer for layer in cache.layers)


AttentionInterface.register(ATTENTION, decode_attention)
AttentionMaskInterface.register(ATTENTION, sdpa_mask)


# Cut output layers of int8 models, per head and vocabulary: unpacking and dequantizing the 49k rows
# of a quantized head took about 0.3 s, a tenth of a 32-question batch, every time it was cut.
_CUT_HEADS: "weakref.WeakKeyDictionary[torch.nn.Module, dict]" = weakref.WeakKeyDictionary()


def restricted_head(head: torch.nn.Module, vocabulary: torch.Tensor) -> torch.nn.Linear:
    """The output layer cut to the rows of `vocabulary`: logits for those tokens alone, the same values.

    A dynamically quantized head (int8 weights, see `engine.quantize_int8`) is cut from its
    dequantized rows, once per vocabulary (its weights never change): the cut layer is small
    enough that plain float weights cost nothing. A float head is cut afresh each time, so a
    model whose weights change (training) is never decoded with stale rows."""
    weight, bias = head.weight, head.bias
    if callable(weight):  # torch.ao dynamic quantized Linear: weight() and bias() are methods
        cuts = _CUT_HEADS.setdefault(head, {})
        key = tuple(vocabulary.tolist())
        if key not in cuts:
            cuts[key] = _cut(head.in_features, weight().dequantize(), bias(), vocabulary)
        return cuts[key]
    return _cut(head.in_features, weight, bias, vocabulary)


def _cut(in_features: int, weight: torch.Tensor, bias: torch.Tensor | None, vocabulary: torch.Tensor) -> torch.nn.Linear:
    cut = torch.nn.Linear(in_features, len(vocabulary), bias=bias is not None,
                          device=weight.device, dtype=weight.dtype)
    cut.weight = torch.nn.Parameter(weight[vocabulary].contiguous(), requires_grad=False)
    if bias is not None:
        cut.bias = torch.nn.Parameter(bias[vocabulary].contiguous(), requires_grad=False)
    return cut


@contextmanager
def _decoding(model, vocabulary: torch.Tensor | None = None):
    """The fast attention, a contiguous output-layer input and, with `vocabulary`, an output
    layer cut to those tokens, for the duration of one decode."""
    previous = model.config._attn_implementation
    fast = previous == "sdpa"
    if fast:
        model.set_attn_implementation(ATTENTION)
    head = model.get_output_embeddings()
    if vocabulary is not None:
        model.set_output_embeddings(restricted_head(head, vocabulary))
    hook = model.get_output_embeddings().register_forward_pre_hook(lambda _, args: (args[0].contiguous(),))
    try:
        yield
    finally:
        hook.remove()
        model.set_output_embeddings(head)
        if fast:
            model.set_attn_implementation(previous)


def _next_tokens(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    logits = logits.float()  # argmax over bf16 ran 6x slower here than widening first
    if temperature <= 0:
        return logits.argmax(-1)
    return torch.multinomial((logits / temperature).softmax(-1), 1).squeeze(-1)


PREFILL_ROWS = 64  # prompts run in groups of this many, of similar length


def _prefill(model, input_ids, attention_mask, positions, prefix_states):
    """Last-position logits and a filled cache for a left-padded batch after a shared prefix.

    Prompts run in groups of similar length, each padded only to its own longest, so
    short prompts do not pay for the longest one's padding; the groups' caches are then
    left-padded to the batch's width and joined in the batch's row order.
    """
    rows, width = input_ids.shape
    prefix = prefix_states[0][0].shape[-2] if prefix_states else 0

    def run(group, keep):
        cache = new_cache(model, [(k.expand(len(group), -1, -1, -1), v.expand(len(group), -1, -1, -1))
                                        for k, v in prefix_states])
        mask = torch.cat([attention_mask.new_ones(len(group), prefix), attention_mask[group, width - keep :]], dim=1)
        logits = model(input_ids=input_ids[group, width - keep :], attention_mask=mask,
                       position_ids=positions[group, width - keep :], cache=cache, use_cache=True,
                       logits_to_keep=1).logits[:, -1]
        return logits, cache

    if rows <= PREFILL_ROWS or not _plain(new_cache(model)):
        return run(torch.arange(rows, device=input_ids.device), width)
    lengths = attention_mask.sum(-1)
    order = torch.argsort(lengths, stable=True)
    back = torch.empty_like(order)
    back[order] = torch.arange(rows, device=order.device)
    logits, caches = [], []
    for group in order.split(PREFILL_ROWS):
        keep = int(lengths[group].max())
        group_logits, cache = run(group, keep)
        logits.append(group_logits)
        caches.append((cache, width - keep))
    states = []
    for layer in range(len(caches[0][0].layers)):
        keys = torch.cat([_pad_after(cache.layers[layer].keys, prefix, gap) for cache, gap in caches])
        values = torch.cat([_pad_after(cache.layers[layer].values, prefix, gap) for cache, gap in caches])
        states.append((keys[back], values[back]))
    return torch.cat(logits)[back], new_cache(model, states)


def _pad_after(states: torch.Tensor, prefix: int, gap: int) -> torch.Tensor:
    """`gap` zero positions between the prefix and the rest: the left padding a group was run without."""
    zeros = states.new_zeros(*states.shape[:2], gap, states.shape[3])
    return torch.cat([states[..., :prefix, :], zeros, states[..., prefix:, :]], dim=-2)


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
    vocabulary: list[int] | None = None,
) -> list[list[int]]:
    """New token ids per row of a left-padded batch that follows `prefix`, shared by every row.

    The prefix (a few-shot prompt, say) runs once, not once per row. A row ends at a
    token in `stop_ids` (kept in its output), when `finished(row_tokens)` says so, or
    after `max_new_tokens`; finished rows leave the batch at once. With `vocabulary`,
    every new token is the model's likeliest (or sampled) among those token ids alone:
    the output layer computes only their rows.
    """
    rows = list(range(input_ids.shape[0]))
    outputs: list[list[int]] = [[] for _ in rows]
    if max_new_tokens < 1 or not rows:
        return outputs
    positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    allowed = None if vocabulary is None else torch.tensor(vocabulary, device=input_ids.device)
    with _decoding(model, allowed):
        prefix_states = []
        if prefix:
            shared = new_cache(model)
            model(input_ids=torch.tensor([prefix], device=input_ids.device), cache=shared, use_cache=True,
                  logits_to_keep=1)
            prefix_states = [(layer.keys, layer.values) for layer in shared.layers]
            positions = positions + len(prefix)
        logits, cache = _prefill(model, input_ids, attention_mask, positions, prefix_states)
        if prefix:
            attention_mask = torch.cat([attention_mask.new_ones(len(rows), len(prefix)), attention_mask], dim=1)
        position = positions[:, -1:] + 1
        for step in range(max_new_tokens):
            tokens = _next_tokens(logits, temperature)
            if allowed is not None:
                tokens = allowed[tokens]
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
