#!/usr/bin/env python3
"""examples/gpt's recipe in PyTorch: the figures minigrad's run is measured against.

    /usr/bin/python3 tools/train_gpt_reference.py --seed 1
    /usr/bin/python3 tools/train_gpt_reference.py --seed 2 --steps 2000 --eval-at 0,500,1000,2000

The same model (nanoGPT's: pre-norm blocks, GELU, tied output layer, nanoGPT's
init), the same split of the fortunes (tools/gpt_fortunes.py, imported), the same
optimizer and schedule as examples/gpt/main.cpp with its defaults:

    AdamW(β = (0.9, 0.99), ε = 1e-8), weight decay 0.1 on parameters with dim ≥ 2 and
    0 on the others; lr(t) = lr·(t + 1)/w for t < w, then a half cosine from lr down
    to lr/10 at the last iteration t = steps − 1 (nn::WarmupCosineLR's formula);
    the gradient clipped to total norm 1.0

Batches are nanoGPT's get_batch (B random windows of the training split; torch's
generator, so not minigrad's windows). The validation loss is the mean cross-entropy
over every non-overlapping block-length window of the whole validation split, as the
example's last figure. ms/iteration counts the training iterations only, on one thread
(torch.set_num_threads(1), as the example runs with OMP_NUM_THREADS=1), as wall time
and as CPU time, which a machine busy with other work does not inflate.
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_fortunes  # noqa: E402  (the split, beside this file)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, bias):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.n_head = n_head

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, bias):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, bias)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd, bias=bias), nn.GELU(),
                                 nn.Linear(4 * n_embd, n_embd, bias=bias))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab, block, n_layer, n_head, n_embd, bias=True):
        super().__init__()
        self.block = block
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(block, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head, bias) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        # nanoGPT's init: N(0, 0.02) for every Linear and Embedding weight, zero biases,
        # and N(0, 0.02/√(2·n_layer)) for the projections that write into the residual
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)
        for blk in self.h:
            for proj in (blk.attn.c_proj, blk.mlp[2]):
                nn.init.normal_(proj.weight, 0.0, 0.02 / math.sqrt(2 * n_layer))

    def forward(self, idx):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for blk in self.h:
            x = blk(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # the output layer is wte, tied


def lr_at(t, lr, warmup, steps):
    """nn::WarmupCosineLR with total_steps = steps − 1 and eta_min = lr/10."""
    total, eta_min = max(steps - 1, warmup + 1), lr / 10
    if t < warmup:
        return lr * (t + 1) / warmup
    if t >= total:
        return eta_min
    progress = (t - warmup) / (total - warmup)
    return eta_min + 0.5 * (lr - eta_min) * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def whole_split_loss(model, val, block, batch=64):
    """Mean cross-entropy over every non-overlapping block-length window of val."""
    windows = (len(val) - 1) // block
    total, count = 0.0, 0
    for first in range(0, windows, batch):
        starts = torch.arange(first, min(first + batch, windows)) * block
        x = torch.stack([val[s:s + block] for s in starts])
        y = torch.stack([val[s + 1:s + 1 + block] for s in starts])
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                                 reduction="sum").item()
        count += y.numel()
    return total / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--block", type=int, default=64)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--eval-at", default="0,500,1000,2000",
                        help="iterations after which to print the whole-split validation loss")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    train_text, val_text = gpt_fortunes.split_fortunes()
    vocab = gpt_fortunes.Vocabulary.printable_ascii()
    train = torch.tensor(vocab.encode(train_text), dtype=torch.long)
    val = torch.tensor(vocab.encode(val_text), dtype=torch.long)
    print(f"fortunes: {len(train):,} training and {len(val):,} validation characters, "
          f"vocabulary {len(vocab.symbols)}")

    model = GPT(len(vocab.symbols), args.block, args.layers, args.heads, args.width)
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": args.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.99))
    print(f"{sum(p.numel() for p in params):,} parameters")

    eval_at = {int(s) for s in args.eval_at.split(",") if s}
    train_seconds = train_cpu_seconds = 0.0
    if 0 in eval_at:
        print(f"iteration 0: val_loss {whole_split_loss(model, val, args.block):.4f}", flush=True)
    for it in range(args.steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        for group in optimizer.param_groups:
            group["lr"] = lr_at(it, args.lr, args.warmup, args.steps)
        ix = torch.randint(len(train) - args.block, (args.batch,))
        x = torch.stack([train[i:i + args.block] for i in ix])
        y = torch.stack([train[i + 1:i + 1 + args.block] for i in ix])
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        train_seconds += time.perf_counter() - start
        train_cpu_seconds += time.process_time() - start_cpu
        if it + 1 in eval_at:
            print(f"iteration {it + 1}: val_loss {whole_split_loss(model, val, args.block):.4f} "
                  f"(train loss {loss.item():.4f})", flush=True)
    steps = max(args.steps, 1)
    print(f"ms/iteration: {1e3 * train_seconds / steps:.1f} wall, "
          f"{1e3 * train_cpu_seconds / steps:.1f} CPU (training only, "
          f"{torch.get_num_threads()} thread)")


if __name__ == "__main__":
    main()
