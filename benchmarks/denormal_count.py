"""Count subnormal (denormal) float32 values in an IIC training run.

    python benchmarks/denormal_count.py --dataset mnist-test --n-samples 10000 --epochs 3

x86 CPUs compute slowly on subnormal floats (magnitude below
``torch.finfo(torch.float32).tiny`` = 1.18e-38). To test whether augmented
input puts subnormals into the network, this trains ``IICEstimator`` with its
default augmentations and with identity transforms and counts, over every
training step:

- the inputs and outputs of every module of the network, of the loss and
  of the augmenter (forward hooks), and the gradients arriving at each module's output
  (tensor hooks);
- every parameter's gradient and every optimiser state tensor (Adam's
  moment estimates) after each step.

(the network's own top-level hook fires in the labelling pass after fit, so
that pass is counted too). A control tensor holding one subnormal value is
counted by the same function after each run, to show that the process does
not flush subnormals to zero on read. Subnormals that exist only inside a
kernel (partial sums inside a convolution's or ``grid_sample``'s passes) and
inputs that an in-place ReLU overwrote before the hook read them are not
visible here.

Writes ``benchmarks/results/denormal_count_<dataset>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import collections

import torch
from _common import environment, environment_markdown, load_dataset, write_results
from skorch.callbacks import Callback

SMALLEST_NORMAL = torch.finfo(torch.float32).tiny


def count_subnormal(value) -> tuple[int, int]:
    """(subnormal entries, all entries) of a floating-point tensor; (0, 0) for anything else."""
    if not torch.is_tensor(value) or not value.is_floating_point():
        return 0, 0
    magnitude = value.detach().abs()
    return int(((magnitude > 0) & (magnitude < SMALLEST_NORMAL)).sum()), magnitude.numel()


def first_tensor(output):
    """The first tensor of a module's output (a tensor, a sequence, or a dict of them)."""
    if isinstance(output, dict):
        output = next(iter(output.values()))
    while isinstance(output, (tuple, list)):
        output = output[0]
    return output


class SubnormalCounter(Callback):
    """skorch callback that tallies subnormal values per location into ``self.counts``."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])

    def _add(self, location: str, value) -> None:
        subnormal, total = count_subnormal(value)
        self.counts[location][0] += subnormal
        self.counts[location][1] += total

    def on_train_begin(self, net, **kwargs):
        modules = list(net.module_.named_modules()) + [("loss", net.criterion_), ("augmenter", net.augmenter_)]
        for name, module in modules:
            module.register_forward_hook(self._forward_hook(name or "network"))

    def _forward_hook(self, name: str):
        def hook(module, inputs, output):
            for value in inputs:
                self._add(f"input of {name}", value)
            out = first_tensor(output)
            self._add(f"output of {name}", out)
            if torch.is_tensor(out) and out.requires_grad:
                out.register_hook(lambda grad: self._add(f"gradient at output of {name}", grad))

        return hook

    def on_batch_end(self, net, **kwargs):
        for name, parameter in net.module_.named_parameters():
            self._add(f"gradient of {name}", parameter.grad)
            for key, state in net.optimizer_.state.get(parameter, {}).items():
                self._add(f"optimizer {key} of {name}", state)


def count_run(X, augment: str, epochs: int) -> dict:
    from deepclust_sklearn import IICEstimator

    est = IICEstimator(
        n_clusters=10, augment=augment, max_epochs=epochs, random_state=0, callbacks=[SubnormalCounter()]
    ).fit(X)
    # the estimator trains on its own copy of the callbacks
    counter = next(cb for _, cb in est.net_.callbacks_ if isinstance(cb, SubnormalCounter))
    subnormal = sum(c[0] for c in counter.counts.values())
    checked = sum(c[1] for c in counter.counts.values())
    control = count_subnormal(torch.tensor([1e-40, 1.0], dtype=torch.float32))[0]
    worst = sorted(((c[0], location) for location, c in counter.counts.items() if c[0]), reverse=True)[:10]
    return {
        "augment": augment,
        "subnormal_values": subnormal,
        "values_checked": checked,
        "locations_checked": len(counter.counts),
        "worst_locations": worst,
        "control_subnormals_seen": control,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="mnist-test", choices=["digits", "mnist-test"])
    parser.add_argument("--n-samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    X, _ = load_dataset(args.dataset)
    X = X[: args.n_samples]
    rows = [count_run(X, augment, args.epochs) for augment in ("auto", "none")]
    for row in rows:
        print(row)
    env = environment()
    table = (
        "| augmentations | subnormal values | values checked | locations checked | control (1 expected) |\n"
        "| --- | --- | --- | --- | --- |\n"
    )
    table += "".join(
        f"| {'default' if r['augment'] == 'auto' else 'identity'} | {r['subnormal_values']:,} | "
        f"{r['values_checked']:,} | {r['locations_checked']} | {r['control_subnormals_seen']} |\n"
        for r in rows
    )
    markdown = (
        f"# Subnormal floats in IIC training, {args.dataset}\n\n"
        f"`python benchmarks/denormal_count.py --dataset {args.dataset} --n-samples {args.n_samples} "
        f"--epochs {args.epochs}`: module inputs, outputs and output gradients, parameter gradients and "
        "optimiser states, every training step.\n\n" + table + "\n" + environment_markdown(env)
    )
    write_results(
        f"denormal_count_{args.dataset}", {"environment": env, "settings": vars(args), "rows": rows}, markdown
    )


if __name__ == "__main__":
    main()
