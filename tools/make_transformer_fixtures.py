#!/usr/bin/env python3
"""torch.nn.Transformer fixtures for tests/test_parity_transformer.cpp.

    /usr/bin/python3 tools/make_transformer_fixtures.py            # writes tests/fixtures/
    /usr/bin/python3 tools/make_transformer_fixtures.py --out DIR  # somewhere else

Writes <case>_f64.safetensors (computed in float64) and <case>_f32.safetensors (the
same inputs and weights rounded to float32, computed in float32), byte-reproducibly,
with the file format, seeds and OpenBLAS pinning of tools/make_fixtures.py (imported).

Every model is small: d_model 8, nhead 2, dim_feedforward 16, source length S = 5,
target length T = 4, batch B = 3; the full Transformer has 2 encoder and 2 decoder
layers. dropout = 0 and the modules are in train() mode, so torch computes the plain
math: in eval mode with a src_key_padding_mask, torch 1.13's TransformerEncoder takes
a "fast path" through nested tensors whose output at padded positions is 0 instead of
the layers' value there (docs/PYTORCH.md). Every parameter (biases and LayerNorm
weights included, which torch initialises to constants) is moved off its initial
value by 0.1·N(0, 1) so that each one matters.

Each file holds, under these names:

    <parameters>       the module's state_dict, under torch's names
                       (encoder.layers.0.self_attn.in_proj_weight, ..., decoder.norm.bias)
    src | tgt, memory  the inputs (the Transformer: src and tgt; an encoder layer: src;
                       a decoder layer: tgt and memory)
    <masks>            by torch's argument names: src_mask, tgt_mask, memory_mask,
                       src_key_padding_mask, tgt_key_padding_mask, memory_key_padding_mask;
                       bool (True = blocked) or float (added to the scores)
    output             the module's output
    grad_output        a fixed random upstream gradient: loss = Σ output·grad_output
    grad_<input>       ∂loss/∂ each input
    grad_<parameter>   ∂loss/∂ each parameter

and the metadata "kind" (transformer, encoder_layer, decoder_layer), the settings
(d_model, nhead, dim_feedforward, num_encoder_layers, num_decoder_layers, activation,
layer_norm_eps, batch_first, norm_first, unbatched), "masks" (the mask names present,
comma-separated) and "state_dict": every key of the module's state_dict with its
shape, "name=d0,d1;name=d0;...", in torch's order, so the test can assert that
minigrad's named_parameters() is exactly that list (what load_state_dict(strict=True)
in torch needs).

Cases (masks: "bool" True = blocked, random with key 0 always free so no row is fully
blocked; "causal" generate_square_subsequent_mask (float, −inf above the diagonal) or
its bool form; "3d" [B·nhead, ·, ·]; key padding: lengths (full, 3, 2) along the keys;
torch 1.13 takes a float key padding mask only without an attn_mask, so none is joined
with one):
    encoder_layer_post_relu            batch_first, bool src_mask, bool src_key_padding_mask
    encoder_layer_pre_gelu_seq_first   norm_first, gelu, [S, B, E], float src_mask [S, S]
    encoder_layer_float_padding        batch_first, float src_key_padding_mask alone
    decoder_layer_post_relu            batch_first, causal float tgt_mask, bool tgt and memory
                                       key padding masks
    decoder_layer_pre_gelu_seq_first   norm_first, gelu, [T, B, E], causal bool tgt_mask,
                                       bool memory_mask, bool memory_key_padding_mask
    transformer_post_relu_seq_first    PyTorch's defaults but the sizes: causal float
                                       tgt_mask, bool src, tgt and memory key padding masks
    transformer_pre_gelu_batch_first   norm_first, gelu, batch_first, bool src_mask, float
                                       3d tgt_mask (causal plus random biases), float
                                       memory_mask, bool memory_key_padding_mask
    transformer_unbatched_float_padding
                                       src [S, E], tgt [T, E], causal float tgt_mask, float
                                       src_key_padding_mask [S] (without a src_mask), bool
                                       memory_key_padding_mask [S], layer_norm_eps 1e-3
"""

