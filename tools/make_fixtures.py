#!/usr/bin/env python3
"""PyTorch parity fixtures for tests/test_parity_nn.cpp and tests/test_parity_attention.cpp.

Regenerate (Debian 12: apt-get install python3-torch; the `safetensors` package
is not needed, this script writes the format itself with json + struct):

    /usr/bin/python3 tools/make_fixtures.py            # writes tests/fixtures/
    /usr/bin/python3 tools/make_fixtures.py --out DIR  # somewhere else

The output is byte-for-byte reproducible with the same torch version (fixed seeds,
one thread, deterministic algorithms, no timestamps, OpenBLAS's Haswell kernels
whatever the CPU: see OPENBLAS_CORETYPE below): running the script twice gives
the same sha256 for every file. Each case is written twice, as
<case>_f64.safetensors (computed in float64) and <case>_f32.safetensors (the same
inputs rounded to float32, computed in float32).

Every file's "__metadata__" holds "case" (which kind of test), "dtype", the
settings the C++ test needs (dims, reductions, learning rates, ...) as strings,
"torch" (the version that made it) and "generator" (this script). Settings that
are floats are written with repr(), which round-trips exactly through std::stod.

Tensors are named after what they are. A gradient is "grad_" + the name of what
it is the gradient of. Module parameters carry PyTorch's names (weight, bias,
weight_ih_l0, ...) so Module::load_state_dict can take them straight from the file.
Where a module has several outputs, the scalar the gradients are taken of is

    loss = Σ output·grad_output (+ Σ h_n·grad_h_n + Σ c_n·grad_c_n)

so grad_output, grad_h_n, grad_c_n are the fixed random "upstream" gradients
(∂loss/∂output = grad_output) and backward(grad_output) reproduces the rest.

Cases:
  linear_2d, linear_3d, linear_nobias     nn.Linear(4, 3): input [5,4], [2,5,4], [5,4]
      input weight [bias] output grad_output grad_input grad_weight [grad_bias]
  embedding                               nn.Embedding(6, 3), ids [2,4] int64 with repeats
  embedding_padding_idx                   nn.Embedding(6, 3, padding_idx=-2): row 4 is zero
                                          and gets no gradient; ids hold 4 once
      ids weight output grad_output grad_weight; settings [padding_idx]
  lstmcell, lstmcell_nobias               nn.LSTMCell(3, 4), batch 2, from a given (h0, c0)
      input h0 c0 weight_ih weight_hh [bias_ih bias_hh] h1 c1 grad_h1 grad_c1
      grad_input grad_h0 grad_c0 grad_weight_ih ...
  lstm_l{1,2}_{seq,batch}first{,_h0}      nn.LSTM(3, 4, num_layers), T=5, B=2; "_h0" passes
                                          (h0, c0) [layers,2,4], else they default to zeros
      input [h0 c0] weight_ih_l0 ... output h_n c_n grad_output grad_h_n grad_c_n
      grad_input [grad_h0 grad_c0] grad_weight_ih_l0 ...
  lstm_bi_l{1,2}_{seq,batch}first{,_h0}   the same, bidirectional=True: output [.., 8], states
                                          [layers·2, 2, 4] (metadata bidirectional=1)
  lstm_unbatched_l1{,_h0}, lstm_unbatched_bi_l2{,_h0}
                                          unbatched: input [5, 3], states [layers·D, 4],
                                          output [5, D·4] (metadata unbatched=1)
  lstmcell_unbatched, gru_cell_unbatched  the cells on unbatched input [3], states [4]
  gru_cell, gru_cell_nobias               nn.GRUCell(3, 4), batch 2, from a given h0
      input h0 weight_ih weight_hh [bias_ih bias_hh] h1 grad_h1 grad_input grad_h0
      grad_weight_ih ...
  gru_l{1,2}_{seq,batch}first{,_h0}       nn.GRU(3, 4, num_layers), T=5, B=2; "_h0" passes
                                          h0 [layers,2,4], else it defaults to zeros
      input [h0] weight_ih_l0 ... output h_n grad_output grad_h_n grad_input [grad_h0]
      grad_weight_ih_l0 ...   (loss = Σ output·grad_output + Σ h_n·grad_h_n)
  gru_bi_..., gru_unbatched_...           as for the LSTM
  ce_{mean,sum,none,ignore_mean,ignore_sum}  F.cross_entropy, logits [6,4], targets [6]
  nll_mean, nll_ignore_none               F.nll_loss of log-probabilities [6,4]
      logits|log_probs targets loss [grad_loss (for "none")] grad_logits|grad_log_probs
  mse_mean, mse_sum                       F.mse_loss(a, b), [3,4]
      a b loss grad_a grad_b
  {ce,nll,bce,bce_logits,regression}_grid  every option of every loss, many cases to a
      file (see "the loss grids" below): ce and nll over the shapes [C], [N,C], [N,C,d],
      [N,C,d1,d2] and [N,C,d] with C == d, each reduction, with and without ignore_index
      and a class weight, ce with label_smoothing 0 and 0.1 and class-probability
      targets; bce (weight; probabilities of exactly 0 and 1), bce_logits (weight,
      pos_weight, logits of ±60), mse and l1, over [5], [3,4], [2,3,4]
      <k>.input <k>.target [<k>.weight] [<k>.pos_weight] <k>.loss [<k>.grad_loss]
      <k>.grad_input [<k>.grad_target]; settings "cases" and "<k>"
  softmax_last, softmax_dim1, log_softmax_last, log_softmax_dim0   x [2,3,5] (one row
                                          shifted by +40 to test the max subtraction)
      input output grad_output grad_input
  layer_norm_last, layer_norm_2d, layer_norm_3d_noaffine, layer_norm_noaffine_eps,
  layer_norm_eps                          nn.LayerNorm: x [2,3,5] over (5,) (one row shifted
                                          by +40 and one scaled by 1e-3, so the mean and a
                                          small variance are tested), x [2,3,4] over (3,4),
                                          x [2,2,3,4] over (2,3,4) without affine, x [4,6]
                                          over (6,) without affine and eps 1e-3, x [3,8]
                                          over (8,) with eps 0.1 and a nearly constant row
                                          (eps dominates its variance). Weight and bias are
                                          random (not torch's ones and zeros), so a path that
                                          ignored them would fail.
      input [weight bias] output grad_output grad_input [grad_weight grad_bias];
      settings normalized_shape ("3,4"), eps (repr), elementwise_affine
  gelu_none, gelu_tanh                    F.gelu(x, approximate=...), x [4,8] in [-6, 6)
                                          with 0, ±1e-4 and ±10 among them
      input output grad_output grad_input; settings approximate
  sgd, sgd_momentum, sgd_dampening_wd, sgd_nesterov_wd, adam, adam_wd, adamw,
  adam_amsgrad, adamw_amsgrad
      Five steps on linear regression: loss = mean((X·w + b - y)²), X [8,3], w [3,1], b [1].
      X y w0 b0, then per step k = 1..5: loss_k (before the update), grad_w_k, grad_b_k
      (the gradients the update used) and w_k, b_k (the parameters after it).
  adamw_groups                            the same on AdamW with two parameter groups, as
                                          nanoGPT's: w (a matrix) decays by 0.1 at the
                                          default lr 0.1, b by 0 at lr 0.05; settings
                                          "groups" (2) and per group g "group<g>_size"
                                          (parameters, in order), "group<g>_lr",
                                          "group<g>_weight_decay"

Attention (for tests/test_parity_attention.cpp). Masks are bool with minigrad's one
convention, TRUE = BLOCKED, which is also what torch.nn.MultiheadAttention's bool
key_padding_mask and attn_mask mean. No row is fully masked here: torch gives NaN
for one, minigrad defines it as zero weights (tests/test_attention.cpp checks that).
  sdpa, sdpa_mask, sdpa_causal_heads, sdpa_padding_scale1, sdpa_broadcast
      torch 1.13 has no F.scaled_dot_product_attention, so the reference is the
      formula itself, differentiated by torch's autograd:
          weights = softmax(((q @ kᵀ) * scale).masked_fill(mask, -inf)),  context = weights @ v
      sdpa: q [2,3,4], k [2,5,4], v [2,5,3], scale 1/√4. sdpa_mask: a random mask
      [2,3,5]. sdpa_causal_heads: q, k, v [2,2,4,4] with causal mask [4,4] (broadcast
      over batch and heads). sdpa_padding_scale1: key padding mask [2,1,5] (lengths
      5 and 2), scale 1 (Luong's unscaled dot product). sdpa_broadcast: q [2,1,3,4],
      k [1,2,5,4], v [2,2,5,3] (batch axes broadcast).
      q k v [mask] context weights grad_context grad_weights grad_q grad_k grad_v;
      settings "scale" (repr of the float used) and "masked"
  mha, mha_key_padding, mha_causal, mha_both, mha_float_mask, mha_float_mask3d,
  mha_bool_mask3d_key_padding, mha_float_key_padding, mha_float_mask_bool_key_padding,
  mha_seq_first_kdim_vdim, mha_seq_first_nobias, mha_unbatched, mha_unbatched_kdim, mha_self
      torch.nn.MultiheadAttention(E=8, num_heads=2), batch 2, T query steps and S keys
      (3 and 4, or 4 and 4), batch_first unless "seq_first", kdim = vdim = E unless
      "kdim" (5 and 3 batched, 6 and 6 unbatched). Masks: a bool key_padding_mask [B, S]
      (lengths S and 2, True = padding) or a float one (-inf there, random biases
      elsewhere); a bool attn_mask (True = blocked) or float one (-inf where blocked,
      random values elsewhere), [T, S] or, for "mask3d", [B·h, T, S]. "unbatched":
      query [T, E], key/value [S, kdim/vdim], key_padding_mask [S], attn_mask [h, T, S]
      or [T, S]. "self": one tensor is query, key and value (its gradient sums all
      three). torch 1.13 accepts a float key_padding_mask only without an attn_mask,
      so no case joins one with an attn_mask. The parameters
      carry torch's state-dict names (in_proj_weight, in_proj_bias or
      q/k/v_proj_weight, out_proj.weight, out_proj.bias), so strict loading by name
      takes them straight from the file; weights are per head (average_attn_weights
      =False), average_weights the mean over heads; loss = Σ output·grad_output +
      Σ weights·grad_weights. The key's part of grad_in_proj_bias is zero in exact
      arithmetic (it shifts a whole row of scores, which softmax ignores): torch's
      values there are rounding noise.
      query [key value] [key_padding_mask] [attn_mask] <parameters> output weights
      average_weights grad_output grad_weights grad_query [grad_key grad_value]
      grad_<parameter>...; settings embed_dim num_heads batch_first bias kdim vdim
      unbatched self_attention key_padding_mask attn_mask
  additive, additive_mask, additive_step_mask
      Additive (Bahdanau) attention, minigrad's nn::AdditiveAttention(query_dim 3,
      key_dim 4, attn_dim 6); torch has no module for it, so the reference is the
      formula, differentiated by torch's autograd, with the same three weights:
          scores = tanh(q·W_qᵀ [.., Tq, 1, A] + k·W_kᵀ [.., 1, Tk, A])·vᵀ,
          weights = softmax(scores.masked_fill(key_mask, -inf)), context = weights @ values
      additive: query [2,3,3], keys [2,5,4], values [2,5,2]. additive_mask: the same
      with key_mask [2,5] (lengths 5 and 2). additive_step_mask: one decoder step,
      query [2,3] (weights [2,5], context [2,4]), values = the keys, key_mask lengths 3, 5.
      query keys [values] [key_mask] w_q.weight w_k.weight v.weight context weights
      grad_context grad_weights grad_query grad_keys [grad_values] grad_w_q.weight ...;
      settings query_dim key_dim attn_dim, "masked", "values_are_keys"
"""

