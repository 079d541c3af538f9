#!/usr/bin/env python3
"""torch.matmul fixtures for tests/test_parity_matmul.cpp.

    /usr/bin/python3 tools/make_matmul_fixtures.py            # writes tests/fixtures/
    /usr/bin/python3 tools/make_matmul_fixtures.py --out DIR  # somewhere else

Writes matmul_f64.safetensors (computed in float64) and matmul_f32.safetensors (the
same inputs rounded to float32, computed in float32), byte-reproducibly, with the
file format, seeds and OpenBLAS pinning of tools/make_fixtures.py (imported).

Each case i holds the stored operands "i.a", "i.b" (contiguous), the product
"i.out" = torch.matmul(view_a(a), view_b(b)), a fixed random upstream gradient
"i.grad_out" and the gradients "i.grad_a", "i.grad_b" of Σ out·grad_out with respect
to the stored operands. The metadata "i.view_a" / "i.view_b" names the view taken of
the stored operand before the product, in the graph (so its gradient flows through):

    none   the operand itself
    mT     x.mT(): the last two axes swapped (a transposed view, no copy)
    t01    x.transpose(0, 1): batch axes reordered
    sel    x[..., 0]: the stored tensor has a trailing axis of 2, so the operand has
           neither inner stride 1 (minigrad copies it once for the GEMM)

and "cases" is the number of cases. The shapes cover every rank combination
torch.matmul accepts: 1-D·1-D (a 0-d dot), matrix·vector, vector·matrix, vector
with a batch of matrices on either side, batched products with broadcast batch
axes, the [..., m, k]·[k, n] fold, transposed and non-contiguous operands, and
empty products (k = 0 gives zeros).
"""

import os

import make_fixtures as mf  # sets OPENBLAS_CORETYPE before torch loads

torch = mf.torch
HERE = mf.HERE

# (shape of stored a, view of a, shape of stored b, view of b)
CASES = [
    ((4,), "none", (4,), "none"),                  # dot → 0-d
    ((1,), "none", (1,), "none"),                  # dot of one element
    ((3, 4), "none", (4,), "none"),                # matrix · vector
    ((4,), "none", (4, 5), "none"),                # vector · matrix
    ((3, 4), "none", (4, 5), "none"),              # matrix · matrix
    ((1, 1), "none", (1, 1), "none"),
    ((5, 1), "none", (1, 3), "none"),              # an outer product (k = 1)
    ((2, 3, 4), "none", (4,), "none"),             # batch of matrices · vector
    ((4,), "none", (2, 4, 5), "none"),             # vector · batch of matrices
    ((2, 3, 5, 4), "none", (4,), "none"),
    ((4,), "none", (2, 3, 4, 5), "none"),
    ((2, 3, 4), "none", (4, 5), "none"),           # the [B, T, d]·[d, n] fold
    ((3, 4), "none", (2, 4, 5), "none"),           # a matrix against a batch
    ((2, 3, 4), "none", (2, 4, 5), "none"),        # batched
    ((1, 3, 4), "none", (2, 4, 5), "none"),        # a size-1 batch broadcast
    ((2, 1, 3, 4), "none", (5, 4, 2), "none"),     # batch [2,1] against [5] → [2,5]
    ((3, 1, 2, 4), "none", (1, 2, 4, 3), "none"),  # batch [3,1] against [1,2] → [3,2]
    ((6, 4), "none", (5, 4), "mT"),                # x·Wᵀ, what Linear computes
    ((4, 3), "mT", (4, 5), "none"),                # Aᵀ·B
    ((4, 3), "mT", (5, 4), "mT"),                  # Aᵀ·Bᵀ
    ((2, 3, 4), "none", (2, 5, 4), "mT"),          # attention's Q·Kᵀ
    ((2, 4, 3), "mT", (2, 4, 5), "none"),          # Aᵀ·G, a batched weight gradient
    ((2, 3, 4), "none", (5, 4), "mT"),             # folded with Wᵀ
    ((1, 4), "mT", (1, 3), "none"),                # a transposed row: a column [4, 1]
    ((4,), "none", (3, 4), "mT"),                  # vector · Wᵀ
    ((3, 2, 4), "t01", (4, 5), "none"),            # a batch that cannot be folded
    ((3, 2, 4), "t01", (4, 2, 5), "t01"),
    ((3, 4, 2), "sel", (4, 5), "none"),            # neither inner stride 1: copied
    ((3, 4), "none", (4, 5, 2), "sel"),
    ((2, 3, 4, 2), "sel", (4, 2), "sel"),
    ((0, 4), "none", (4, 5), "none"),              # empty products
    ((3, 0), "none", (0, 5), "none"),              # k = 0: zeros
    ((0,), "none", (0,), "none"),                  # an empty dot: 0
    ((2, 0, 4), "none", (4,), "none"),
]


def view(x, how):
    if how == "none":
        return x
    if how == "mT":
        return x.transpose(-2, -1)  # torch 1.13's x.mT
    if how == "t01":
        return x.transpose(0, 1)
    if how == "sel":
        return x[..., 0]
    raise ValueError(how)


def matmul_cases(w):
    mf.seed_for("matmul")
    inputs = [(torch.randn(sa, dtype=torch.float64), torch.randn(sb, dtype=torch.float64))
              for sa, _, sb, _ in CASES]
    grads = []
    for (sa, va, sb, vb), (a64, b64) in zip(CASES, inputs):
        out_shape = torch.matmul(view(a64, va), view(b64, vb)).shape
        grads.append(torch.randn(out_shape, dtype=torch.float64))
    settings = {"cases": len(CASES)}
    for i, (_, va, _, vb) in enumerate(CASES):
        settings[f"{i}.view_a"] = va
        settings[f"{i}.view_b"] = vb
    for variant, dtype in mf.VARIANTS:
        tensors = []
        for i, ((a64, b64), g64) in enumerate(zip(inputs, grads)):
            _, va, _, vb = CASES[i]
            a, b = mf.leaf(a64, dtype), mf.leaf(b64, dtype)
            out = torch.matmul(view(a, va), view(b, vb))
            g = g64.to(dtype)
            out.backward(g)
            tensors += [(f"{i}.a", a), (f"{i}.b", b), (f"{i}.out", out), (f"{i}.grad_out", g),
                        (f"{i}.grad_a", a.grad), (f"{i}.grad_b", b.grad)]
        w.write("matmul", variant, tensors, settings)


def main():
    args = mf.start(__doc__.split("\n\n")[0], os.path.join(HERE, "..", "tests", "fixtures"))
    w = mf.Writer(args.out)
    matmul_cases(w)
    for name, size, digest in w.written:
        print(f"{size:7d}  {digest[:16]}  {name}")


if __name__ == "__main__":
    main()
