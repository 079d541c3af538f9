#!/usr/bin/env python3
"""PyTorch's answers at the edges of the tensor kernels, for tests/test_parity_semantics.cpp.

Regenerate (Debian 12: apt-get install python3-torch):

    /usr/bin/python3 tools/make_semantics_fixtures.py            # writes tests/fixtures/
    /usr/bin/python3 tools/make_semantics_fixtures.py --out DIR

Byte-reproducible like tools/make_fixtures.py (whose safetensors writer it uses): the
inputs are written out by hand, not drawn, and every op here is element-wise or a
small reduction on one thread. Each file holds inputs, torch's results and gradients
under descriptive names; its "__metadata__" holds torch's error messages for the
cases torch refuses (key "error.<case>"), so the C++ test can check that minigrad
refuses the same inputs.

Files (semantics_<what>.safetensors; "_f64"/"_f32" where the dtype matters):
  semantics_nan_{f64,f32}     relu, maximum, minimum with NaN, ±0, ties:
      x relu grad_relu (upstream gradient g), a b g2 maximum grad_maximum_a
      grad_maximum_b minimum grad_minimum_a grad_minimum_b
  semantics_pow_{f64,f32}     x ∈ {0, −0, −2, 3, 0.25} × y ∈ {0, 2, −2, 0.5, 3, −1.5, 1, −3}
      flattened as base/exponent [40]: pow grad_base grad_exponent (upstream 1);
      and for each exponent e in exponents [k]: pow_scalar_<i> grad_pow_scalar_<i>
      over base_scalar (the five x values)
  semantics_reduce            float32: empty [0,3]: sum_all mean_all sum_0 mean_0 sum_1
      mean_1 amax_1 argmax_1; 0-d z: sum_0 sum_m1 mean_0 amax_0 argmax_0 softmax_0
      log_softmax_m1 (+ errors for amax over an empty axis, amax of no elements)
  semantics_shape             expand_m1 (zeros [1,3] → (2,−1,−1)), squeeze_0 of [2,3],
      0-d unsqueeze_0, reshape_m1, narrow_neg (arange(5).narrow(0,−2,2)),
      select_neg; errors for select/narrow of a 0-d tensor, expand −1 in a new axis
  semantics_dtype             int64 i, j, bool b, c, float32 f, float64 d; results of
      + − × ÷, comparisons, where, sum, argmax, index_select, gather, one_hot under
      PyTorch's type promotion (each result in torch's dtype; names in the test)
  semantics_mixed_grad        float32 a [3] · float64 b [3]: y (float64), grad_a in
      float32, grad_b in float64 (upstream ones)
"""

import os

import make_fixtures  # noqa: E402  (sets OPENBLAS_CORETYPE before torch loads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

NAN = float("nan")
HERE = os.path.dirname(os.path.abspath(__file__))


def write(w, name, tensors, errors=None):
    """name.safetensors through make_fixtures' writer, with torch's error messages."""
    metadata = {"case": name, "torch": torch.__version__,
                "generator": "tools/make_semantics_fixtures.py"}
    for k, v in (errors or {}).items():
        metadata["error." + k] = v
    w.write_file(name + ".safetensors", tensors, metadata)


def error_of(fn):
    try:
        fn()
    except Exception as e:  # torch raises RuntimeError / IndexError
        return type(e).__name__ + ": " + str(e).split("\n")[0]
    raise AssertionError("torch accepted what the fixture says it refuses")


def grads(fn, *inputs, upstream=None):
    xs = [x.detach().clone().requires_grad_(True) for x in inputs]
    y = fn(*xs)
    y.backward(torch.ones_like(y) if upstream is None else upstream)
    return y.detach(), [x.grad for x in xs]


def nan_cases(w):
    for variant, dt in make_fixtures.VARIANTS:
        x = torch.tensor([NAN, -1.5, -0.0, 0.0, 2.0, -NAN], dtype=dt)
        g = torch.tensor([3.0, 5.0, 7.0, 11.0, 13.0, 17.0], dtype=dt)
        relu, (grad_relu,) = grads(torch.relu, x, upstream=g)
        # NaN on either side and both, a tie, each side winning; ±0 ties are left out:
        # torch's own vectorised and scalar loops answer them differently
        a = torch.tensor([NAN, 1.0, NAN, 2.0, 3.0, 1.0, -4.0, 0.0], dtype=dt)
        b = torch.tensor([1.0, NAN, NAN, 2.0, 1.0, 3.0, -4.0, 5.0], dtype=dt)
        g2 = torch.tensor([3.0, 5.0, 7.0, 11.0, 13.0, 17.0, 19.0, 23.0], dtype=dt)
        mx, (gma, gmb) = grads(torch.maximum, a, b, upstream=g2)
        mn, (gna, gnb) = grads(torch.minimum, a, b, upstream=g2)
        write(w, f"semantics_nan_{variant}", [
            ("x", x), ("g", g), ("relu", relu), ("grad_relu", grad_relu),
            ("a", a), ("b", b), ("g2", g2),
            ("maximum", mx), ("grad_maximum_a", gma), ("grad_maximum_b", gmb),
            ("minimum", mn), ("grad_minimum_a", gna), ("grad_minimum_b", gnb)])