import argparse
import hashlib
import importlib.util
import json
import os
import struct
import sys
import zlib

# Debian's torch does its matrix products through libblas.so.3, which is OpenBLAS
# when libopenblas is installed. OpenBLAS picks its kernels by CPU at load time,
# and its AVX-512 (SkylakeX) kernels round differently from the AVX2 (Haswell)
# ones the fixtures were made with. Pinning the kernels (before torch loads
# OpenBLAS) keeps the files byte-identical on either kind of machine.
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

import torch  # noqa: E402  (after the environment is set)
import torch.nn.functional as F  # noqa: E402

DTYPE_CODES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.bool: "BOOL"}
VARIANTS = [("f64", torch.float64), ("f32", torch.float32)]

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- the file format -----------------------------------------------------------------------


def serialize(tensors, metadata):
    """safetensors bytes, laid out like the reference writer: compact JSON with the
    metadata first, tensors in the given order, the header padded with spaces to a
    multiple of 8 bytes."""
    assert sys.byteorder == "little", "the data section is the tensors' native bytes"
    header = {"__metadata__": metadata} if metadata else {}
    chunks, offset = [], 0
    for name, t in tensors:
        assert name not in header, f"duplicate tensor {name}"
        t = t.detach().contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": DTYPE_CODES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def load_checker():
    spec = importlib.util.spec_from_file_location("check_safetensors",
                                                  os.path.join(HERE, "check_safetensors.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Writer:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.written = []
        self.checker = load_checker()

    def write(self, case, variant, tensors, settings):
        metadata = {"case": case, "dtype": variant, "torch": torch.__version__,
                    "generator": "tools/make_fixtures.py"}
        metadata.update({k: str(v) for k, v in settings.items()})
        self.write_file(f"{case}_{variant}.safetensors", tensors, metadata)

    def write_file(self, name, tensors, metadata):
        """Writes out_dir/name, reads it back, and returns (size, sha256 hex digest)."""
        data = serialize(tensors, metadata)
        path = os.path.join(self.out_dir, name)
        with open(path, "wb") as f:
            f.write(data)
        # Read back with the independent reader: what C++ will see is what we meant.
        _, back = self.checker.read(path)
        assert list(back) == [n for n, _ in tensors], name
        for n, t in tensors:
            assert back[n][1] == list(t.shape), (name, n)
        digest = hashlib.sha256(data).hexdigest()
        self.written.append((name, len(data), digest))
        return len(data), digest


def print_written(w, out_dir):
    """One line per file written (size, digest, name), then the total."""
    for name, size, digest in w.written:
        print(f"{size:7d}  {digest[:16]}  {name}")
    total = sum(size for _, size, _ in w.written)
    print(f"{total:7d}  total, {len(w.written)} files in {os.path.normpath(out_dir)}")


def start(description, default_out):
    """The command line of the fixture scripts (--out DIR, created) and torch pinned
    for bit-reproducible files: one thread (no reduction-order changes), deterministic
    kernels."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=default_out)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    return args


# ---- helpers --------------------------------------------------------------------------------


def seed_for(case):
    """A fixed seed per case, so adding a case never changes the others."""
    torch.manual_seed(zlib.crc32(case.encode()))


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def leaf(t, dtype):
    return t.detach().to(dtype).clone().requires_grad_(True)


def params_of(module):
    return [(name, p) for name, p in module.named_parameters()]


def grads_of(named):
    return [("grad_" + name, p.grad) for name, p in named]


# ---- cases ----------------------------------------------------------------------------------


def one_input_module(w, case, variant, m, x, gy, settings):
    """y = m(x), backward from gy, written as input, the parameters, output, grad_output,
    grad_input and the parameters' gradients."""
    y = m(x)
    y.backward(gy)
    named = params_of(m)
    w.write(case, variant,
            [("input", x)] + named + [("output", y), ("grad_output", gy), ("grad_input", x.grad)]
            + grads_of(named),
            settings)


def linear(w, case, input_shape, bias):
    seed_for(case)
    base = torch.nn.Linear(4, 3, bias=bias).double()
    x64 = randn(*input_shape)
    gy64 = randn(*input_shape[:-1], 3)
    for variant, dtype in VARIANTS:
        m = torch.nn.Linear(4, 3, bias=bias).to(dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in base.state_dict().items()})
        one_input_module(w, case, variant, m, leaf(x64, dtype), gy64.to(dtype),
                         {"in_features": 4, "out_features": 3, "bias": int(bias)})


def embedding(w):
    embedding_case(w, "embedding", None)
    embedding_case(w, "embedding_padding_idx", -2)  # row 4 of 6: zero, and no gradient


def embedding_case(w, case, padding_idx):
    seed_for(case)
    weight64 = randn(6, 3)
    if padding_idx is not None:  # torch zeroes the padding row when it initialises
        weight64[padding_idx] = 0
    ids = torch.tensor([[1, 3, 1, 5], [0, 3, 4, 2]], dtype=torch.int64)  # 1 twice, 3 three times
    if padding_idx is None:
        ids[1, 2] = 3
    gy64 = randn(2, 4, 3)
    for variant, dtype in VARIANTS:
        m = torch.nn.Embedding(6, 3, padding_idx=padding_idx).to(dtype)
        with torch.no_grad():
            m.weight.copy_(weight64.to(dtype))
        y = m(ids)
        gy = gy64.to(dtype)
        y.backward(gy)
        settings = {"num_embeddings": 6, "embedding_dim": 3}
        if padding_idx is not None:
            settings["padding_idx"] = padding_idx
        w.write(case, variant,
                [("ids", ids), ("weight", m.weight), ("output", y), ("grad_output", gy),
                 ("grad_weight", m.weight.grad)],
                settings)


def labelled(states, pattern, tensors):
    """[(pattern with each state's name, tensor)]: ("h0", ...), ("grad_c_n", ...)."""
    return [(pattern.format(s), t) for s, t in zip(states, tensors)]


def torch_state(tensors):
    """torch's spelling of a recurrent state: (h, c) for an LSTM, h alone for a GRU."""
    return tuple(tensors) if len(tensors) > 1 else tensors[0]


def state_list(state):
    return list(state) if isinstance(state, tuple) else [state]


# LSTM and GRU fixtures differ only in the state they carry: ("h", "c") or ("h",).
LSTM_STATES, GRU_STATES = ("h", "c"), ("h",)


# [extending:gru-fixture]
def cell(w, case, module, states, bias):
    seed_for(case)
    base = module(3, 4, bias=bias).double()
    x64 = randn(2, 3)
    s64 = [randn(2, 4) for _ in states]
    g64 = [randn(2, 4) for _ in states]
    for variant, dtype in VARIANTS:
        m = module(3, 4, bias=bias).to(dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in base.state_dict().items()})
        x, s0 = leaf(x64, dtype), [leaf(t, dtype) for t in s64]
        s1 = state_list(m(x, torch_state(s0)))
        g = [t.to(dtype) for t in g64]
        torch.autograd.backward(s1, g)  # loss = Σ h1·grad_h1 (+ Σ c1·grad_c1)
        named = params_of(m)
        w.write(case, variant,
                [("input", x)] + labelled(states, "{}0", s0) + named
                + labelled(states, "{}1", s1) + labelled(states, "grad_{}1", g)
                + [("grad_input", x.grad)] + labelled(states, "grad_{}0", [t.grad for t in s0])
                + grads_of(named),
                {"input_size": 3, "hidden_size": 4, "bias": int(bias)})
