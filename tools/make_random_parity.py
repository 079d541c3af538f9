#!/usr/bin/env python3
"""Random parity cases against PyTorch, for tests/test_parity_random.cpp.

Regenerate (Debian 12: apt-get install python3-torch):

    /usr/bin/python3 tools/make_random_parity.py             # writes tests/fixtures/random/
    /usr/bin/python3 tools/make_random_parity.py --out DIR   # somewhere else

Byte-reproducible with the same torch: fixed seeds (one per category, so a change in
one category leaves the others' files alone), one thread, deterministic kernels,
OpenBLAS's Haswell kernels whatever the CPU (see tools/make_fixtures.py).

One safetensors file per category (unary, binary, compare, reduce, softmax, views,
indexing, matmul, loss, modules, dtypes: int64 and bool with type promotion). A case named <category>_<op>_<nnnn> is:

  tensors
    <case>.<role>                an input, stored contiguous: float64 (the float32 run
                                 uses it rounded to float32), int64 or bool. Module
                                 parameters are inputs with role "p.<torch name>".
    <case>.g<i>                  float64 upstream gradient for output i
    <case>.<dt>.out<i>           output i computed by torch in dt (f64 or f32)
    <case>.<dt>.grad.<role>      ∂/∂input of Σ_i sum(out_i · g_i), for every
                                 floating input (zeros where torch gave None)
  metadata "<case>" → "key=value;key=value;..." with
    op=<name>            the op
    in=<r1>,<r2>,...     the inputs in call order
    view.<role>=<v>|...  views applied, in order, to the stored base before the call
                         (so the input is non-contiguous): t:a:b transpose,
                         p:i,j,k permute, s:dim:start:end:step slice, e:n,m expand
    outs=<n>             how many outputs
    grad=<r1>,...        the inputs that have gradients
    raises=<Class>       torch refused (RuntimeError, IndexError, ValueError): no
                         outputs are stored and the C++ side must refuse too
    and the op's own arguments (dims=0,-1 keepdim=1 exponent=2.5 ...); integer lists
    are comma separated, "all" for every dim, floats as repr().
  metadata "cases" → the case names in order; "category", "torch", "generator".

Values are standard normals with, where the op allows, specials mixed in: ±0, ±inf,
NaN and large magnitudes (±1e30, and ±1e300, which is inf in float32).
"""

import math
import os
import random

import make_fixtures as mf  # sets OPENBLAS_CORETYPE before torch loads

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

VARIANTS = mf.VARIANTS
HERE = mf.HERE

SPECIALS_ALL = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e30, -1e30, 1e300, -1e300]
SPECIALS_NONFINITE = [0.0, -0.0, math.inf, -math.inf, math.nan]


def ints(xs):
    return ",".join(str(int(x)) for x in xs)


# ---- views --------------------------------------------------------------------------------------


def apply_view(t, view):
    for v in view:
        kind, *rest = v.split(":")
        if kind == "t":
            t = t.transpose(int(rest[0]), int(rest[1]))
        elif kind == "p":
            t = t.permute(*[int(x) for x in rest[0].split(",")])
        elif kind == "s":
            d, start, end, step = (int(x) for x in rest)
            t = t[(slice(None),) * d + (slice(start, end, step),)]
        elif kind == "e":
            t = t.expand(*[int(x) for x in rest[0].split(",")] if rest[0] else [])
        else:
            raise AssertionError(kind)
    return t


