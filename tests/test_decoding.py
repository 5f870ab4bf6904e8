"""The decoding loop gives the tokens transformers' own `generate` gives."""

import torch

from unitlm import decoding
from unitlm.base_llm import format_example

QUESTIONS = ["Convert 5 gallons to liters.", "How many gram are there per 6 kg and a much longer tail here?", "x", "1 m?"]


class _Attention:
    """The attributes attention reads from its module: 9 query heads over 3 key heads."""

    num_key_value_groups = 3
    is_causal = True


def _batch(llm):
    return llm.tokenizer([format_example(q) for q in QUESTIONS], return_tensors="pt", padding=True, padding_side="left")


def _reference(llm, inputs, max_new_tokens, eos):
    out = llm.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos,
                             pad_token_id=llm.tokenizer.pad_token_id)
    rows = out[:, inputs["input_ids"].shape[1]:].tolist()
    return [row[: row.index(eos) + 1] if eos in row else row for row in rows]


def test_greedy_decode_matches_generate(tiny_llm):
    inputs = _batch(tiny_llm)
    ours = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 12, {-1}, lambda row: False)
    reference = tiny_llm.model.generate(**inputs, max_new_tokens=12, do_sample=False, min_new_tokens=12,
                                        pad_token_id=tiny_llm.tokenizer.pad_token_id)
    assert ours == reference[:, inputs["input_ids"].shape[1]:].tolist()


def test_rows_that_stop_leave_and_the_rest_are_unchanged(tiny_llm):
    """Stop one row early on a token it generates; every row still matches generate with that EOS."""
    inputs = _batch(tiny_llm)
    free = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 10, set(), lambda row: False)
    eos = free[1][3]
    ours = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 10, {eos}, lambda row: False)
    assert len(ours[1]) <= 4 and ours[1][-1] == eos
    assert ours == _reference(tiny_llm, inputs, 10, eos)


def test_finished_callback_ends_a_row(tiny_llm):
    inputs = _batch(tiny_llm)
    ours = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 10, set(),
                           lambda row: len(row) >= 3)
    assert [len(row) for row in ours] == [3] * len(QUESTIONS)


def test_decode_leaves_the_model_as_it_was(tiny_llm):
    inputs = _batch(tiny_llm)
    before = tiny_llm.model.config._attn_implementation
    head = tiny_llm.model.get_output_embeddings()
    decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 3, set(), lambda row: False,
                    vocabulary=[5, 7, 11])
    assert tiny_llm.model.config._attn_implementation == before
    assert tiny_llm.model.get_output_embeddings() is head and not head._forward_pre_hooks


def test_vocabulary_picks_the_likeliest_allowed_token(tiny_llm):
    """A cut output layer gives, at every step, the argmax of the full logits over the allowed ids."""
    inputs = _batch(tiny_llm)
    vocabulary = list(range(30, 400, 3))
    ours = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 6, set(),
                           lambda row: False, vocabulary=vocabulary)
    allowed = torch.tensor(vocabulary)
    for row, tokens in enumerate(ours):
        assert set(tokens) <= set(vocabulary)
        ids = inputs["input_ids"][row][inputs["attention_mask"][row].bool()]
        for step, token in enumerate(tokens):
            context = torch.cat([ids, torch.tensor(tokens[:step], dtype=ids.dtype)])
            with torch.no_grad():
                logits = tiny_llm.model(input_ids=context[None]).logits[0, -1]
            assert token == vocabulary[int(logits[allowed].argmax())]
    everything = list(range(tiny_llm.model.config.vocab_size))
    assert decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 6, set(),
                           lambda row: False, vocabulary=everything) == \
        decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 6, set(), lambda row: False)


def test_single_token_attention_equals_sdpa():
    torch.manual_seed(0)

    query, key, value = torch.randn(5, 9, 1, 16), torch.randn(5, 3, 7, 16), torch.randn(5, 3, 7, 16)
    mask = torch.ones(5, 1, 1, 7, dtype=torch.bool)
    mask[0, ..., :3] = False
    ours, _ = decoding.decode_attention(_Attention(), query, key, value, mask, scaling=0.25)
    reference, _ = decoding.sdpa_attention_forward(_Attention(), query, key, value, mask, scaling=0.25)
    torch.testing.assert_close(ours, reference)


def test_shared_prefix_runs_once_and_changes_nothing(tiny_llm):
    """A shared start computed once gives the tokens the full prompts give."""
    inputs = _batch(tiny_llm)
    prefix = tiny_llm.tokenizer("You convert units. " * 8)["input_ids"]
    rows = [row[mask.index(1):] for row, mask in zip(inputs["input_ids"].tolist(), inputs["attention_mask"].tolist())]
    full = tiny_llm.tokenizer.pad({"input_ids": [prefix + row for row in rows]}, padding_side="left", return_tensors="pt")
    alone = decoding.decode(tiny_llm.model, full["input_ids"], full["attention_mask"], 8, set(), lambda row: False)
    shared = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 8, set(),
                             lambda row: False, prefix=prefix)
    assert shared == alone


def test_shared_prefix_length():
    from unitlm.base_llm import shared_prefix_length

    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 5]]) == 2
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2  # each row keeps a token of its own
    assert shared_prefix_length([[7], [7, 8]]) == 0
    assert shared_prefix_length([[1, 2, 3]]) == 2


def test_long_shared_prompt_batched_equals_one_at_a_time(tiny_llm):
    head = "Worked examples: 1 mile = 5280 foot. <answer>3 * 5280</answer>\n" * 4
    prompts = [head + format_example(q) for q in QUESTIONS]
    assert tiny_llm.batched_generate(prompts) == [tiny_llm.generate(p) for p in prompts]