# [/extending:gru-fixture]


def sequence(w, kind, module, states, layers, batch_first, with_state, bidirectional=False,
             unbatched=False):
    if unbatched:
        case = (f"{kind}_unbatched{'_bi' if bidirectional else ''}_l{layers}"
                + ("_h0" if with_state else ""))
    else:
        case = (f"{kind}{'_bi' if bidirectional else ''}_l{layers}_"
                f"{'batch' if batch_first else 'seq'}first" + ("_h0" if with_state else ""))
    seed_for(case)
    T, B, IN, H = 5, 2, 3, 4
    D = 2 if bidirectional else 1
    settings = dict(num_layers=layers, batch_first=batch_first, bidirectional=bidirectional)
    base = module(IN, H, **settings).double()
    if unbatched:  # [T, in], states [L·D, H]: no batch axis anywhere
        x64 = randn(T, IN)
        s64 = [randn(layers * D, H) for _ in states]
        gy64 = randn(T, D * H)
        gn64 = [randn(layers * D, H) for _ in states]
    else:
        x64 = randn(B, T, IN) if batch_first else randn(T, B, IN)
        s64 = [randn(layers * D, B, H) for _ in states]  # layer-first even when batch_first
        gy64 = randn(B, T, D * H) if batch_first else randn(T, B, D * H)
        gn64 = [randn(layers * D, B, H) for _ in states]
    for variant, dtype in VARIANTS:
        m = module(IN, H, **settings).to(dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in base.state_dict().items()})
        x = leaf(x64, dtype)
        s0 = [leaf(t, dtype) for t in s64] if with_state else []
        y, final = m(x, torch_state(s0) if with_state else None)
        final = state_list(final)
        gy, gn = gy64.to(dtype), [t.to(dtype) for t in gn64]
        # loss = Σ output·grad_output + Σ h_n·grad_h_n (+ Σ c_n·grad_c_n)
        torch.autograd.backward([y] + final, [gy] + gn)
        named = params_of(m)
        meta = {"input_size": IN, "hidden_size": H, "num_layers": layers,
                "batch_first": int(batch_first), "initial_state": int(with_state)}
        if bidirectional or unbatched:  # (not written for the older cases, whose files stay)
            meta.update(bidirectional=int(bidirectional), unbatched=int(unbatched))
        w.write(case, variant,
                [("input", x)] + labelled(states, "{}0", s0) + named
                + [("output", y)] + labelled(states, "{}_n", final) + [("grad_output", gy)]
                + labelled(states, "grad_{}_n", gn) + [("grad_input", x.grad)]
                + labelled(states, "grad_{}0", [t.grad for t in s0]) + grads_of(named),
                meta)