class Category:
    def __init__(self, name, seed):
        self.name = name
        self.rng = random.Random(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.tensors = []
        self.meta = {}
        self.names = []
        self.ops = {}
        self.raised = 0
        self.stats = {"views": 0, "zero-size": 0, "specials": 0, "rank 0": 0}

    # ---- drawing ----

    def randn(self, shape):
        return torch.randn(list(shape), generator=self.gen, dtype=torch.float64)

    def randint(self, lo, hi, shape):
        return torch.randint(lo, hi, list(shape), generator=self.gen, dtype=torch.int64)

    def mask(self, shape, p=0.5):
        return torch.rand(list(shape), generator=self.gen, dtype=torch.float64) < p

    def size(self, zero=0.06):
        r = self.rng.random()
        if r < zero:
            return 0
        if r < 0.3:
            return 1
        return self.rng.randint(2, 5)

    def shape(self, lo=0, hi=4, zero=0.06, max_numel=96):
        while True:
            s = [self.size(zero) for _ in range(self.rng.randint(lo, hi))]
            if math.prod(s) <= max_numel:
                return s

    def values(self, shape, specials=None, p_case=0.5, frac=0.25, scale=1.0):
        x = self.randn(shape) * scale
        if specials and x.numel() > 0 and self.rng.random() < p_case:
            flat = x.view(-1)
            picked = [i for i in range(flat.numel()) if self.rng.random() < frac]
            for i in picked or [self.rng.randrange(flat.numel())]:  # at least one
                flat[i] = self.rng.choice(specials)
        return x

    def dim(self, rank, allow_neg=True):
        r = max(rank, 1)
        d = self.rng.randrange(r)
        return d - r if allow_neg and self.rng.random() < 0.4 else d

    def view_for(self, shape, p=0.35):
        """(base shape, view list) such that apply_view(base, view) has `shape`; no view
        with probability 1 - p or for rank 0."""
        shape = list(shape)
        n = len(shape)
        if n == 0 or self.rng.random() >= p:
            return shape, []
        kind = self.rng.choice("tpse" if n >= 2 else "se")
        if kind == "t":
            a, b = self.rng.sample(range(n), 2)
            base = list(shape)
            base[a], base[b] = base[b], base[a]
            return base, [f"t:{a}:{b}"]
        if kind == "p":
            perm = list(range(n))
            self.rng.shuffle(perm)
            base = [0] * n
            for i, pi in enumerate(perm):
                base[pi] = shape[i]
            return base, ["p:" + ints(perm)]
        if kind == "s":
            d = self.rng.randrange(n)
            step = self.rng.randint(1, 3)
            start = self.rng.randint(0, 2)
            size = shape[d]
            end = start + (size - 1) * step + 1 if size > 0 else start
            extra = self.rng.randint(0, 2)
            base = list(shape)
            base[d] = end + extra
            return base, [f"s:{d}:{start}:{end}:{step}"]
        base = [1 if (s == 1 or self.rng.random() < 0.4) else s for s in shape]
        return base, ["e:" + ints(shape)]

    def viewed(self, shape, specials=None, p_view=0.35, p_case=0.5, frac=0.25, scale=1.0):
        base_shape, view = self.view_for(shape, p_view)
        return self.values(base_shape, specials, p_case=p_case, frac=frac, scale=scale), view

    # ---- running a case ----

    def add(self, op, fn, inputs, settings=None, differentiable=True, constant=()):
        """inputs: [(role, stored tensor, view list)]; fn(args dict, dtype) returns the
        outputs (a tensor or a list) or (outputs, [(role, leaf)]) for module parameters.
        constant: floating roles that are data, not leaves (a loss's class weights,
        which torch cannot differentiate, and its probability targets)."""
        case = f"{self.name}_{op}_{len(self.names):04d}"
        settings = dict(settings or {})
        meta = {"op": op, "in": ",".join(r for r, _, _ in inputs)}
        for role, _, view in inputs:
            if view:
                meta[f"view.{role}"] = "|".join(view)
        meta.update({k: str(v) for k, v in settings.items()})

        results = {}
        raised = None
        gs = None
        for variant, dtype in VARIANTS:
            try:
                outs, leaves = self.run(fn, inputs, dtype, differentiable, constant)
            except (RuntimeError, IndexError, ValueError) as e:
                if variant == "f32":
                    raise AssertionError(f"{case}: f32 raised but f64 did not: {e}")
                raised = type(e).__name__
                break
            if gs is None:
                gs = [self.randn(o.shape) if o.is_floating_point() else None for o in outs]
            grads = {}
            float_outs = [(o, g) for o, g in zip(outs, gs) if g is not None and o.requires_grad]
            if leaves and float_outs:
                got = torch.autograd.grad([o for o, _ in float_outs],
                                          [leaf for _, leaf in leaves],
                                          [g.to(dtype) for _, g in float_outs], allow_unused=True)
                for (role, leaf), gr in zip(leaves, got):
                    grads[role] = gr if gr is not None else torch.zeros_like(leaf)
            elif leaves:
                for role, leaf in leaves:
                    grads[role] = torch.zeros_like(leaf)
            results[variant] = (outs, grads)

        for role, t, _ in inputs:
            self.tensors.append((f"{case}.{role}", t))
        floats = [t for _, t, _ in inputs if t.is_floating_point()]
        self.stats["views"] += any(v for _, _, v in inputs)
        self.stats["zero-size"] += any(t.numel() == 0 for _, t, _ in inputs)
        self.stats["rank 0"] += any(t.dim() == 0 for _, t, _ in inputs)
        self.stats["specials"] += any(
            bool((~torch.isfinite(t) | (t.abs() >= 1e30) | ((t == 0) & t.signbit())).any())
            for t in floats)
        if raised:
            meta["raises"] = raised
            self.raised += 1
        else:
            outs, grads = results["f64"]
            meta["outs"] = str(len(outs))
            meta["grad"] = ",".join(grads)
            for i, g in enumerate(gs):
                if g is not None:
                    self.tensors.append((f"{case}.g{i}", g))
            for variant, _ in VARIANTS:
                outs, grads = results[variant]
                for i, o in enumerate(outs):
                    self.tensors.append((f"{case}.{variant}.out{i}", o.detach()))
                for role, gr in grads.items():
                    self.tensors.append((f"{case}.{variant}.grad.{role}", gr.detach()))
        self.meta[case] = ";".join(f"{k}={v}" for k, v in meta.items())
        self.names.append(case)
        self.ops[op] = self.ops.get(op, 0) + 1
        return case

    @staticmethod
    def run(fn, inputs, dtype, differentiable, constant=()):
        args, leaves = {}, []
        for role, t, view in inputs:
            if t.is_floating_point():
                t = t.to(dtype)
            t = apply_view(t, view)
            if (t.is_floating_point() and differentiable and not role.startswith("p.")
                    and role not in constant):
                t = t.detach().requires_grad_(True)  # keeps the view's strides
                leaves.append((role, t))
            args[role] = t
        res = fn(args, dtype)
        if isinstance(res, tuple) and len(res) == 2 and isinstance(res[1], list):
            outs, extra = res
            leaves += extra
        else:
            outs = res
        if isinstance(outs, torch.Tensor):
            outs = [outs]
        return list(outs), leaves

    def write(self, w):
        """Writes <category>.safetensors with w (a make_fixtures.Writer); returns its size
        and sha256."""
        metadata = {"category": self.name, "cases": ",".join(self.names),
                    "torch": torch.__version__, "generator": "tools/make_random_parity.py"}
        metadata.update(self.meta)
        return w.write_file(f"{self.name}.safetensors", self.tensors, metadata)


# ---- broadcasting -------------------------------------------------------------------------------


def broadcast_pair(c, bad=0.06):
    """Two shapes that broadcast (or, with probability `bad`, do not)."""
    a = c.shape(0, 4)
    b = list(a[c.rng.randint(0, len(a)):]) if a else []
    b = [1 if c.rng.random() < 0.35 else s for s in b]
    if c.rng.random() < 0.2 and len(b) < 4:
        b = [c.rng.randint(1, 3)] + b if len(a) == len(b) else b
    if c.rng.random() < bad:
        cand = [i for i, s in enumerate(b) if s >= 1]
        if cand:
            i = c.rng.choice(cand)
            b[i] = b[i] + 1 if b[i] != 1 else 2
            # a broadcastable mismatch needs a's size to be != 1 at that place too
            ai = len(a) - len(b) + i
            if ai < 0 or a[ai] == 1:
                b[i] = 1
    if c.rng.random() < 0.5:
        a, b = b, a
    return a, b


# ---- categories ---------------------------------------------------------------------------------

UNARY = {
    "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "tanh": torch.tanh,
    "sigmoid": torch.sigmoid, "relu": torch.relu, "abs": torch.abs, "neg": torch.neg,
    "rsqrt": torch.rsqrt,
}


def unary(c):
    for _ in range(12):
        for op, f in UNARY.items():
            x, v = c.viewed(c.shape(), SPECIALS_ALL, p_case=0.7)
            if op in ("log", "sqrt", "rsqrt") and c.rng.random() < 0.7:
                x = x.abs()
            c.add(op, lambda a, dt, f=f: f(a["x"]), [("x", x, v)])
    scalar_ops = {
        "add_scalar": lambda x, s: x + s, "sub_scalar": lambda x, s: x - s,
        "rsub_scalar": lambda x, s: s - x, "mul_scalar": lambda x, s: x * s,
        "div_scalar": lambda x, s: x / s, "rdiv_scalar": lambda x, s: s / x,
    }
    for _ in range(6):
        for op, f in scalar_ops.items():
            x, v = c.viewed(c.shape(), SPECIALS_ALL, p_case=0.7)
            s = c.rng.choice([0.0, 1.0, -2.5, 0.3, 3.0, 1e30])
            c.add(op, lambda a, dt, f=f, s=s: f(a["x"], s), [("x", x, v)], {"scalar": repr(s)})
    for _ in range(36):
        x, v = c.viewed(c.shape(), SPECIALS_ALL, p_case=0.7)
        if c.rng.random() < 0.5:
            x = x.abs()
        e = c.rng.choice([0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -2.0, 2.5, -0.5, 1.5])
        c.add("pow_scalar", lambda a, dt, e=e: torch.pow(a["x"], e), [("x", x, v)],
              {"exponent": repr(e)})
    for _ in range(12):
        x, v = c.viewed(c.shape(), SPECIALS_ALL, p_case=0.7)
        lo, hi = sorted([c.rng.uniform(-1.5, 0.5), c.rng.uniform(-0.5, 1.5)])
        c.add("clamp", lambda a, dt, lo=lo, hi=hi: torch.clamp(a["x"], lo, hi), [("x", x, v)],
              {"min": repr(lo), "max": repr(hi)})


BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
          "pow": torch.pow, "maximum": torch.maximum, "minimum": torch.minimum}


