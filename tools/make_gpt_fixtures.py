#!/usr/bin/env python3
"""nanoGPT fixtures for tests/test_gpt_model.cpp (examples/gpt/model.h).

    /usr/bin/python3 tools/make_gpt_fixtures.py            # writes tests/fixtures/gpt_*
    /usr/bin/python3 tools/make_gpt_fixtures.py --out DIR  # somewhere else

Writes gpt_<case>_f64.safetensors (computed in float64) and gpt_<case>_f32.safetensors
(the same inputs and weights rounded to float32, computed in float32), byte-reproducibly,
with the file format, seeds and OpenBLAS pinning of tools/make_fixtures.py (imported).

The model is nanoGPT's model.py (Karpathy) restated below, in its non-flash form (torch
1.13 has no scaled_dot_product_attention): a causal self-attention with a packed c_attn
and an output c_proj, an MLP (c_fc, exact GELU, c_proj), pre-norm blocks, learned
positions, and an output layer tied to the token embedding. Small: vocabulary 11,
block_size 8, 2 layers, 2 heads, width 8, batch 3; dropout 0. Every parameter is drawn
N(0, 0.3) (LayerNorm weights 1 + N(0, 0.1)), far larger than nanoGPT's init, so that
each one moves the logits.

Each file holds, under minigrad's names (nanoGPT's, with attn.c_attn.weight/bias as
attn.in_proj_weight/bias and attn.c_proj.* as attn.out_proj.*; lm_head.weight is
transformer.wte.weight and is not written again):

    <parameters>       transformer.wte.weight, ..., transformer.ln_f.weight
    idx, targets       int64 [B, T]: the input tokens and the next tokens (−1: ignored)
    logits             [B, T, V]
    loss               the mean cross-entropy over [B·T, V], ignore_index −1
    grad_<parameter>   ∂loss/∂ each parameter (wte's holds both of its uses)

and the metadata: the sizes (vocab_size, block_size, n_layer, n_head, n_embd, bias)
and "parameters", minigrad's parameter names in nanoGPT's named_parameters() order,
comma-separated.

Cases:
    gpt_bias       bias=True, T = block_size, every target counted
    gpt_no_bias    bias=False (no Linear, attention or LayerNorm biases), T = 5 < block_size,
                   two targets −1
"""

import math
import os

import make_fixtures as mf  # sets OPENBLAS_CORETYPE before torch loads

torch = mf.torch
F = mf.F
nn = torch.nn
HERE = mf.HERE

V, BLOCK, LAYERS, HEADS, WIDTH, B = 11, 8, 2, 2, 8, 3


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (torch 1.13's has none to switch off)."""

    def __init__(self, n, bias, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(n, dtype=dtype)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    """Q, K, V from one Linear C → 3C, split into heads, softmax(QKᵀ/√d + causal)V, c_proj."""

    def __init__(self, bias, dtype):
        super().__init__()
        self.c_attn = nn.Linear(WIDTH, 3 * WIDTH, bias=bias, dtype=dtype)
        self.c_proj = nn.Linear(WIDTH, WIDTH, bias=bias, dtype=dtype)
        self.register_buffer("causal", torch.tril(torch.ones(BLOCK, BLOCK)).view(1, 1, BLOCK, BLOCK),
                             persistent=False)

    def forward(self, x):
        b, t, c = x.size()
        q, k, v = self.c_attn(x).split(WIDTH, dim=2)
        d = c // HEADS
        q = q.view(b, t, HEADS, d).transpose(1, 2)  # [B, h, T, d]
        k = k.view(b, t, HEADS, d).transpose(1, 2)
        v = v.view(b, t, HEADS, d).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
        att = att.masked_fill(self.causal[:, :, :t, :t] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)  # the heads side by side
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, bias, dtype):
        super().__init__()
        self.c_fc = nn.Linear(WIDTH, 4 * WIDTH, bias=bias, dtype=dtype)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * WIDTH, WIDTH, bias=bias, dtype=dtype)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, bias, dtype):
        super().__init__()
        self.ln_1 = LayerNorm(WIDTH, bias, dtype)
        self.attn = CausalSelfAttention(bias, dtype)
        self.ln_2 = LayerNorm(WIDTH, bias, dtype)
        self.mlp = MLP(bias, dtype)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, bias, dtype):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(V, WIDTH, dtype=dtype),
            wpe=nn.Embedding(BLOCK, WIDTH, dtype=dtype),
            h=nn.ModuleList([Block(bias, dtype) for _ in range(LAYERS)]),
            ln_f=LayerNorm(WIDTH, bias, dtype)))
        self.lm_head = nn.Linear(WIDTH, V, bias=False, dtype=dtype)
        self.lm_head.weight = self.transformer.wte.weight  # tied

    def forward(self, idx, targets):
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                               ignore_index=-1)
        return logits, loss


def minigrad_name(name):
    return name.replace("attn.c_attn.weight", "attn.in_proj_weight") \
               .replace("attn.c_attn.bias", "attn.in_proj_bias") \
               .replace("attn.c_proj.", "attn.out_proj.")


def gpt_case(w, case, bias, t, ignored):
    mf.seed_for(case)
    base = GPT(bias, torch.float64)
    with torch.no_grad():
        for name, p in base.named_parameters():  # lm_head.weight is wte's: listed once
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or \
                    name.endswith("ln_f.weight"):
                p.copy_(1 + 0.1 * mf.randn(*p.shape))
            else:
                p.copy_(0.3 * mf.randn(*p.shape))
    idx = torch.randint(0, V, (B, t))
    targets = torch.randint(0, V, (B, t))
    for b, s in ignored:
        targets[b, s] = -1
    names = [minigrad_name(n) for n, _ in base.named_parameters()]
    assert "lm_head.weight" not in names
    for variant, dtype in mf.VARIANTS:
        m = GPT(bias, dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in base.state_dict().items()})
        logits, loss = m(idx, targets)
        loss.backward()
        named = [(minigrad_name(n), p) for n, p in m.named_parameters()]
        tensors = named + [("idx", idx), ("targets", targets), ("logits", logits),
                           ("loss", loss)]
        tensors += mf.grads_of(named)
        metadata = {"case": case, "dtype": variant, "torch": torch.__version__,
                    "generator": "tools/make_gpt_fixtures.py", "vocab_size": str(V),
                    "block_size": str(BLOCK), "n_layer": str(LAYERS), "n_head": str(HEADS),
                    "n_embd": str(WIDTH), "bias": str(int(bias)),
                    "parameters": ",".join(names)}
        w.write_file(f"{case}_{variant}.safetensors", tensors, metadata)


def main():
    args = mf.start(__doc__.split("\n\n")[0], os.path.join(HERE, "..", "tests", "fixtures"))
    w = mf.Writer(args.out)
    gpt_case(w, "gpt_bias", True, BLOCK, [])
    gpt_case(w, "gpt_no_bias", False, 5, [(0, 4), (2, 1)])
    mf.print_written(w, args.out)


if __name__ == "__main__":
    main()