def unbatched_cell(w, case, module, states):
    """One step of a cell on unbatched input: x [3], states [4]."""
    seed_for(case)
    base = module(3, 4).double()
    x64 = randn(3)
    s64 = [randn(4) for _ in states]
    g64 = [randn(4) for _ in states]
    for variant, dtype in VARIANTS:
        m = module(3, 4).to(dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in base.state_dict().items()})
        x, s0 = leaf(x64, dtype), [leaf(t, dtype) for t in s64]
        s1 = state_list(m(x, torch_state(s0)))
        g = [t.to(dtype) for t in g64]
        torch.autograd.backward(s1, g)
        named = params_of(m)
        w.write(case, variant,
                [("input", x)] + labelled(states, "{}0", s0) + named
                + labelled(states, "{}1", s1) + labelled(states, "grad_{}1", g)
                + [("grad_input", x.grad)] + labelled(states, "grad_{}0", [t.grad for t in s0])
                + grads_of(named),
                {"input_size": 3, "hidden_size": 4, "bias": 1})


def classification_loss(w, case, kind, reduction, ignore_index):
    """kind "ce": F.cross_entropy(logits); kind "nll": F.nll_loss(log_probs)."""
    seed_for(case)
    N, C = 6, 4
    x64 = randn(N, C)
    if kind == "nll":
        x64 = F.log_softmax(x64 * 2, dim=1)
    targets = torch.tensor([2, 0, 3, 1, 2, 1], dtype=torch.int64)
    if ignore_index is not None:
        targets[1] = targets[4] = ignore_index  # two rows that must contribute nothing
    gl64 = randn(N)
    name = "logits" if kind == "ce" else "log_probs"
    fn = F.cross_entropy if kind == "ce" else F.nll_loss
    for variant, dtype in VARIANTS:
        x = leaf(x64, dtype)
        kwargs = {"reduction": reduction}
        if ignore_index is not None:
            kwargs["ignore_index"] = ignore_index
        loss = fn(x, targets, **kwargs)
        tensors = [(name, x), ("targets", targets), ("loss", loss)]
        if reduction == "none":
            gl = gl64.to(dtype)
            loss.backward(gl)
            tensors.append(("grad_loss", gl))
        else:
            loss.backward()
        tensors.append(("grad_" + name, x.grad))
        w.write(case, variant, tensors,
                {"reduction": reduction,
                 "ignore_index": -100 if ignore_index is None else ignore_index})


def mse(w, case, reduction):
    seed_for(case)
    a64, b64 = randn(3, 4), randn(3, 4)
    for variant, dtype in VARIANTS:
        a, b = leaf(a64, dtype), leaf(b64, dtype)
        loss = F.mse_loss(a, b, reduction=reduction)
        loss.backward()
        w.write(case, variant,
                [("a", a), ("b", b), ("loss", loss), ("grad_a", a.grad), ("grad_b", b.grad)],
                {"reduction": reduction})


# ---- the loss grids: every option of every loss, many cases to a file -------------------------
#
# One file per loss family and dtype ("<family>_grid_f64.safetensors"). Case k's tensors
# are "<k>.input", "<k>.target", ["<k>.weight"], ["<k>.pos_weight"], "<k>.loss",
# ["<k>.grad_loss" (reduction none: the upstream gradient)], "<k>.grad_input",
# ["<k>.grad_target"]; its settings are the metadata entry "<k>", written
# "loss=ce;reduction=mean;ignore_index=1;label_smoothing=0.1;weight=1;target=index;shape=3x4x5".
# "cases" is how many there are.

LOSS_SHAPES = [  # the input's shape; the class axis (for ce/nll) is 1, C = 4 throughout
    ("c", (4,)),
    ("nc", (5, 4)),
    ("ncd", (3, 4, 5)),
    ("ncdd", (2, 4, 3, 2)),
    ("c_eq_d", (3, 4, 4)),  # C == d: a class axis taken last would silently give another loss
]
REDUCTIONS = ("mean", "sum", "none")
IGNORED = 1  # the ignore_index of the cases that use one


class LossGrid:
    """Collects the cases of one family, then writes them as one file per dtype."""

    def __init__(self, family):
        self.family = family
        self.cases = []  # (settings, {variant: [(name, tensor)]})

    def add(self, settings, per_variant):
        self.cases.append((settings, per_variant))

    def write(self, w):
        for variant, _ in VARIANTS:
            tensors, meta = [], {"cases": len(self.cases)}
            for k, (settings, per_variant) in enumerate(self.cases):
                meta[str(k)] = ";".join(f"{a}={b}" for a, b in settings.items())
                tensors += [(f"{k}.{n}", t) for n, t in per_variant[variant]]
            w.write(self.family + "_grid", variant, tensors, meta)


def shape_str(shape):
    return "x".join(str(d) for d in shape)


def run_loss(fn, x, y, extra, reduction, grad_target):
    """loss = fn(x, y, ...), backward from 1 (or from a random grad_loss for none)."""
    loss = fn(x, y, reduction=reduction, **extra)
    tensors = [("loss", loss)]
    if reduction == "none":
        gl = torch.randn(loss.shape, dtype=torch.float64).to(x.dtype)
        loss.backward(gl)
        tensors.append(("grad_loss", gl))
    else:
        loss.backward()
    tensors.append(("grad_input", x.grad))
    if grad_target:
        tensors.append(("grad_target", y.grad))
    return tensors


def classification_grid(w, family):
    """family "ce": F.cross_entropy of logits, class indices and class probabilities;
    family "nll": F.nll_loss of log-probabilities."""
    grid = LossGrid(family)
    for shape_name, shape in LOSS_SHAPES:
        C = shape[1] if len(shape) > 1 else shape[0]
        rows = (shape[0],) + shape[2:] if len(shape) > 1 else ()
        targets = ("index", "probability") if family == "ce" else ("index",)
        for target_kind in targets:
            for reduction in REDUCTIONS:
                for ignore in ((False, True) if target_kind == "index" else (False,)):
                    for weighted in (False, True):
                        for smoothing in ((0.0, 0.1) if family == "ce" else (0.0,)):
                            settings = {"loss": family, "reduction": reduction,
                                        "ignore_index": IGNORED if ignore else -100,
                                        "label_smoothing": repr(smoothing),
                                        "weight": int(weighted), "target": target_kind,
                                        "shape": shape_name}
                            name = "_".join(f"{v}" for v in settings.values())
                            seed_for(family + "_grid_" + name)
                            x64 = randn(*shape)
                            if family == "nll":
                                x64 = F.log_softmax(2 * x64, dim=0 if len(shape) == 1 else 1)
                            if target_kind == "index":
                                t = torch.randint(0, C, rows, dtype=torch.int64)
                                if ignore:  # some positions ignored (the one of a [C] input)
                                    t[torch.rand(rows) < 0.4] = IGNORED
                                    if t.dim() == 0:
                                        t.fill_(IGNORED)  # all ignored: the mean is NaN
                            else:
                                t = torch.softmax(3 * randn(*shape), dim=0 if len(shape) == 1 else 1)
                            w64 = torch.rand(C, dtype=torch.float64) + 0.5 if weighted else None
                            per_variant = {}
                            for variant, dtype in VARIANTS:
                                x = leaf(x64, dtype)
                                y = t if target_kind == "index" else t.to(dtype)
                                extra = {}
                                if target_kind == "index":
                                    extra["ignore_index"] = settings["ignore_index"]
                                if weighted:
                                    extra["weight"] = w64.to(dtype)
                                if family == "ce":
                                    extra["label_smoothing"] = smoothing
                                    fn = F.cross_entropy
                                else:
                                    fn = F.nll_loss
                                torch.manual_seed(zlib.crc32(name.encode()) + 1)  # grad_loss
                                tensors = [("input", x), ("target", y)]
                                if weighted:
                                    tensors.append(("weight", extra["weight"]))
                                tensors += run_loss(fn, x, y, extra, reduction, False)
                                per_variant[variant] = tensors
                            grid.add(settings, per_variant)
    grid.write(w)
    return len(grid.cases)