def binary(c):
    for _ in range(30):
        for op, f in BINARY.items():
            sa, sb = broadcast_pair(c)
            a, va = c.viewed(sa, SPECIALS_ALL)
            b, vb = c.viewed(sb, SPECIALS_ALL)
            if op == "pow":
                if c.rng.random() < 0.6:
                    a = a.abs()
                if c.rng.random() < 0.3:
                    b = b.round()
                if c.rng.random() < 0.3:  # zero bases with exponents of each sign
                    a = torch.where(c.mask(a.shape, 0.4), torch.zeros_like(a), a)
            c.add(op, lambda t, dt, f=f: f(t["a"], t["b"]), [("a", a, va), ("b", b, vb)])


COMPARE = {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt,
           "ge": torch.ge}


def compare(c):
    for _ in range(10):
        for op, f in COMPARE.items():
            sa, sb = broadcast_pair(c)
            a, va = c.viewed(sa, SPECIALS_ALL)
            b, vb = c.viewed(sb, SPECIALS_ALL)
            if c.rng.random() < 0.5 and a.shape == b.shape:  # some equal elements
                b = torch.where(c.mask(b.shape), a, b)
            c.add(op, lambda t, dt, f=f: f(t["a"], t["b"]), [("a", a, va), ("b", b, vb)],
                  differentiable=False)
    for _ in range(40):
        sa, sb = broadcast_pair(c, bad=0.04)
        sc = c.rng.choice([sa, sb, sa[1:] if sa else sa, [1] * len(sa)])
        cond = c.mask(sc)
        a, va = c.viewed(sa, SPECIALS_ALL)
        b, vb = c.viewed(sb, SPECIALS_ALL)
        c.add("where", lambda t, dt: torch.where(t["cond"], t["a"], t["b"]),
              [("cond", cond, []), ("a", a, va), ("b", b, vb)])
    for _ in range(20):
        s = c.shape()
        x, v = c.viewed(s, SPECIALS_ALL)
        ms = list(s[c.rng.randint(0, len(s)):]) if s else []
        ms = [1 if c.rng.random() < 0.3 else m for m in ms]
        mask = c.mask(ms)
        val = c.rng.choice([0.0, -math.inf, 1e9, -2.5])
        c.add("masked_fill", lambda t, dt, val=val: t["x"].masked_fill(t["mask"], val),
              [("x", x, v), ("mask", mask, [])], {"value": repr(val)})


def dims_for(c, rank, single=False):
    """A dim set for a reduction: "all", one dim, or several (some negative)."""
    if rank == 0:
        return c.rng.choice(["all", [0], [-1]])
    r = c.rng.random()
    if r < 0.2 and not single:
        return "all"
    if r < 0.65 or single:
        return [c.dim(rank)]
    k = c.rng.randint(2, rank) if rank >= 2 else 1
    ds = c.rng.sample(range(rank), k)
    return [d - rank if c.rng.random() < 0.3 else d for d in ds]