import os

import make_fixtures as mf  # sets OPENBLAS_CORETYPE before torch loads

torch = mf.torch
HERE = mf.HERE

E, HEADS, FF, S, T, B = 8, 2, 16, 5, 4, 3
LENGTHS = (None, 3, 2)  # per batch element: all keys, the first 3, the first 2


def bool_attn_mask(rows, cols, heads3d=False):
    """Random True = blocked, key 0 never blocked; [rows, cols] or [B·h, rows, cols]."""
    lead = (B * HEADS,) if heads3d else ()
    blocked = torch.rand(*lead, rows, cols) < 0.3
    blocked[..., 0] = False
    return blocked


def float_of(blocked):
    """A float mask: −inf where blocked, random biases N(0, 1) elsewhere (float64)."""
    m = mf.randn(*blocked.shape)
    return m.masked_fill(blocked, float("-inf"))


def causal(n):
    return torch.nn.Transformer.generate_square_subsequent_mask(n).to(torch.float64)


def key_padding(length, unbatched=False):
    """[B, length] True = padding, the b-th row padded from LENGTHS[b] on ([length] unbatched)."""
    ends = torch.tensor([[length if n is None else n] for n in LENGTHS])
    padded = torch.arange(length) >= ends
    return padded[1] if unbatched else padded


def perturb(module):
    """Moves every parameter off its constant or random initial value."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * mf.randn(*p.shape))


def state_dict_list(module):
    return ";".join(f"{k}={','.join(str(d) for d in v.shape)}"
                    for k, v in module.state_dict().items())


def sequence(length, batch_first, unbatched=False):
    if unbatched:
        return mf.randn(length, E)
    return mf.randn(B, length, E) if batch_first else mf.randn(length, B, E)


def run_case(w, case, kind, make, inputs, masks, settings):
    """make(dtype) builds the torch module; inputs and masks are float64/bool tensors by
    name, the inputs in the order the module takes them; the upstream gradient is drawn
    here, of the output's shape (that of the last input but memory: src or tgt)."""
    base = make(torch.float64)
    perturb(base)
    grad_output = mf.randn(*inputs["src" if kind == "encoder_layer" else "tgt"].shape)
    sd = state_dict_list(base)
    for variant, dtype in mf.VARIANTS:
        m = make(dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in base.state_dict().items()})
        m.train()  # the plain math: no fast path, no nested tensors (dropout is 0)
        leaves = {n: mf.leaf(x, dtype) for n, x in inputs.items()}
        cast = {n: (x if x.dtype == torch.bool else x.to(dtype)) for n, x in masks.items()}
        output = m(*leaves.values(), **cast)
        assert not torch.isnan(output).any(), f"{case}: NaN (a fully masked row?)"
        go = grad_output.to(dtype)
        output.backward(go)  # loss = Σ output·grad_output
        named = mf.params_of(m)
        tensors = named + list(leaves.items()) + list(cast.items())
        tensors += [("output", output), ("grad_output", go)]
        tensors += [("grad_" + n, x.grad) for n, x in leaves.items()]
        tensors += mf.grads_of(named)
        metadata = {"case": case, "dtype": variant, "torch": torch.__version__,
                    "generator": "tools/make_transformer_fixtures.py", "kind": kind,
                    "masks": ",".join(masks), "state_dict": sd}
        metadata.update({k: str(v) for k, v in settings.items()})
        w.write_file(f"{case}_{variant}.safetensors", tensors, metadata)


def layer_settings(activation, batch_first, norm_first, eps=1e-5, unbatched=False):
    return {"d_model": E, "nhead": HEADS, "dim_feedforward": FF, "activation": activation,
            "layer_norm_eps": repr(eps), "batch_first": int(batch_first),
            "norm_first": int(norm_first), "unbatched": int(unbatched)}