ELEMENTWISE_SHAPES = [("n", (5,)), ("nc", (3, 4)), ("ncd", (2, 3, 4))]


def elementwise_grid(w, family):
    """family "bce": F.binary_cross_entropy (weight); "bce_logits":
    F.binary_cross_entropy_with_logits (weight, pos_weight); "regression": F.mse_loss
    and F.l1_loss. Gradients of input and target."""
    grid = LossGrid(family)
    losses = {"bce": ["bce"], "bce_logits": ["bce_logits"], "regression": ["mse", "l1"]}[family]
    for loss_name in losses:
        for shape_name, shape in ELEMENTWISE_SHAPES:
            for reduction in REDUCTIONS:
                weights = (False, True) if loss_name in ("bce", "bce_logits") else (False,)
                pos_weights = (False, True) if loss_name == "bce_logits" else (False,)
                for weighted in weights:
                    for pos_weighted in pos_weights:
                        settings = {"loss": loss_name, "reduction": reduction,
                                    "weight": int(weighted), "pos_weight": int(pos_weighted),
                                    "shape": shape_name, "grad_target": 1}
                        name = "_".join(f"{v}" for v in settings.values())
                        seed_for(family + "_grid_" + name)
                        if loss_name == "bce":
                            x64 = torch.rand(*shape, dtype=torch.float64) * 0.98 + 0.01
                            y64 = torch.rand(*shape, dtype=torch.float64)
                            y64.view(-1)[0], y64.view(-1)[1] = 0.0, 1.0  # hard labels too
                        elif loss_name == "bce_logits":
                            x64 = 3 * randn(*shape)
                            x64.view(-1)[0], x64.view(-1)[1] = 60.0, -60.0  # saturated logits
                            y64 = torch.rand(*shape, dtype=torch.float64)
                        else:
                            x64, y64 = randn(*shape), randn(*shape)
                            y64.view(-1)[0] = x64.view(-1)[0]  # a tie: l1's gradient is 0 there
                        last = shape[-1]
                        w64 = torch.rand(last, dtype=torch.float64) + 0.5 if weighted else None
                        p64 = 3 * torch.rand(last, dtype=torch.float64) if pos_weighted else None
                        per_variant = {}
                        for variant, dtype in VARIANTS:
                            x, y = leaf(x64, dtype), leaf(y64, dtype)
                            extra = {}
                            if weighted:
                                extra["weight"] = w64.to(dtype)
                            if pos_weighted:
                                extra["pos_weight"] = p64.to(dtype)
                            fn = {"bce": F.binary_cross_entropy,
                                  "bce_logits": F.binary_cross_entropy_with_logits,
                                  "mse": F.mse_loss, "l1": F.l1_loss}[loss_name]
                            torch.manual_seed(zlib.crc32(name.encode()) + 1)
                            tensors = [("input", x), ("target", y)]
                            tensors += [(k, v) for k, v in extra.items()]
                            tensors += run_loss(fn, x, y, extra, reduction, True)
                            per_variant[variant] = tensors
                        grid.add(settings, per_variant)
    if family == "bce":  # probabilities of exactly 0 and 1: log clamped at -100, grad finite
        settings = {"loss": "bce", "reduction": "sum", "weight": 0, "pos_weight": 0,
                    "shape": "edge", "grad_target": 0}
        x64 = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=torch.float64)
        y64 = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.25], dtype=torch.float64)
        per_variant = {}
        for variant, dtype in VARIANTS:
            x, y = leaf(x64, dtype), y64.to(dtype)
            per_variant[variant] = ([("input", x), ("target", y)]
                                    + run_loss(F.binary_cross_entropy, x, y, {}, "sum", False))
        grid.add(settings, per_variant)
    grid.write(w)
    return len(grid.cases)


def loss_grids(w):
    return sum([classification_grid(w, "ce"), classification_grid(w, "nll"),
                elementwise_grid(w, "bce"), elementwise_grid(w, "bce_logits"),
                elementwise_grid(w, "regression")])


def softmax_case(w, case, log, dim):
    seed_for(case)
    x64 = randn(2, 3, 5)
    x64[1, 2] += 40.0  # exp(40+) would lose everything without subtracting the max
    gy64 = randn(2, 3, 5)
    fn = torch.log_softmax if log else torch.softmax
    for variant, dtype in VARIANTS:
        x = leaf(x64, dtype)
        y = fn(x, dim=dim)
        gy = gy64.to(dtype)
        y.backward(gy)
        w.write(case, variant,
                [("input", x), ("output", y), ("grad_output", gy), ("grad_input", x.grad)],
                {"dim": dim, "log": int(log)})


def layer_norm_case(w, case, x_shape, normalized_shape, affine, eps, edit=None):
    seed_for(case)
    x64 = randn(*x_shape)
    if edit is not None:
        edit(x64)
    w64 = 1 + 0.5 * randn(*normalized_shape)
    b64 = randn(*normalized_shape)
    gy64 = randn(*x_shape)
    for variant, dtype in VARIANTS:
        m = torch.nn.LayerNorm(normalized_shape, eps=eps, elementwise_affine=affine).to(dtype)
        if affine:
            with torch.no_grad():
                m.weight.copy_(w64.to(dtype))
                m.bias.copy_(b64.to(dtype))
        one_input_module(w, case, variant, m, leaf(x64, dtype), gy64.to(dtype),
                         {"normalized_shape": ",".join(str(d) for d in normalized_shape),
                          "eps": repr(eps), "elementwise_affine": int(affine)})


def layer_norm_cases(w):
    def shift_and_squeeze(x):
        x[1, 0] += 40.0  # a large mean: subtracted before the variance is taken
        x[0, 2] *= 1e-3  # a small variance, still well above eps

    def nearly_constant(x):
        x[1] = 0.5 + 1e-3 * x[1]  # variance ~1e-6, far below eps = 0.1

    layer_norm_case(w, "layer_norm_last", (2, 3, 5), (5,), True, 1e-5, shift_and_squeeze)
    layer_norm_case(w, "layer_norm_2d", (2, 3, 4), (3, 4), True, 1e-5)
    layer_norm_case(w, "layer_norm_3d_noaffine", (2, 2, 3, 4), (2, 3, 4), False, 1e-5)
    layer_norm_case(w, "layer_norm_noaffine_eps", (4, 6), (6,), False, 1e-3)
    layer_norm_case(w, "layer_norm_eps", (3, 8), (8,), True, 0.1, nearly_constant)