def reduce(c):
    fns = {"sum": torch.sum, "mean": torch.mean, "amax": torch.amax, "amin": torch.amin}
    for i in range(40):
        for op, f in fns.items():
            s = c.shape(zero=0.1)
            x, v = c.viewed(s, SPECIALS_NONFINITE, p_case=0.35)
            dims = dims_for(c, len(s), single=op in ("amax", "amin") and i % 3 != 0)
            keep = c.rng.random() < 0.4

            def fn(t, dt, f=f, dims=dims, keep=keep, op=op):
                if dims == "all":
                    return f(t["x"], dim=(), keepdim=keep) if op in ("amax", "amin") else \
                        (f(t["x"], dim=list(range(t["x"].dim())), keepdim=keep) if keep else f(t["x"]))
                return f(t["x"], dim=dims, keepdim=keep)
            c.add(op, fn, [("x", x, v)],
                  {"dims": dims if dims == "all" else ints(dims), "keepdim": int(keep)})


def softmax(c):
    for _ in range(36):
        for op, f in (("softmax", torch.softmax), ("log_softmax", torch.log_softmax)):
            s = c.shape(zero=0.05)
            x, v = c.viewed(s, [-math.inf, -math.inf, math.inf, math.nan, 1e30, -1e30, 0.0],
                            p_case=0.5, frac=0.2, scale=3.0)
            d = c.dim(len(s))
            if c.rng.random() < 0.04:
                d = len(s) + 1  # out of range
            c.add(op, lambda t, dt, f=f, d=d: f(t["x"], d), [("x", x, v)], {"dim": d})


def random_reshape(c, shape):
    n = math.prod(shape)
    if n == 0:
        out = [0] + [c.rng.randint(1, 3) for _ in range(c.rng.randint(0, 2))]
        c.rng.shuffle(out)
        return out
    factors = []
    m = n
    for p in (2, 3, 5, 7):
        while m % p == 0:
            factors.append(p)
            m //= p
    if m > 1:
        factors.append(m)
    c.rng.shuffle(factors)
    out = []
    for f in factors:
        if out and c.rng.random() < 0.5:
            out[-1] *= f
        else:
            out.append(f)
    for _ in range(c.rng.randint(0, 2)):
        out.insert(c.rng.randint(0, len(out)), 1)
    if out and c.rng.random() < 0.3:
        out[c.rng.randrange(len(out))] = -1
    return out


def views(c):
    for _ in range(20):
        s = c.shape(zero=0.08)
        x, v = c.viewed(s, SPECIALS_NONFINITE, p_case=0.2)
        new = random_reshape(c, s)
        if c.rng.random() < 0.05 and new:
            new[0] = new[0] + 1 if new[0] > 0 else 2  # wrong numel
        c.add("reshape", lambda t, dt, new=new: t["x"].reshape(new), [("x", x, v)],
              {"shape": ints(new)})
    for _ in range(18):
        s = c.shape()
        x, v = c.viewed(s)
        a, b = c.dim(len(s)), c.dim(len(s))
        c.add("transpose", lambda t, dt, a=a, b=b: t["x"].transpose(a, b), [("x", x, v)],
              {"dim0": a, "dim1": b})
    for _ in range(16):
        s = c.shape()
        x, v = c.viewed(s)
        perm = list(range(len(s)))
        c.rng.shuffle(perm)
        perm = [p - len(s) if c.rng.random() < 0.3 else p for p in perm]
        c.add("permute", lambda t, dt, perm=perm: t["x"].permute(perm), [("x", x, v)],
              {"dims": ints(perm)})
    for _ in range(14):
        s = c.shape(0, 3)
        x, v = c.viewed(s)
        d = c.rng.randint(-len(s) - 1, len(s))
        c.add("unsqueeze", lambda t, dt, d=d: t["x"].unsqueeze(d), [("x", x, v)], {"dim": d})
    for _ in range(18):
        s = c.shape()
        if s and c.rng.random() < 0.5:
            s[c.rng.randrange(len(s))] = 1
        x, v = c.viewed(s)
        if c.rng.random() < 0.25:
            c.add("squeeze_all", lambda t, dt: t["x"].squeeze(), [("x", x, v)])
        else:
            d = c.dim(len(s))
            c.add("squeeze", lambda t, dt, d=d: t["x"].squeeze(d), [("x", x, v)], {"dim": d})
    for _ in range(18):
        s = c.shape(0, 3)
        x, v = c.viewed([1 if c.rng.random() < 0.5 else k for k in s])
        xs = list(x.shape) if not v else list(apply_view(x, v).shape)
        new = [c.rng.randint(1, 3) if k == 1 and c.rng.random() < 0.7 else k for k in xs]
        new = [-1 if c.rng.random() < 0.3 else k for k in new]
        new = [c.rng.randint(1, 3) for _ in range(c.rng.randint(0, 1))] + new
        if c.rng.random() < 0.05 and new and xs:
            new[-1] = xs[-1] + 1 if xs[-1] != 1 else new[-1]
        c.add("expand", lambda t, dt, new=new: t["x"].expand(new), [("x", x, v)],
              {"shape": ints(new)})
    for _ in range(20):
        s = c.shape(1, 4)
        x, v = c.viewed(s)
        d = c.dim(len(s))
        n = s[d]
        start = c.rng.randint(-n, n) if n > 0 else 0
        length = c.rng.randint(0, n - (start % n if n else 0)) if n > 0 else 0
        if c.rng.random() < 0.05:
            length = n + 1
        c.add("narrow", lambda t, dt, d=d, st=start, ln=length: t["x"].narrow(d, st, ln),
              [("x", x, v)], {"dim": d, "start": start, "length": length})
    for _ in range(18):
        s = c.shape(1, 4)
        x, v = c.viewed(s)
        d = c.dim(len(s))
        n = s[d]
        i = c.rng.randint(-n, n - 1) if n > 0 else 0
        if c.rng.random() < 0.06:
            i = n
        c.add("select", lambda t, dt, d=d, i=i: t["x"].select(d, i), [("x", x, v)],
              {"dim": d, "index": i})
    for _ in range(20):
        s = c.shape(1, 4)
        x, v = c.viewed(s)
        d = c.dim(len(s))
        n = s[d]
        start = c.rng.randint(-n - 1, n + 1)
        end = c.rng.randint(-n - 1, n + 2)
        step = c.rng.randint(1, 3)

        def fn(t, dt, d=d, a=start, b=end, st=step):
            dd = d % t["x"].dim()
            return t["x"][(slice(None),) * dd + (slice(a, b, st),)]
        c.add("slice", fn, [("x", x, v)], {"dim": d, "start": start, "end": end, "step": step})
    for _ in range(8):
        s = c.shape(1, 4)
        x, v = c.viewed(s)
        a = c.dim(len(s))
        b = c.rng.randint(a % len(s), len(s) - 1)
        c.add("flatten", lambda t, dt, a=a, b=b: t["x"].flatten(a, b), [("x", x, v)],
              {"start_dim": a, "end_dim": b})


