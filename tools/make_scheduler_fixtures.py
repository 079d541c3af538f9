#!/usr/bin/env python3
"""torch.optim.lr_scheduler's learning rates, step by step, for tests/test_scheduler.cpp.

Regenerate (Debian 12: apt-get install python3-torch):

    /usr/bin/python3 tools/make_scheduler_fixtures.py            # writes tests/fixtures/
    /usr/bin/python3 tools/make_scheduler_fixtures.py --out DIR

Byte-reproducible like tools/make_fixtures.py, whose safetensors writer and optimizer
settings it uses. Each case drives a torch optimizer with a torch scheduler in
PyTorch's order (construct the scheduler, then per step: zero_grad, backward,
optimizer.step(), scheduler.step()) on

    loss = ½ Σ (θ − c)²,   θ0 = (1.5, −0.5),  c = (1, −2)        (float64)

and writes sched_<case>_f64.safetensors with

    lr      [steps + 1]  get_last_lr()[0] after the constructor and after each step:
                         lr[k] is the lr optimizer step k + 1 uses
    theta0  [2], theta [steps, 2]  θ before training and after each optimizer step

A "groups" case splits θ into the parameters θ[0:1] and θ[1:2], one per parameter
group (the optimizer's settings say each group's lr and decay), and its lr is
[steps + 1, 2]: get_last_lr() whole, one column per group.

Its "__metadata__" holds the optimizer's settings (as tools/make_fixtures.py writes
them), "steps", and the scheduler: "scheduler" is "lambda" (with "lambda" naming one
of LAMBDAS below, which the C++ test defines again), "noam", "step" or
"warmup_cosine", with that scheduler's settings.

Cases (PyTorch's schedulers, and minigrad's scheduler the C++ test compares with):
  lambda_exponential_sgd   LambdaLR(0.9^t), SGD momentum            nn::LambdaLR
  lambda_warmup_adam       LambdaLR(min(1, (t+1)/4)), Adam          nn::LambdaLR
  noam_adam                LambdaLR(rate(t, d=16, factor=1, w=4)) on Adam(lr=1,
                           betas=(0.9, 0.98), eps=1e-9): the Annotated Transformer
                                                                    nn::NoamLR(16, 4)
  noam_sgd_base_half       the same λ with d=8, w=3 on SGD(lr=0.5)  nn::NoamLR(8, 3)
  step_sgd                 StepLR(step_size=3, gamma=0.5), SGD      nn::StepLR
  step_adam                StepLR(step_size=2, gamma=0.1), Adam     nn::StepLR
  warmup_cosine_adam       SequentialLR([LinearLR(1/3, 1, total_iters=2),
                           CosineAnnealingLR(T_max=7, eta_min=0.002)], milestones=[3])
                                                                    nn::WarmupCosineLR(10, w=3)
  cosine_sgd               CosineAnnealingLR(T_max=8), SGD momentum nn::WarmupCosineLR(8, w=0)
  lambda_groups_adamw      LambdaLR(0.9^t), AdamW with two groups: base lrs 0.1 (decay
                           0.1) and 0.04 (decay 0)                  nn::LambdaLR
  warmup_cosine_groups_adamw  the SequentialLR of warmup_cosine_adam (T=10, w=3,
                           eta_min=0.002) on the same two groups    nn::WarmupCosineLR(10, w=3)
The warm-up + cosine cases stop at T: past it minigrad holds eta_min, where
CosineAnnealingLR would climb back.
"""

import os
import warnings

import make_fixtures  # noqa: E402  (sets OPENBLAS_CORETYPE before torch loads)

import torch  # noqa: E402
from torch.optim import lr_scheduler  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# SequentialLR starts its second scheduler with step(0), PyTorch's own deprecated
# call, which warns on every run; the fixture is PyTorch's documented use all the same.
warnings.filterwarnings("ignore", message="The epoch parameter", category=UserWarning)


def rate(step, model_size, factor, warmup):
    """The Annotated Transformer's learning rate (harvardnlp, 2022 edition)."""
    if step == 0:
        step = 1
    return factor * (model_size ** (-0.5) * min(step ** (-0.5), step * warmup ** (-1.5)))


# The λ of each "lambda" case, by name; tests/test_scheduler.cpp writes the same ones.
LAMBDAS = {
    "exponential": lambda t: 0.9 ** t,
    "linear_warmup": lambda t: min(1.0, (t + 1) / 4),
}