def gelu_case(w, case, approximate):
    seed_for(case)
    x64 = torch.rand(4, 8, dtype=torch.float64) * 12 - 6
    x64.view(-1)[:5] = torch.tensor([0.0, 1e-4, -1e-4, 10.0, -10.0], dtype=torch.float64)
    gy64 = randn(4, 8)
    for variant, dtype in VARIANTS:
        x = leaf(x64, dtype)
        y = F.gelu(x, approximate=approximate)
        gy = gy64.to(dtype)
        y.backward(gy)
        w.write(case, variant,
                [("input", x), ("output", y), ("grad_output", gy), ("grad_input", x.grad)],
                {"approximate": approximate})


OPTIMIZER_STEPS = 5


def optimizer_case(w, case, make, settings):
    seed_for(case)
    X64 = randn(8, 3)
    y64 = X64 @ torch.tensor([[1.5], [-2.0], [0.5]], dtype=torch.float64) + 0.3 + 0.1 * randn(8, 1)
    w64, b64 = randn(3, 1), randn(1)
    for variant, dtype in VARIANTS:
        X, y = X64.to(dtype), y64.to(dtype)
        wt, bt = leaf(w64, dtype), leaf(b64, dtype)
        opt = make([wt, bt])
        tensors = [("X", X), ("y", y), ("w0", wt.detach().clone()), ("b0", bt.detach().clone())]
        for k in range(1, OPTIMIZER_STEPS + 1):
            opt.zero_grad()
            loss = ((X @ wt + bt - y) ** 2).mean()  # the same formula the C++ test uses
            loss.backward()
            tensors += [(f"loss_{k}", loss.detach().clone()), (f"grad_w_{k}", wt.grad.clone()),
                        (f"grad_b_{k}", bt.grad.clone())]
            opt.step()
            tensors += [(f"w_{k}", wt.detach().clone()), (f"b_{k}", bt.detach().clone())]
        w.write(case, variant, tensors, dict(settings, steps=OPTIMIZER_STEPS))


# The settings a parameter group may override (with "size", its number of parameters).
GROUP_SETTINGS = ("lr", "weight_decay")


def torch_optimizer(params, s):
    """The torch optimizer of settings s ({"optimizer": "sgd" | "adam" | "adamw", "lr": ...,
    and any of momentum, dampening, weight_decay, nesterov, betas, eps, amsgrad}); with
    "groups" (a list of {"size": n, and any of GROUP_SETTINGS}), the parameters in order
    make those groups, each taking s's settings where it does not override them."""
    if "groups" in s:
        groups, at = [], 0
        for g in s["groups"]:
            assert set(g) <= {"size", *GROUP_SETTINGS}, g
            groups.append(dict({k: v for k, v in g.items() if k != "size"},
                               params=params[at:at + g["size"]]))
            at += g["size"]
        assert at == len(params), (at, len(params))
        params = groups
    if s["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=s["lr"], momentum=s.get("momentum", 0),
                               dampening=s.get("dampening", 0),
                               weight_decay=s.get("weight_decay", 0),
                               nesterov=bool(s.get("nesterov", 0)))
    cls = torch.optim.Adam if s["optimizer"] == "adam" else torch.optim.AdamW
    return cls(params, lr=s["lr"], betas=s.get("betas", (0.9, 0.999)),
               eps=s.get("eps", 1e-8), weight_decay=s.get("weight_decay", 0),
               amsgrad=bool(s.get("amsgrad", 0)))


def optimizer_metadata(s):
    """Every setting of torch_optimizer(params, s) spelled out, defaults included, so the
    C++ test reads them all from the file instead of assuming torch's defaults."""
    full = {"optimizer": s["optimizer"], "lr": repr(s["lr"])}
    if s["optimizer"] == "sgd":
        full.update(momentum=repr(float(s.get("momentum", 0))),
                    dampening=repr(float(s.get("dampening", 0))),
                    weight_decay=repr(float(s.get("weight_decay", 0))),
                    nesterov=int(s.get("nesterov", 0)))
    else:
        b1, b2 = s.get("betas", (0.9, 0.999))
        full.update(beta1=repr(b1), beta2=repr(b2), eps=repr(s.get("eps", 1e-8)),
                    weight_decay=repr(float(s.get("weight_decay",
                                                  0.01 if s["optimizer"] == "adamw" else 0))))
        if s.get("amsgrad"):
            full.update(amsgrad=1)
    if "groups" in s:
        full["groups"] = len(s["groups"])
        for i, g in enumerate(s["groups"]):
            full[f"group{i}_size"] = g["size"]
            for k in GROUP_SETTINGS:
                full[f"group{i}_{k}"] = repr(float(g.get(k, float(full[k]))))
    return full


def optimizers(w):
    cases = [
        ("sgd", {"optimizer": "sgd", "lr": 0.1}),
        ("sgd_momentum", {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}),
        ("sgd_dampening_wd", {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.3,
                              "weight_decay": 0.05}),
        ("sgd_nesterov_wd", {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": 1,
                             "weight_decay": 0.1}),
        ("adam", {"optimizer": "adam", "lr": 0.1}),
        ("adam_wd", {"optimizer": "adam", "lr": 0.1, "betas": (0.8, 0.99), "eps": 1e-6,
                     "weight_decay": 0.1}),
        ("adamw", {"optimizer": "adamw", "lr": 0.1, "weight_decay": 0.2}),
        ("adam_amsgrad", {"optimizer": "adam", "lr": 0.1, "betas": (0.8, 0.99), "amsgrad": 1}),
        ("adamw_amsgrad", {"optimizer": "adamw", "lr": 0.1, "weight_decay": 0.2, "amsgrad": 1}),
        ("adamw_groups", {"optimizer": "adamw", "lr": 0.1, "weight_decay": 0.1,
                          "groups": [{"size": 1}, {"size": 1, "lr": 0.05, "weight_decay": 0.0}]}),
    ]
    for case, s in cases:
        optimizer_case(w, case, lambda params, s=s: torch_optimizer(params, s),
                       optimizer_metadata(s))


# ---- attention ------------------------------------------------------------------------------