def indexing(c):
    for _ in range(24):
        s = c.shape(1, 4)
        x, v = c.viewed(s, SPECIALS_NONFINITE, p_case=0.2)
        d = c.dim(len(s))
        n = s[d]
        k = c.rng.randint(0, 5)
        idx = c.randint(0, n, [k]) if n > 0 else torch.zeros([0], dtype=torch.int64)
        if c.rng.random() < 0.06 and k > 0:
            idx[0] = n
        c.add("index_select", lambda t, dt, d=d: torch.index_select(t["x"], d, t["index"]),
              [("x", x, v), ("index", idx, [])], {"dim": d})
    for _ in range(24):
        s = c.shape(1, 4)
        x, v = c.viewed(s, SPECIALS_NONFINITE, p_case=0.2)
        d = c.dim(len(s))
        ishape = [c.rng.randint(0, k) if i != d % len(s) else c.rng.randint(0, 4)
                  for i, k in enumerate(s)]
        n = s[d]
        idx = c.randint(0, n, ishape) if n > 0 else torch.zeros(ishape, dtype=torch.int64)
        if n == 0 and idx.numel() > 0:
            pass  # out of range: torch refuses
        if c.rng.random() < 0.05 and idx.numel() > 0:
            idx.view(-1)[0] = n + 1
        c.add("gather", lambda t, dt, d=d: torch.gather(t["x"], d, t["index"]),
              [("x", x, v), ("index", idx, [])], {"dim": d})
    for op in ("cat", "stack"):
        for _ in range(18):
            s = c.shape(1 if op == "cat" else 0, 3)
            k = c.rng.randint(1, 3)
            r = len(s)
            d = c.rng.randint(-r, r - 1) if op == "cat" else c.rng.randint(-r - 1, r)
            inputs = []
            for j in range(k):
                sj = list(s)
                if op == "cat":
                    sj[d] = c.rng.randint(0, 3)
                if c.rng.random() < 0.04:
                    sj = sj + [2]  # rank mismatch
                xj, vj = c.viewed(sj)
                inputs.append((f"x{j}", xj, vj))
            f = torch.cat if op == "cat" else torch.stack
            c.add(op, lambda t, dt, f=f, d=d, k=k: f([t[f"x{j}"] for j in range(k)], d), inputs,
                  {"dim": d})
    for _ in range(16):
        s = c.shape(1, 3)
        x, v = c.viewed(s)
        d = c.dim(len(s))
        n = s[d]
        if c.rng.random() < 0.5:
            chunk = c.rng.randint(1, 3)
            c.add("split", lambda t, dt, ch=chunk, d=d: torch.split(t["x"], ch, d), [("x", x, v)],
                  {"chunk": chunk, "dim": d})
        else:
            sizes = []
            left = n
            while left > 0:
                q = c.rng.randint(0, left)
                sizes.append(q)
                left -= q
            if not sizes or c.rng.random() < 0.1:
                sizes.append(0)
            if c.rng.random() < 0.05:
                sizes.append(1)  # does not add up
            c.add("split_sizes", lambda t, dt, sz=sizes, d=d: torch.split(t["x"], sz, d),
                  [("x", x, v)], {"sizes": ints(sizes), "dim": d})


def matmul(c):
    for _ in range(84):
        r = c.rng.random()
        m, k, n = c.rng.randint(0, 4), c.rng.randint(1, 5), c.rng.randint(1, 4)
        if c.rng.random() < 0.05:
            k = 0
        if r < 0.15:  # a 1-D operand
            kind = c.rng.choice(["dot", "vm", "mv", "bv", "vb"])
            batch = [c.rng.randint(1, 3)]
            sa = {"dot": [k], "vm": [k], "mv": [m, k], "bv": batch + [m, k], "vb": [k]}[kind]
            sb = {"dot": [k], "vm": [k, n], "mv": [k], "bv": [k], "vb": batch + [k, n]}[kind]
        elif r < 0.45:
            sa, sb = [m, k], [k, n]
        else:
            ba = [c.rng.choice([1, 2, 3]) for _ in range(c.rng.randint(0, 2))]
            bb = [c.rng.choice([1, 2, 3]) if c.rng.random() < 0.5 else x for x in ba]
            if c.rng.random() < 0.3:
                bb = bb[1:] if bb else bb
            if c.rng.random() < 0.5:
                ba, bb = bb, ba
            sa, sb = ba + [m, k], bb + [k, n]
        if c.rng.random() < 0.05:
            sb = list(sb)
            sb[-2 if len(sb) >= 2 else -1] += 1  # inner sizes differ
        a, va = c.viewed(sa, [math.nan, math.inf, -0.0], p_case=0.15, frac=0.1)
        b, vb = c.viewed(sb, [math.nan, math.inf, -0.0], p_case=0.15, frac=0.1)
        c.add("matmul", lambda t, dt: torch.matmul(t["a"], t["b"]), [("a", a, va), ("b", b, vb)])