def encoder_layer_case(w, case, activation, batch_first, norm_first, masks_of):
    mf.seed_for(case)
    src = sequence(S, batch_first)
    masks = masks_of()

    def make(dtype):
        return torch.nn.TransformerEncoderLayer(E, HEADS, FF, 0.0, activation,
                                                batch_first=batch_first, norm_first=norm_first,
                                                dtype=dtype)

    run_case(w, case, "encoder_layer", make, {"src": src}, masks,
             layer_settings(activation, batch_first, norm_first))


def decoder_layer_case(w, case, activation, batch_first, norm_first, masks_of):
    mf.seed_for(case)
    tgt, memory = sequence(T, batch_first), sequence(S, batch_first)
    masks = masks_of()

    def make(dtype):
        return torch.nn.TransformerDecoderLayer(E, HEADS, FF, 0.0, activation,
                                                batch_first=batch_first, norm_first=norm_first,
                                                dtype=dtype)

    run_case(w, case, "decoder_layer", make, {"tgt": tgt, "memory": memory}, masks,
             layer_settings(activation, batch_first, norm_first))


def transformer_case(w, case, activation, batch_first, norm_first, masks_of, eps=1e-5,
                     unbatched=False):
    mf.seed_for(case)
    src, tgt = sequence(S, batch_first, unbatched), sequence(T, batch_first, unbatched)
    masks = masks_of()

    def make(dtype):
        return torch.nn.Transformer(E, HEADS, 2, 2, FF, 0.0, activation, layer_norm_eps=eps,
                                    batch_first=batch_first, norm_first=norm_first, dtype=dtype)

    settings = layer_settings(activation, batch_first, norm_first, eps, unbatched)
    settings.update({"num_encoder_layers": 2, "num_decoder_layers": 2})
    run_case(w, case, "transformer", make, {"src": src, "tgt": tgt}, masks, settings)


def main():
    args = mf.start(__doc__.split("\n\n")[0], os.path.join(HERE, "..", "tests", "fixtures"))
    w = mf.Writer(args.out)
    encoder_layer_case(w, "encoder_layer_post_relu", "relu", True, False, lambda: {
        "src_mask": bool_attn_mask(S, S), "src_key_padding_mask": key_padding(S)})
    encoder_layer_case(w, "encoder_layer_pre_gelu_seq_first", "gelu", False, True, lambda: {
        "src_mask": float_of(bool_attn_mask(S, S))})
    encoder_layer_case(w, "encoder_layer_float_padding", "relu", True, False, lambda: {
        "src_key_padding_mask": float_of(key_padding(S))})
    decoder_layer_case(w, "decoder_layer_post_relu", "relu", True, False, lambda: {
        "tgt_mask": causal(T), "tgt_key_padding_mask": key_padding(T),
        "memory_key_padding_mask": key_padding(S)})
    decoder_layer_case(w, "decoder_layer_pre_gelu_seq_first", "gelu", False, True, lambda: {
        "tgt_mask": causal(T) != 0, "memory_mask": bool_attn_mask(T, S),
        "memory_key_padding_mask": key_padding(S)})
    transformer_case(w, "transformer_post_relu_seq_first", "relu", False, False, lambda: {
        "tgt_mask": causal(T), "src_key_padding_mask": key_padding(S),
        "tgt_key_padding_mask": key_padding(T), "memory_key_padding_mask": key_padding(S)})
    transformer_case(w, "transformer_pre_gelu_batch_first", "gelu", True, True, lambda: {
        "src_mask": bool_attn_mask(S, S),
        "tgt_mask": float_of(bool_attn_mask(T, T, heads3d=True) | (causal(T) != 0)),
        "memory_mask": float_of(bool_attn_mask(T, S)),
        "memory_key_padding_mask": key_padding(S)})
    transformer_case(w, "transformer_unbatched_float_padding", "gelu", False, False, lambda: {
        "tgt_mask": causal(T), "src_key_padding_mask": float_of(key_padding(S, unbatched=True)),
        "memory_key_padding_mask": key_padding(S, unbatched=True)}, eps=1e-3, unbatched=True)
    mf.print_written(w, args.out)


if __name__ == "__main__":
    main()