def attention_reference(q, k, v, mask, scale):
    """The formula of scaled dot-product attention, mask TRUE = blocked."""
    scores = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def sdpa_case(w, case, q_shape, k_shape, v_shape, make_mask, scale):
    seed_for(case)
    q64, k64, v64 = randn(*q_shape), randn(*k_shape), randn(*v_shape)
    mask = make_mask() if make_mask else None
    if mask is not None:
        assert mask.dtype == torch.bool
    if scale is None:
        scale = 1.0 / q_shape[-1] ** 0.5
    context64, weights64 = attention_reference(q64, k64, v64, mask, scale)
    assert not torch.isnan(weights64).any(), f"{case}: a fully masked row"
    gc64, gw64 = randn(*context64.shape), randn(*weights64.shape)
    for variant, dtype in VARIANTS:
        q, k, v = leaf(q64, dtype), leaf(k64, dtype), leaf(v64, dtype)
        context, weights = attention_reference(q, k, v, mask, scale)
        gc, gw = gc64.to(dtype), gw64.to(dtype)
        # loss = Σ context·grad_context + Σ weights·grad_weights
        torch.autograd.backward([context, weights], [gc, gw])
        tensors = [("q", q), ("k", k), ("v", v)]
        if mask is not None:
            tensors.append(("mask", mask))
        tensors += [("context", context), ("weights", weights), ("grad_context", gc),
                    ("grad_weights", gw), ("grad_q", q.grad), ("grad_k", k.grad), ("grad_v", v.grad)]
        w.write(case, variant, tensors, {"scale": repr(scale), "masked": int(mask is not None)})


def sdpa_cases(w):
    sdpa_case(w, "sdpa", (2, 3, 4), (2, 5, 4), (2, 5, 3), None, None)

    def random_mask():
        m = torch.rand(2, 3, 5) < 0.5
        m[..., 0] &= ~m.all(-1)  # a fully blocked row gets key 0 back
        return m

    sdpa_case(w, "sdpa_mask", (2, 3, 4), (2, 5, 4), (2, 5, 3), random_mask, None)
    sdpa_case(w, "sdpa_causal_heads", (2, 2, 4, 4), (2, 2, 4, 4), (2, 2, 4, 4),
              lambda: torch.ones(4, 4, dtype=torch.bool).triu(1), None)
    sdpa_case(w, "sdpa_padding_scale1", (2, 3, 4), (2, 5, 4), (2, 5, 3),
              lambda: (torch.arange(5) >= torch.tensor([[5], [2]])).view(2, 1, 5), 1.0)
    sdpa_case(w, "sdpa_broadcast", (2, 1, 3, 4), (1, 2, 5, 4), (2, 2, 5, 3), None, None)


def mha_case(w, case, tq, tk, batch_first=True, bias=True, kdim=None, vdim=None,
             key_padding=None, attn_mask=None, unbatched=False, self_attention=False):
    """One torch.nn.MultiheadAttention(E=8, h=2) case. key_padding / attn_mask:
    None, "bool" or "float" ("float" masks hold 0, random biases and some -inf);
    attn_mask "bool3d"/"float3d" is [B·h, T, S] ([h, T, S] unbatched)."""
    seed_for(case)
    E, HEADS, B = 8, 2, 2
    kdim, vdim = kdim or E, vdim or E
    base = torch.nn.MultiheadAttention(E, HEADS, bias=bias, kdim=kdim, vdim=vdim,
                                       batch_first=batch_first).double()
    if bias:
        with torch.no_grad():  # torch initialises the biases to zero; make them count
            base.in_proj_bias.copy_(0.1 * randn(3 * E))
            base.out_proj.bias.copy_(0.1 * randn(E))

    def layout(t, width):  # the shape torch takes for a sequence of length t
        if unbatched:
            return (t, width)
        return (B, t, width) if batch_first else (t, B, width)

    q64 = randn(*layout(tq, E))
    k64 = q64 if self_attention else randn(*layout(tk, kdim))
    v64 = q64 if self_attention else randn(*layout(tk, vdim))
    lengths = torch.tensor([[tk], [2]])  # the second sequence has two keys, the rest padding
    kpm = None
    if key_padding is not None:
        kpm = torch.arange(tk) >= lengths  # [B, S], True = padding
        if unbatched:
            kpm = kpm[1]
        if key_padding == "float":
            kpm = torch.zeros(kpm.shape, dtype=torch.float64).masked_fill(kpm, float("-inf"))
            kpm += 0.5 * randn(*kpm.shape)  # a bias on the keys that are not blocked
    am = None
    if attn_mask is not None:
        rows = (HEADS if unbatched else B * HEADS,) if attn_mask.endswith("3d") else ()
        blocked = torch.rand(*rows, tq, tk) < 0.3
        blocked[..., 0] = False  # key 0 is never padding, so no row is fully blocked
        am = blocked
        if attn_mask.startswith("float"):
            am = torch.zeros(blocked.shape, dtype=torch.float64).masked_fill(blocked, float("-inf"))
            am += randn(*blocked.shape)
    shape_out = layout(tq, E)
    w_shape = (HEADS, tq, tk) if unbatched else (B, HEADS, tq, tk)
    go64, gw64 = randn(*shape_out), randn(*w_shape)
    for variant, dtype in VARIANTS:
        m = torch.nn.MultiheadAttention(E, HEADS, bias=bias, kdim=kdim, vdim=vdim,
                                        batch_first=batch_first).to(dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in base.state_dict().items()})
        query = leaf(q64, dtype)
        key = query if self_attention else leaf(k64, dtype)
        value = query if self_attention else leaf(v64, dtype)
        kpm_d = kpm if kpm is None or kpm.dtype == torch.bool else kpm.to(dtype)
        am_d = am if am is None or am.dtype == torch.bool else am.to(dtype)
        output, weights = m(query, key, value, key_padding_mask=kpm_d, attn_mask=am_d,
                            need_weights=True, average_attn_weights=False)
        with torch.no_grad():
            _, average = m(query, key, value, key_padding_mask=kpm_d, attn_mask=am_d,
                           need_weights=True, average_attn_weights=True)
        assert not torch.isnan(weights).any(), f"{case}: a fully masked row"
        go, gw = go64.to(dtype), gw64.to(dtype)
        # loss = Σ output·grad_output + Σ weights·grad_weights
        torch.autograd.backward([output, weights], [go, gw])
        named = params_of(m)
        tensors = [("query", query)]
        if not self_attention:
            tensors += [("key", key), ("value", value)]
        if kpm_d is not None:
            tensors.append(("key_padding_mask", kpm_d))
        if am_d is not None:
            tensors.append(("attn_mask", am_d))
        tensors += named + [("output", output), ("weights", weights), ("average_weights", average),
                            ("grad_output", go), ("grad_weights", gw), ("grad_query", query.grad)]
        if not self_attention:
            tensors += [("grad_key", key.grad), ("grad_value", value.grad)]
        tensors += grads_of(named)
        w.write(case, variant, tensors,
                {"embed_dim": E, "num_heads": HEADS, "batch_first": int(batch_first),
                 "bias": int(bias), "kdim": kdim, "vdim": vdim, "unbatched": int(unbatched),
                 "self_attention": int(self_attention),
                 "key_padding_mask": int(kpm is not None), "attn_mask": int(am is not None)})