def losses(c):
    for _ in range(36):
        op = c.rng.choice(["cross_entropy", "cross_entropy", "nll_loss"])
        n, C = c.rng.randint(1, 5), c.rng.randint(1, 5)
        shape_kind = c.rng.random()
        if shape_kind < 0.15:
            xs, ts = [C], []
        elif shape_kind < 0.75:
            xs, ts = [n, C], [n]
        else:
            extra = [c.rng.randint(1, 3) for _ in range(c.rng.randint(1, 2))]
            xs, ts = [n, C] + extra, [n] + extra
        x, v = c.viewed(xs, [1e30, -1e30, -math.inf], p_case=0.1, frac=0.1, scale=2.0)
        if op == "nll_loss":
            x = torch.log_softmax(x, 0 if len(xs) == 1 else 1)
            v = []
        target = c.randint(0, C, ts)
        settings = {}
        ignore = -100
        if c.rng.random() < 0.3 and target.numel() > 0:
            ignore = c.rng.choice([-100, 0, C - 1])
            target.view(-1)[0] = ignore
            settings["ignore_index"] = ignore
        reduction = c.rng.choice(["mean", "sum", "none"])
        settings["reduction"] = reduction
        inputs = [("x", x, v), ("target", target, [])]
        kw = {"ignore_index": ignore, "reduction": reduction}
        if c.rng.random() < 0.15:
            w = c.randn([C]).abs() + 0.1
            inputs.append(("weight", w, []))
            settings["weighted"] = 1
        ls = 0.0
        if op == "cross_entropy" and c.rng.random() < 0.15:
            ls = c.rng.choice([0.1, 0.25])
            settings["label_smoothing"] = repr(ls)
        if c.rng.random() < 0.03 and ts:
            target.view(-1)[-1] = C + 2  # out of range

        def fn(t, dt, op=op, kw=kw, ls=ls):
            w = t.get("weight")
            if op == "cross_entropy":
                return F.cross_entropy(t["x"], t["target"], weight=w, label_smoothing=ls, **kw)
            return F.nll_loss(t["x"], t["target"], weight=w, **kw)
        c.add(op, fn, inputs, settings, constant=("weight",))
    for _ in range(6):  # probability targets
        n, C = c.rng.randint(1, 4), c.rng.randint(2, 5)
        x = c.randn([n, C])
        p = torch.softmax(c.randn([n, C]), 1)
        c.add("cross_entropy_probs", lambda t, dt: F.cross_entropy(t["x"], t["target"]),
              [("x", x, []), ("target", p, [])], {"reduction": "mean"}, constant=("target",))
    for _ in range(24):
        s = c.shape(0, 4)
        a, va = c.viewed(s, SPECIALS_NONFINITE, p_case=0.2)
        b, vb = c.viewed(s, SPECIALS_NONFINITE, p_case=0.2)
        reduction = c.rng.choice(["mean", "sum", "none"])
        c.add("mse_loss", lambda t, dt, r=reduction: F.mse_loss(t["a"], t["b"], reduction=r),
              [("a", a, va), ("b", b, vb)], {"reduction": reduction})
    # drawn last, so the cases above keep their numbers and values: class weights with
    # ignore_index, label smoothing and [N, C, d...] inputs; probability targets with
    # weights, label smoothing and [N, C, d...] inputs
    for _ in range(16):
        op = c.rng.choice(["cross_entropy", "cross_entropy", "nll_loss"])
        n, C = c.rng.randint(1, 4), c.rng.randint(2, 5)
        extra = [c.rng.randint(1, 3)] if c.rng.random() < 0.4 else []
        xs, ts = ([C], []) if c.rng.random() < 0.15 else ([n, C] + extra, [n] + extra)
        x, v = c.viewed(xs, [1e30, -1e30], p_case=0.1, frac=0.1, scale=2.0)
        if op == "nll_loss":
            x = torch.log_softmax(x, 0 if len(xs) == 1 else 1)
            v = []
        target = c.randint(0, C, ts)
        ignore = -100
        if c.rng.random() < 0.4 and target.numel() > 0:
            ignore = c.rng.randrange(C)
            target.view(-1)[0] = ignore
        reduction = c.rng.choice(["mean", "mean", "sum", "none"])
        w = c.randn([C]).abs() + 0.1
        ls = c.rng.choice([0.0, 0.0, 0.1, 0.3]) if op == "cross_entropy" else 0.0
        settings = {"reduction": reduction, "weighted": 1}
        if ignore != -100:
            settings["ignore_index"] = ignore
        if ls:
            settings["label_smoothing"] = repr(ls)

        def fn(t, dt, op=op, ignore=ignore, reduction=reduction, ls=ls):
            kw = {"weight": t["weight"], "ignore_index": ignore, "reduction": reduction}
            if op == "cross_entropy":
                return F.cross_entropy(t["x"], t["target"], label_smoothing=ls, **kw)
            return F.nll_loss(t["x"], t["target"], **kw)
        c.add(op, fn, [("x", x, v), ("target", target, []), ("weight", w, [])], settings,
              constant=("weight",))
    for _ in range(8):
        n, C = c.rng.randint(1, 3), c.rng.randint(2, 4)
        xs = [n, C] + ([c.rng.randint(1, 3)] if c.rng.random() < 0.4 else [])
        x, v = c.viewed(xs)
        p = torch.softmax(c.randn(xs), 1)
        reduction = c.rng.choice(["mean", "sum", "none"])
        ls = c.rng.choice([0.0, 0.2])
        inputs = [("x", x, v), ("target", p, [])]
        settings = {"reduction": reduction}
        if c.rng.random() < 0.5:
            inputs.append(("weight", c.randn([C]).abs() + 0.1, []))
            settings["weighted"] = 1
        if ls:
            settings["label_smoothing"] = repr(ls)

        def fn(t, dt, reduction=reduction, ls=ls):
            return F.cross_entropy(t["x"], t["target"], weight=t.get("weight"),
                                   reduction=reduction, label_smoothing=ls)
        c.add("cross_entropy_probs", fn, inputs, settings, constant=("target", "weight"))