def pow_cases(w):
    xs = [0.0, -0.0, -2.0, 3.0, 0.25]
    ys = [0.0, 2.0, -2.0, 0.5, 3.0, -1.5, 1.0, -3.0]
    for variant, dt in make_fixtures.VARIANTS:
        base = torch.tensor([x for x in xs for _ in ys], dtype=dt)
        exponent = torch.tensor([y for _ in xs for y in ys], dtype=dt)
        y, (gb, ge) = grads(torch.pow, base, exponent)
        tensors = [("base", base), ("exponent", exponent), ("pow", y),
                   ("grad_base", gb), ("grad_exponent", ge)]
        base_scalar = torch.tensor(xs, dtype=dt)
        exps = ys + [-0.5, -1.0]
        tensors += [("base_scalar", base_scalar), ("exponents", torch.tensor(exps, dtype=torch.float64))]
        for i, e in enumerate(exps):
            ys_, (gs,) = grads(lambda t: torch.pow(t, e), base_scalar)
            tensors += [(f"pow_scalar_{i}", ys_), (f"grad_pow_scalar_{i}", gs)]
        write(w, f"semantics_pow_{variant}", tensors)


def reduce_cases(w):
    e = torch.zeros(0, 3)
    z = torch.tensor(2.5)
    tensors = [
        ("empty", e),
        ("sum_all", e.sum()), ("mean_all", e.mean()),
        ("sum_0", e.sum(0)), ("mean_0", e.mean(0)),
        ("sum_1", e.sum(1)), ("mean_1", e.mean(1)),
        ("amax_1", e.amax(1)), ("argmax_1", e.argmax(1)),
        ("z", z),
        ("z_sum_0", z.sum(0)), ("z_sum_m1", z.sum(-1)), ("z_mean_0", z.mean(0)),
        ("z_amax_0", z.amax(0)), ("z_argmax_0", z.argmax(0)),
        ("z_softmax_0", z.softmax(0)), ("z_log_softmax_m1", z.log_softmax(-1)),
    ]
    errors = {
        "amax_empty_axis": error_of(lambda: e.amax(0)),
        "argmax_empty_axis": error_of(lambda: e.argmax(0)),
        "amax_no_elements": error_of(lambda: e.amax()),
        "z_sum_1": error_of(lambda: z.sum(1)),
        "mean_int64": error_of(lambda: torch.tensor([1, 2]).mean()),
    }
    write(w, "semantics_reduce", tensors, errors)


def shape_cases(w):
    z = torch.tensor(2.5)
    r = torch.arange(5.0)
    tensors = [
        ("expand_m1", torch.zeros(1, 3).expand(2, -1, -1)),
        ("squeeze_0", torch.zeros(2, 3).squeeze(0)),
        ("z", z),
        ("z_unsqueeze_0", z.unsqueeze(0)), ("z_unsqueeze_m1", z.unsqueeze(-1)),
        ("z_squeeze_0", z.squeeze(0)), ("z_reshape_m1", z.reshape(-1)),
        ("z_transpose", z.transpose(0, -1)),
        ("z_expand_3", z.expand(3)),
        ("r", r),
        ("narrow_neg", r.narrow(0, -2, 2)), ("select_neg", r.select(0, -1)),
    ]
    errors = {
        "z_select": error_of(lambda: z.select(0, 0)),
        "z_narrow": error_of(lambda: z.narrow(0, 0, 1)),
        "expand_m1_new_axis": error_of(lambda: torch.zeros(3).expand(-1, 3)),
        "z_size_0": error_of(lambda: z.size(0)),
    }
    write(w, "semantics_shape", tensors, errors)