def drive(w, case, optimizer, make_scheduler, settings, steps):
    theta0 = torch.tensor([1.5, -0.5], dtype=torch.float64)
    c = torch.tensor([1.0, -2.0], dtype=torch.float64)
    grouped = "groups" in optimizer
    params = ([t.clone().requires_grad_(True) for t in theta0.split(1)] if grouped
              else [theta0.clone().requires_grad_(True)])
    opt = make_fixtures.torch_optimizer(params, optimizer)
    sched = make_scheduler(opt)

    def last_lr():
        return sched.get_last_lr() if grouped else sched.get_last_lr()[0]

    lrs, thetas = [last_lr()], []
    for _ in range(steps):
        opt.zero_grad()
        theta = torch.cat(params) if grouped else params[0]
        (0.5 * ((theta - c) ** 2).sum()).backward()
        opt.step()
        sched.step()
        lrs.append(last_lr())
        thetas.append(torch.cat(params).detach().clone())
    tensors = [("lr", torch.tensor(lrs, dtype=torch.float64)), ("theta0", theta0),
               ("theta", torch.stack(thetas))]
    metadata = {"case": "sched_" + case, "dtype": "f64", "torch": torch.__version__,
                "generator": "tools/make_scheduler_fixtures.py", "steps": str(steps)}
    metadata.update({k: str(v) for k, v in make_fixtures.optimizer_metadata(optimizer).items()})
    metadata.update({k: v if isinstance(v, str) else repr(v) for k, v in settings.items()})
    w.write_file(f"sched_{case}_f64.safetensors", tensors, metadata)


def main():
    args = make_fixtures.start(__doc__.split("\n\n")[0], os.path.join(HERE, "..", "tests",
                                                                      "fixtures"))
    w = make_fixtures.Writer(args.out)
    sgd_momentum = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}
    adam = {"optimizer": "adam", "lr": 0.05}

    for case, name, optimizer in (("lambda_exponential_sgd", "exponential", sgd_momentum),
                                  ("lambda_warmup_adam", "linear_warmup", adam)):
        drive(w, case, optimizer, lambda o, name=name: lr_scheduler.LambdaLR(o, LAMBDAS[name]),
              {"scheduler": "lambda", "lambda": name}, 12)

    for case, optimizer, d, warmup in (
            ("noam_adam", {"optimizer": "adam", "lr": 1.0, "betas": (0.9, 0.98), "eps": 1e-9},
             16, 4),
            ("noam_sgd_base_half", {"optimizer": "sgd", "lr": 0.5}, 8, 3)):
        drive(w, case, optimizer,
              lambda o, d=d, warmup=warmup: lr_scheduler.LambdaLR(
                  o, lambda t: rate(t, d, 1, warmup)),
              {"scheduler": "noam", "d_model": d, "warmup_steps": warmup}, 12)

    for case, optimizer, size, gamma in (("step_sgd", {"optimizer": "sgd", "lr": 0.1}, 3, 0.5),
                                         ("step_adam", adam, 2, 0.1)):
        drive(w, case, optimizer,
              lambda o, size=size, gamma=gamma: lr_scheduler.StepLR(o, size, gamma),
              {"scheduler": "step", "step_size": size, "gamma": gamma}, 12)

    total, warmup, eta_min = 10, 3, 0.002

    def warmup_cosine(o):
        return lr_scheduler.SequentialLR(
            o, [lr_scheduler.LinearLR(o, start_factor=1 / warmup, end_factor=1.0,
                                      total_iters=warmup - 1),
                lr_scheduler.CosineAnnealingLR(o, T_max=total - warmup, eta_min=eta_min)],
            milestones=[warmup])
    warmup_cosine_settings = {"scheduler": "warmup_cosine", "total_steps": total,
                              "warmup_steps": warmup, "eta_min": eta_min}
    drive(w, "warmup_cosine_adam", adam, warmup_cosine, warmup_cosine_settings, total)
    drive(w, "cosine_sgd", sgd_momentum,
          lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=8),
          {"scheduler": "warmup_cosine", "total_steps": 8, "warmup_steps": 0, "eta_min": 0.0}, 8)

    # nanoGPT's two groups: decay on one, none on the other, and here two base lrs.
    groups = {"optimizer": "adamw", "lr": 0.1, "weight_decay": 0.1,
              "groups": [{"size": 1}, {"size": 1, "lr": 0.04, "weight_decay": 0.0}]}
    drive(w, "lambda_groups_adamw", groups,
          lambda o: lr_scheduler.LambdaLR(o, LAMBDAS["exponential"]),
          {"scheduler": "lambda", "lambda": "exponential"}, 12)
    drive(w, "warmup_cosine_groups_adamw", groups, warmup_cosine, warmup_cosine_settings, total)

    make_fixtures.print_written(w, args.out)


if __name__ == "__main__":
    main()