def state_inputs(c, module):
    """The module's parameters as stored inputs "p.<name>" (float64)."""
    return [(f"p.{name}", p.detach().double().clone(), []) for name, p in module.named_parameters()]


def load_params(module, t, dtype):
    module.to(dtype)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(t[f"p.{name}"])
    return [(f"p.{name}", p) for name, p in module.named_parameters()]


def modules(c):
    def fresh(make):
        torch.manual_seed(c.rng.randrange(2 ** 31))
        return make().double()

    for _ in range(16):
        fin, fout, bias = c.rng.randint(1, 5), c.rng.randint(1, 5), c.rng.random() < 0.7
        m = fresh(lambda: torch.nn.Linear(fin, fout, bias=bias))
        x, v = c.viewed(c.shape(0, 2, zero=0.05) + [fin])

        def fn(t, dt, m=m):
            params = load_params(m, t, dt)
            return m(t["x"]), params
        c.add("linear", fn, [("x", x, v)] + state_inputs(c, m),
              {"in_features": fin, "out_features": fout, "bias": int(bias)})
    for _ in range(12):
        num, dim = c.rng.randint(1, 6), c.rng.randint(1, 4)
        pad = c.rng.choice([None, None, None, 0])
        m = fresh(lambda: torch.nn.Embedding(num, dim, padding_idx=pad))
        ids = c.randint(0, num, c.shape(0, 2))
        settings = {"num_embeddings": num, "embedding_dim": dim}
        if pad is not None:
            settings["padding_idx"] = pad

        def fn(t, dt, m=m):
            params = load_params(m, t, dt)
            return m(t["ids"]), params
        c.add("embedding", fn, [("ids", ids, [])] + state_inputs(c, m), settings)
    for kind in ("lstm", "gru"):
        for _ in range(14):
            fin, hid = c.rng.randint(1, 4), c.rng.randint(1, 4)
            layers = c.rng.randint(1, 2)
            bias = c.rng.random() < 0.8
            batch_first = c.rng.random() < 0.5
            bidir = c.rng.random() < 0.2
            unbatched = c.rng.random() < 0.1
            with_state = c.rng.random() < 0.5
            cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
            m = fresh(lambda: cls(fin, hid, num_layers=layers, bias=bias,
                                  batch_first=batch_first, bidirectional=bidir))
            T, B = c.rng.randint(1, 4), c.rng.randint(1, 3)
            xs = [T, fin] if unbatched else ([B, T, fin] if batch_first else [T, B, fin])
            x, v = c.viewed(xs)
            inputs = [("x", x, v)]
            D = 2 if bidir else 1
            hs = [D * layers, hid] if unbatched else [D * layers, B, hid]
            if with_state:
                inputs.append(("h0", c.randn(hs), []))
                if kind == "lstm":
                    inputs.append(("c0", c.randn(hs), []))
            inputs += state_inputs(c, m)

            def fn(t, dt, m=m, kind=kind, with_state=with_state):
                params = load_params(m, t, dt)
                if kind == "lstm":
                    out, (h, cc) = m(t["x"], (t["h0"], t["c0"]) if with_state else None)
                    return [out, h, cc], params
                out, h = m(t["x"], t["h0"] if with_state else None)
                return [out, h], params
            c.add(kind, fn, inputs,
                  {"input_size": fin, "hidden_size": hid, "num_layers": layers, "bias": int(bias),
                   "batch_first": int(batch_first), "bidirectional": int(bidir),
                   "state": int(with_state)})
    for _ in range(24):
        heads = c.rng.choice([1, 2])
        E = heads * c.rng.randint(1, 3)
        bias = c.rng.random() < 0.8
        batch_first = c.rng.random() < 0.5
        kv = c.rng.random() < 0.15
        kdim, vdim = (c.rng.randint(1, 4), c.rng.randint(1, 4)) if kv else (E, E)
        unbatched = c.rng.random() < 0.1
        m = fresh(lambda: torch.nn.MultiheadAttention(E, heads, bias=bias, batch_first=batch_first,
                                                      kdim=kdim, vdim=vdim))
        B, Tq, Tk = c.rng.randint(1, 2), c.rng.randint(1, 3), c.rng.randint(1, 4)

        def lay(T, d):
            return [T, d] if unbatched else ([B, T, d] if batch_first else [T, B, d])
        inputs = [("query", c.randn(lay(Tq, E)), []), ("key", c.randn(lay(Tk, kdim)), []),
                  ("value", c.randn(lay(Tk, vdim)), [])]
        settings = {"embed_dim": E, "num_heads": heads, "bias": int(bias),
                    "batch_first": int(batch_first), "kdim": kdim, "vdim": vdim}
        # masks: TRUE = blocked; never a fully blocked row (torch gives NaN there)
        if c.rng.random() < 0.35 and not unbatched:
            kpm = c.mask([B, Tk], 0.3)
            kpm[:, 0] = False
            inputs.append(("key_padding_mask", kpm, []))
        am_kind = c.rng.choice(["none", "none", "bool2", "bool3", "float2"])
        if am_kind == "bool2":
            am = c.mask([Tq, Tk], 0.3)
            am[:, 0] = False
            inputs.append(("attn_mask", am, []))
        elif am_kind == "bool3" and not unbatched:
            am = c.mask([B * heads, Tq, Tk], 0.3)
            am[:, :, 0] = False
            inputs.append(("attn_mask", am, []))
        elif am_kind == "float2":
            inputs.append(("attn_mask", c.randn([Tq, Tk]), []))
        need = c.rng.random() < 0.8
        avg = c.rng.random() < 0.5
        settings.update({"need_weights": int(need), "average_attn_weights": int(avg)})
        inputs += state_inputs(c, m)

        def fn(t, dt, m=m, need=need, avg=avg):
            params = load_params(m, t, dt)
            am = t.get("attn_mask")
            out, w = m(t["query"], t["key"], t["value"], key_padding_mask=t.get("key_padding_mask"),
                       attn_mask=am, need_weights=need, average_attn_weights=avg)
            return ([out, w] if need else [out]), params
        # a float mask is an input of the call, not a parameter: no gradient for it
        c.add("multihead_attention", fn, inputs, settings)