def mha_cases(w):
    mha_case(w, "mha", 3, 4)
    mha_case(w, "mha_key_padding", 3, 4, key_padding="bool")
    mha_case(w, "mha_causal", 4, 4, attn_mask="bool")
    mha_case(w, "mha_both", 4, 4, key_padding="bool", attn_mask="bool")
    mha_case(w, "mha_float_mask", 3, 4, attn_mask="float")
    mha_case(w, "mha_float_mask3d", 3, 4, attn_mask="float3d")
    mha_case(w, "mha_bool_mask3d_key_padding", 3, 4, key_padding="bool", attn_mask="bool3d")
    mha_case(w, "mha_float_key_padding", 3, 4, key_padding="float")
    mha_case(w, "mha_float_mask_bool_key_padding", 3, 4, key_padding="bool", attn_mask="float")
    mha_case(w, "mha_seq_first_kdim_vdim", 3, 4, batch_first=False, kdim=5, vdim=3,
             key_padding="bool")
    mha_case(w, "mha_seq_first_nobias", 3, 4, batch_first=False, bias=False, attn_mask="bool")
    mha_case(w, "mha_unbatched", 3, 4, key_padding="bool", attn_mask="float3d", unbatched=True)
    mha_case(w, "mha_unbatched_kdim", 3, 4, kdim=6, vdim=6, attn_mask="bool", unbatched=True)
    mha_case(w, "mha_self", 4, 4, batch_first=False, attn_mask="bool", self_attention=True)


def additive_reference(query, keys, values, key_mask, wq, wk, v):
    """Additive attention: score_j = vᵀ tanh(W_q q + W_k k_j), key_mask TRUE = blocked."""
    one_step = query.dim() == 2
    q = query.unsqueeze(1) if one_step else query                        # [B, Tq, dq]
    hidden = torch.tanh((q @ wq.t()).unsqueeze(2) + (keys @ wk.t()).unsqueeze(1))  # [B, Tq, Tk, A]
    scores = (hidden @ v.t()).squeeze(-1)                                # [B, Tq, Tk]
    if key_mask is not None:
        scores = scores.masked_fill(key_mask.unsqueeze(1), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    context = weights @ values
    if one_step:
        return context.squeeze(1), weights.squeeze(1)
    return context, weights


def additive_case(w, case, query_shape, lengths, values_are_keys):
    seed_for(case)
    DQ, DK, A, B, TK, DV = 3, 4, 6, 2, 5, 2
    q64, k64 = randn(*query_shape), randn(B, TK, DK)
    v64 = None if values_are_keys else randn(B, TK, DV)
    wq64, wk64, vv64 = randn(A, DQ) / DQ ** 0.5, randn(A, DK) / DK ** 0.5, randn(1, A) / A ** 0.5
    mask = None if lengths is None else torch.arange(TK) >= torch.tensor(lengths).view(B, 1)
    c64, a64 = additive_reference(q64, k64, k64 if v64 is None else v64, mask, wq64, wk64, vv64)
    assert not torch.isnan(a64).any(), f"{case}: a fully masked row"
    gc64, ga64 = randn(*c64.shape), randn(*a64.shape)
    for variant, dtype in VARIANTS:
        query, keys = leaf(q64, dtype), leaf(k64, dtype)
        values = keys if v64 is None else leaf(v64, dtype)
        wq, wk, vv = leaf(wq64, dtype), leaf(wk64, dtype), leaf(vv64, dtype)
        context, weights = additive_reference(query, keys, values, mask, wq, wk, vv)
        gc, ga = gc64.to(dtype), ga64.to(dtype)
        # loss = Σ context·grad_context + Σ weights·grad_weights
        torch.autograd.backward([context, weights], [gc, ga])
        tensors = [("query", query), ("keys", keys)]
        if v64 is not None:
            tensors.append(("values", values))
        if mask is not None:
            tensors.append(("key_mask", mask))
        tensors += [("w_q.weight", wq), ("w_k.weight", wk), ("v.weight", vv), ("context", context),
                    ("weights", weights), ("grad_context", gc), ("grad_weights", ga),
                    ("grad_query", query.grad), ("grad_keys", keys.grad)]
        if v64 is not None:
            tensors.append(("grad_values", values.grad))
        tensors += [("grad_w_q.weight", wq.grad), ("grad_w_k.weight", wk.grad),
                    ("grad_v.weight", vv.grad)]
        w.write(case, variant, tensors,
                {"query_dim": DQ, "key_dim": DK, "attn_dim": A, "masked": int(mask is not None),
                 "values_are_keys": int(values_are_keys)})


def additive_cases(w):
    additive_case(w, "additive", (2, 3, 3), None, values_are_keys=False)
    additive_case(w, "additive_mask", (2, 3, 3), [5, 2], values_are_keys=False)
    additive_case(w, "additive_step_mask", (2, 3), [3, 5], values_are_keys=True)


def main():
    args = start(__doc__.split("\n\n")[0], os.path.join(HERE, "..", "tests", "fixtures"))
    w = Writer(args.out)
    linear(w, "linear_2d", (5, 4), bias=True)
    linear(w, "linear_3d", (2, 5, 4), bias=True)
    linear(w, "linear_nobias", (5, 4), bias=False)
    embedding(w)
    for cell_case, cell_module, kind, module, states in (
            ("lstmcell", torch.nn.LSTMCell, "lstm", torch.nn.LSTM, LSTM_STATES),
            ("gru_cell", torch.nn.GRUCell, "gru", torch.nn.GRU, GRU_STATES)):
        cell(w, cell_case, cell_module, states, bias=True)
        cell(w, cell_case + "_nobias", cell_module, states, bias=False)
        for layers in (1, 2):
            for batch_first in (False, True):
                for with_state in (False, True):
                    sequence(w, kind, module, states, layers, batch_first, with_state)
        # Bidirectional, unbatched (x [T, in], states [L·D, H]) and unbatched cells.
        for layers in (1, 2):
            for batch_first in (False, True):
                for with_state in (False, True):
                    sequence(w, kind, module, states, layers, batch_first, with_state,
                             bidirectional=True)
        for layers, bidirectional, with_state in ((1, False, False), (1, False, True),
                                                  (2, True, False), (2, True, True)):
            sequence(w, kind, module, states, layers, False, with_state,
                     bidirectional=bidirectional, unbatched=True)
        unbatched_cell(w, cell_case + "_unbatched", cell_module, states)
    classification_loss(w, "ce_mean", "ce", "mean", None)
    classification_loss(w, "ce_sum", "ce", "sum", None)
    classification_loss(w, "ce_none", "ce", "none", None)
    classification_loss(w, "ce_ignore_mean", "ce", "mean", 1)
    classification_loss(w, "ce_ignore_sum", "ce", "sum", 1)
    classification_loss(w, "nll_mean", "nll", "mean", None)
    classification_loss(w, "nll_ignore_none", "nll", "none", 3)
    mse(w, "mse_mean", "mean")
    mse(w, "mse_sum", "sum")
    loss_cases = loss_grids(w)
    softmax_case(w, "softmax_last", log=False, dim=-1)
    softmax_case(w, "softmax_dim1", log=False, dim=1)
    softmax_case(w, "log_softmax_last", log=True, dim=-1)
    softmax_case(w, "log_softmax_dim0", log=True, dim=0)
    layer_norm_cases(w)
    gelu_case(w, "gelu_none", "none")
    gelu_case(w, "gelu_tanh", "tanh")
    optimizers(w)
    sdpa_cases(w)
    mha_cases(w)
    additive_cases(w)

    total = 0
    for name, size, digest in w.written:
        print(f"{size:7d}  {digest[:16]}  {name}")
        total += size
    print(f"{total:7d}  total, {len(w.written)} files in {os.path.normpath(args.out)}")
    print(f"{loss_cases} loss cases in the *_grid files, each in float64 and float32")


if __name__ == "__main__":
    main()
