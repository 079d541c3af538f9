#!/usr/bin/env python3
"""The filtered scores of sampling (temperature, top-k, top-p), for tests/test_decode.cpp.

Regenerate (Debian 12: apt-get install python3-torch):

    /usr/bin/python3 tools/make_sampling_fixtures.py            # writes tests/fixtures/
    /usr/bin/python3 tools/make_sampling_fixtures.py --out DIR

Byte-reproducible like tools/make_fixtures.py, whose safetensors writer it uses. Each
case filters float64 scores [N, V] the way the two references do, in their order:

    z = scores / temperature                                    (both)
    v, _ = torch.topk(z, min(k, V)); z[z < v[:, [-1]]] = -inf    (nanoGPT's generate)
    Hugging Face's TopPLogitsWarper: sort z ascending, q = softmax of the sorted row,
    remove the tokens whose ascending running sum of q is <= 1 - top_p, except the
    last (likeliest) one

and writes sample_<case>_f64.safetensors with

    scores    [N, V]  the input
    filtered  [N, V]  z with -inf at the removed tokens (nn::filter_logits' result)

Its "__metadata__" holds "temperature", "top_k" (0: off) and "top_p" (1: off).
Top-k cases have many tied scores (ties with the k-th are kept, whatever the order);
top-p cases have none: Hugging Face orders equal scores by torch.sort, which is not
stable, so which of two tied tokens at the nucleus' edge stays is not defined there.

Cases:
  temperature        T = 0.7, no filter
  top_k_ties         scores in {-2, ..., 2}, k = 3, T = 1
  top_k_one          scores in {-2, ..., 2}, k = 1, T = 0.5
  top_p              normal scores, p = 0.9, T = 1
  top_p_small        normal scores, p = 0.05 (mostly the likeliest token alone)
  top_p_hot          normal scores, p = 0.6, T = 1.7
  all                normal scores, T = 0.8, k = 12, p = 0.7
"""

import os

import make_fixtures  # noqa: E402  (sets OPENBLAS_CORETYPE before torch loads)

import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def filtered(scores, temperature, top_k, top_p):
    z = scores / temperature
    if top_k > 0:
        v, _ = torch.topk(z, min(top_k, z.size(-1)))
        z[z < v[:, [-1]]] = -float("inf")
    if top_p < 1:
        ascending, order = torch.sort(z, descending=False)
        running = ascending.softmax(dim=-1).cumsum(dim=-1)
        remove = running <= 1 - top_p
        remove[..., -1:] = False
        z = z.masked_fill(remove.scatter(1, order, remove), -float("inf"))
    return z


def case(w, name, scores, temperature=1.0, top_k=0, top_p=1.0):
    tensors = [("scores", scores), ("filtered", filtered(scores.clone(), temperature, top_k,
                                                          top_p))]
    metadata = {"case": "sample_" + name, "dtype": "f64", "torch": torch.__version__,
                "generator": "tools/make_sampling_fixtures.py", "temperature": repr(temperature),
                "top_k": str(top_k), "top_p": repr(top_p)}
    w.write_file(f"sample_{name}_f64.safetensors", tensors, metadata)


def main():
    args = make_fixtures.start(__doc__.split("\n\n")[0], os.path.join(HERE, "..", "tests",
                                                                      "fixtures"))
    w = make_fixtures.Writer(args.out)

    def ties(name):
        make_fixtures.seed_for(name)
        return torch.randint(-2, 3, (8, 10)).to(torch.float64)

    def normal(name):
        make_fixtures.seed_for(name)
        return 2 * make_fixtures.randn(8, 40)

    case(w, "temperature", normal("temperature"), temperature=0.7)
    case(w, "top_k_ties", ties("top_k_ties"), top_k=3)
    case(w, "top_k_one", ties("top_k_one"), temperature=0.5, top_k=1)
    case(w, "top_p", normal("top_p"), top_p=0.9)
    case(w, "top_p_small", normal("top_p_small"), top_p=0.05)
    case(w, "top_p_hot", normal("top_p_hot"), temperature=1.7, top_p=0.6)
    case(w, "all", normal("all"), temperature=0.8, top_k=12, top_p=0.7)

    w.print_summary()

if __name__ == "__main__":
    main()