def test_prompts_run_in_length_groups_give_the_same_tokens(tiny_llm, monkeypatch):
    """Groups of one or two prompts, each padded only to its own longest, change no token."""
    questions = QUESTIONS + ["Convert 12.5 nautical miles to km, please.", "ok?", "How many m in 3 ft?"]
    inputs = tiny_llm.tokenizer([format_example(q) for q in questions], return_tensors="pt", padding=True, padding_side="left")
    whole = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 9, set(), lambda row: False)
    assert whole == tiny_llm.model.generate(**inputs, max_new_tokens=9, do_sample=False, min_new_tokens=9,
                                            pad_token_id=tiny_llm.tokenizer.pad_token_id)[:, inputs["input_ids"].shape[1]:].tolist()
    prefix = tiny_llm.tokenizer("You convert units. " * 8)["input_ids"]
    with_prefix = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 9, set(),
                                  lambda row: False, prefix=prefix)
    for rows in (1, 2, 3):
        monkeypatch.setattr(decoding, "PREFILL_ROWS", rows)
        assert decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 9, set(),
                               lambda row: False) == whole
        assert decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 9, set(),
                               lambda row: False, prefix=prefix) == with_prefix


def test_prompt_attention_equals_sdpa():
    """Several query tokens, a causal mask with left padding: the two-matmul path equals sdpa."""
    torch.manual_seed(0)

    query, key, value = torch.randn(2, 9, 6, 16), torch.randn(2, 3, 6, 16), torch.randn(2, 3, 6, 16)
    mask = torch.ones(6, 6, dtype=torch.bool).tril().expand(2, 1, 6, 6).clone()
    mask[1, :, :, :2] = False  # row 1 has two positions of left padding
    ours, _ = decoding.decode_attention(_Attention(), query, key, value, mask, scaling=0.25)
    reference, _ = decoding.sdpa_attention_forward(_Attention(), query, key, value, mask, scaling=0.25)
    assert not ours.isnan().any()  # padding rows see nothing: an even spread, not NaN
    torch.testing.assert_close(ours[0], reference[0])
    torch.testing.assert_close(ours[1, 2:], reference[1, 2:])


def test_causal_prompt_attention_without_a_mask_equals_sdpa():
    """transformers passes no mask for an unpadded prompt: causal attention, as sdpa's is_causal gives."""
    torch.manual_seed(0)

    query, key, value = torch.randn(2, 9, 4, 16), torch.randn(2, 3, 7, 16), torch.randn(2, 3, 7, 16)  # 3 cached
    ours, _ = decoding.decode_attention(_Attention(), query, key, value, None, scaling=0.25)
    mask = torch.ones(4, 7, dtype=torch.bool).tril(3)[None, None]
    reference, _ = decoding.sdpa_attention_forward(_Attention(), query, key, value, mask, scaling=0.25)
    torch.testing.assert_close(ours, reference)


def test_long_padded_prompts_decode_as_each_alone(tiny_llm):
    """Prompts over LONG_PROMPT tokens take sdpa; padded in one batch, each still gets what it gets alone."""
    long_questions = [" ".join(["How many feet are in 3 miles?"] * n) for n in (9, 14, 2)]
    prompts = [format_example(q) for q in long_questions]
    lengths = [len(tiny_llm.tokenizer(p)["input_ids"]) for p in prompts]
    assert max(lengths) > decoding.LONG_PROMPT and min(lengths) < decoding.LONG_PROMPT
    inputs = tiny_llm.tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left")
    together = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 6, set(),
                               lambda row: False)
    for prompt, tokens in zip(prompts, together):
        alone = tiny_llm.tokenizer([prompt], return_tensors="pt")
        assert decoding.decode(tiny_llm.model, alone["input_ids"], alone["attention_mask"], 6, set(),
                               lambda row: False) == [tokens]


def test_restricted_head_of_an_int8_head_gives_its_rows():
    """A dynamically quantized output layer is cut from its dequantized rows, bias included."""
    from unitlm.engine import quantize_int8

    torch.manual_seed(0)
    head = quantize_int8(torch.nn.Sequential(torch.nn.Linear(16, 50)))[0]
    rows = torch.tensor([3, 0, 49, 17])
    cut = decoding.restricted_head(head, rows)
    x = torch.randn(5, 16)
    expected = torch.nn.functional.linear(x, head.weight().dequantize()[rows], head.bias()[rows])
    assert cut.weight.shape == (4, 16)
    torch.testing.assert_close(cut(x), expected)
    assert not torch.equal(cut(x), torch.nn.functional.linear(x, head.weight().dequantize()[:4], head.bias()[:4]))


def test_an_int8_head_is_cut_once_per_vocabulary_and_a_float_head_every_time():
    """Cutting a quantized head (its weights are fixed) is kept per vocabulary; a float head, whose
    weights training may change, is cut from its current rows each time."""
    from unitlm.engine import quantize_int8

    torch.manual_seed(0)
    head = quantize_int8(torch.nn.Sequential(torch.nn.Linear(16, 50)))[0]
    rows, other = torch.tensor([3, 0, 49]), torch.tensor([1, 2])
    first = decoding.restricted_head(head, rows)
    assert decoding.restricted_head(head, rows.clone()) is first
    assert decoding.restricted_head(head, other).weight.shape == (2, 16)
    float_head = torch.nn.Linear(16, 50)
    before = decoding.restricted_head(float_head, rows)
    with torch.no_grad():
        float_head.weight[3] += 1.0
    after = decoding.restricted_head(float_head, rows)
    assert after is not before and torch.equal(after.weight[0], float_head.weight[3])