def dtypes(c):
    """int64 and bool tensors, alone and mixed with floating ones: PyTorch's type
    promotion (int64 ⊕ float → float, bool ⊕ int64 → int64, int64 / int64 → float32)."""
    def draw(kind, shape):
        if kind == "i":
            return c.randint(-4, 5, shape)
        if kind == "b":
            return c.mask(shape)
        return c.values(shape, SPECIALS_NONFINITE, p_case=0.3)

    pairs = ["ii", "ii", "if", "fi", "bi", "ib", "bf"]
    binary_ops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
                  "maximum": torch.maximum, "eq": torch.eq, "lt": torch.lt, "ge": torch.ge}
    for _ in range(6):
        for op, f in binary_ops.items():
            kinds = c.rng.choice(pairs)
            if op == "sub" and "b" in kinds:
                kinds = "ii"  # torch refuses to subtract bools
            sa, sb = broadcast_pair(c, bad=0.0)
            c.add(f"t_{op}", lambda t, dt, f=f: f(t["a"], t["b"]),
                  [("a", draw(kinds[0], sa), []), ("b", draw(kinds[1], sb), [])],
                  {"kinds": kinds}, differentiable=False)
    for _ in range(10):
        sa, sb = broadcast_pair(c, bad=0.0)
        kinds = c.rng.choice(["ii", "if", "fi"])
        c.add("t_where", lambda t, dt: torch.where(t["cond"], t["a"], t["b"]),
              [("cond", c.mask(sa), []), ("a", draw(kinds[0], sa), []),
               ("b", draw(kinds[1], sb), [])], {"kinds": kinds}, differentiable=False)
    for _ in range(14):
        kind = c.rng.choice("iib")
        s = c.shape(zero=0.08)
        dims = dims_for(c, len(s))
        keep = c.rng.random() < 0.4

        def fn(t, dt, dims=dims, keep=keep):
            if dims == "all":
                return torch.sum(t["x"], dim=list(range(t["x"].dim())), keepdim=keep) if keep \
                    else torch.sum(t["x"])
            return torch.sum(t["x"], dim=dims, keepdim=keep)
        c.add("t_sum", fn, [("x", draw(kind, s), [])],
              {"dims": dims if dims == "all" else ints(dims), "keepdim": int(keep), "kinds": kind},
              differentiable=False)
    for _ in range(12):
        kind = c.rng.choice("iff")
        s = c.shape(1, 4, zero=0.0)
        d = c.dim(len(s))
        keep = c.rng.random() < 0.4
        c.add("t_argmax", lambda t, dt, d=d, keep=keep: torch.argmax(t["x"], d, keep),
              [("x", draw(kind, s), [])], {"dim": d, "keepdim": int(keep), "kinds": kind},
              differentiable=False)
    for _ in range(8):
        n = c.rng.randint(1, 5)
        idx = c.randint(0, n, c.shape(0, 2))
        c.add("t_one_hot", lambda t, dt, n=n: F.one_hot(t["index"], n), [("index", idx, [])],
              {"num_classes": n}, differentiable=False)


CATEGORIES = [("unary", unary), ("binary", binary), ("compare", compare), ("reduce", reduce),
              ("softmax", softmax), ("views", views), ("indexing", indexing), ("matmul", matmul),
              ("loss", losses), ("modules", modules), ("dtypes", dtypes)]


def main():
    args = mf.start(__doc__.split("\n\n")[0],
                    os.path.join(HERE, "..", "tests", "fixtures", "random"))
    w = mf.Writer(args.out)
    total_bytes = total_cases = 0
    for i, (name, make) in enumerate(CATEGORIES):
        c = Category(name, 15_000 + i)
        make(c)
        size, digest = c.write(w)
        total_bytes += size
        total_cases += len(c.names)
        ops = ", ".join(f"{k} {v}" for k, v in c.ops.items())
        stats = ", ".join(f"{k} {v}" for k, v in c.stats.items())
        print(f"{name:9s} {len(c.names):4d} cases ({c.raised} refused by torch) {size:8d} bytes "
              f"{digest[:12]}\n          inputs with: {stats}\n          ops: {ops}")
    print(f"total     {total_cases:4d} cases {total_bytes:8d} bytes in {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