def dtype_cases(w):
    i = torch.tensor([1, -2, 3, 7])
    j = torch.tensor([2, 2, -4, 3])
    b = torch.tensor([True, False, True, False])
    c = torch.tensor([True, True, False, False])
    f = torch.tensor([0.5, 2.0, -3.0, 7.0])
    d = torch.tensor([1.25, -2.0, 3.0, 0.1], dtype=torch.float64)
    zd = torch.tensor(2.5, dtype=torch.float64)  # a 0-d float64
    zi = torch.tensor(3)                          # a 0-d int64
    m = torch.tensor([[4, 1, 9], [2, 8, 3]])
    idx = torch.tensor([2, 0, 2])
    gidx = torch.tensor([[2, 0], [1, 1]])
    tensors = [("i", i), ("j", j), ("b", b), ("c", c), ("f", f), ("d", d), ("zd", zd),
               ("zi", zi), ("m", m), ("idx", idx), ("gidx", gidx)]
    results = {
        "i_add_j": i + j, "i_sub_j": i - j, "i_mul_j": i * j, "i_div_j": i / j,
        "i_add_f": i + f, "f_add_d": f + d, "b_add_i": b + i, "b_add_c": b + c,
        "b_mul_c": b * c, "b_div_c": b / c, "i_mul_b": i * b,
        "i_add_2": i + 2, "i_add_2.5": i + 2.5, "i_mul_2.0": i * 2.0, "i_div_2": i / 2,
        "b_add_2": b + 2, "b_mul_2.5": b * 2.5, "2_sub_i": 2 - i, "6_div_i": 6 / i,
        "f_add_zd": f + zd, "i_add_zd": i + zd, "f_add_zi": f + zi, "i_add_zi": i + zi,
        "i_pow_2": i ** 2, "i_pow_j": i ** j, "i_pow_0.5": torch.abs(i) ** 0.5,
        "i_max_j": torch.maximum(i, j), "i_max_f": torch.maximum(i, f),
        "i_eq_f": i == f, "i_lt_j": i < j, "i_lt_2.5": i < 2.5, "b_gt_c": b > c,
        "i_ge_b": i >= b, "f_le_d": f <= d,
        "where_i_f": torch.where(b, i, f), "where_i_j": torch.where(b, i, j),
        "where_f_d": torch.where(b, f, d), "where_i_c": torch.where(b, i, c),
        "i_sum": i.sum(), "b_sum": b.sum(), "m_sum_1": m.sum(1), "i_neg": -i,
        "i_abs": i.abs(), "i_relu": torch.relu(i), "i_exp": i.exp(), "i_sqrt": torch.abs(i).sqrt(),
        "m_argmax_1": m.argmax(1), "m_argmax_0": m.argmax(0), "m_amax_1": m.amax(1),
        "m_index_select_1": m.index_select(1, idx), "b_index_select": b.index_select(0, idx),
        "m_gather_1": m.gather(1, gidx), "m_select_m1": m.select(1, -1),
        "m_slice": m[:, 1:3], "one_hot": F.one_hot(idx), "one_hot_5": F.one_hot(idx, 5),
    }
    tensors += [("r." + k, v) for k, v in results.items()]
    errors = {
        "b_sub_c": error_of(lambda: b - c),
        "neg_b": error_of(lambda: -b),
        "i_pow_neg": error_of(lambda: i ** -1),
        "argmax_b": error_of(lambda: b.argmax()),
    }
    write(w, "semantics_dtype", tensors, errors)


def mixed_grad_case(w):
    a = torch.tensor([1.5, -2.0, 0.25], dtype=torch.float32)
    b = torch.tensor([3.0, 0.5, -4.0], dtype=torch.float64)
    y, (ga, gb) = grads(torch.mul, a, b)
    s, (sa, sb) = grads(torch.add, a, b)
    write(w, "semantics_mixed_grad", [("a", a), ("b", b), ("mul", y), ("grad_mul_a", ga),
                                      ("grad_mul_b", gb), ("add", s), ("grad_add_a", sa),
                                      ("grad_add_b", sb)])


def main():
    args = make_fixtures.start(__doc__.split("\n\n")[0],
                               os.path.join(HERE, "..", "tests", "fixtures"))
    w = make_fixtures.Writer(args.out)
    nan_cases(w)
    pow_cases(w)
    reduce_cases(w)
    shape_cases(w)
    dtype_cases(w)
    mixed_grad_case(w)
    for name, size, digest in w.written:
        print(f"{size:7d}  {digest[:16]}  {name}")


if __name__ == "__main__":
    main()
