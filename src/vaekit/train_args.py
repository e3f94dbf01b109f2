"""The options of `vaekit train`, grouped as its --help shows them.

Every option defaults to None here, so that the command knows which ones were given: those
override the configuration file (--config) or, without one, the defaults of TrainConfig,
DataConfig and each component's spec, which the help states.
"""

from __future__ import annotations

import argparse
import math


def ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def finite(text: str) -> float:
    """A float that is a number: 'inf' and 'nan' are refused where a finite one is meant."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _run_options(p) -> None:
    p.add_argument("--config", metavar="FILE.toml",
                   help="settings from a TOML file (every run writes its own as "
                        "RUN/config.toml); options given here override it")
    p.add_argument("--print-config", action="store_true",
                   help="print the configuration these options give, as TOML, and exit")
    p.add_argument("--dataset",
                   help="digits (default; scikit-learn's 8x8) | photo-patches (colour 32x32) | "
                        "fashion-mnist | mnist | cifar10 | path to .npy/.npz | folder of "
                        "PNG/JPEG images")
    p.add_argument("--name", help="run name under --runs (default: <dataset>-<time>)")
    p.add_argument("--runs", default="runs", help="folder for runs (default: runs)")
    p.add_argument("--resume", metavar="RUN",
                   help="continue the run in this folder; only --epochs, --lr, the evaluation, "
                        "fault, logging and device options may change")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is off anyway when stderr is not a terminal)")


def _latent_options(m) -> None:
    m.add_argument("--model", choices=("vae", "ae", "gan", "gaussian", "hierarchical",
                                       "categorical", "joint"),
                   help="vae (default) | ae (plain autoencoder: no KL, no ELBO) | gan, on the "
                        "same networks; a latent family's name here means a VAE with it")
    m.add_argument("--latent", help="latent family of a VAE: gaussian (default; z = mu + sigma "
                   "eps) | hierarchical (p(x|z1) p(z1|z2) p(z2)) | categorical (discrete, "
                   "trained with the Gumbel-softmax relaxation) | joint (a class y and a "
                   "Gaussian style z: p(x|y,z), q(y|x) q(z|x,y); M2 with --labels)")
    m.add_argument("--latent-dim", type=int, help="latent size (default 50; z_1 of a hierarchy, "
                   "100)")
    m.add_argument("--latent-dims", type=ints, metavar="D1,D2,...",
                   help="hierarchical: sizes of z_1..z_L (default 100,50: Burda et al.)")
    m.add_argument("--q-upper-hidden", type=ints, metavar="H1,...",
                   help="hierarchical: hidden sizes of each q(z_l+1|z_l) (default 100,100)")
    m.add_argument("--p-upper-hidden", type=ints, metavar="H1,...",
                   help="hierarchical: hidden sizes of each p(z_l|z_l+1) (default 100,100)")
    m.add_argument("--decoder-sees", choices=("z1", "all"),
                   help="hierarchical: p(x|z_1) or p(x|z_1..z_L) (default z1)")
    m.add_argument("--posterior-path", choices=("bottom-up", "top-down"),
                   help="hierarchical: inference order (default bottom-up; top-down = ladder)")
    m.add_argument("--classes", type=int, help="joint: classes K of y (default 10)")
    m.add_argument("--discrete", choices=("exact", "relaxed"),
                   help="joint: y summed out exactly in training (default; K decoder passes) "
                        "or one Gumbel-softmax sample (evaluation always sums exactly)")
    m.add_argument("--categorical-vars", type=int, help="categorical: variables N (default 20)")
    m.add_argument("--categorical-classes", type=int, help="categorical: classes K (default 10)")
    m.add_argument("--straight-through", action="store_true", default=None,
                   help="categorical: hard one-hot forward, relaxed gradient backward "
                        "(default off)")
    m.add_argument("--tau", type=finite, help="categorical: initial Gumbel-softmax "
                   "temperature (default 1.0); joint: its temperature (default 0.67)")
    m.add_argument("--tau-min", type=finite, help="categorical: final temperature (default 0.5)")
    m.add_argument("--anneal-rate", type=finite,
                   help="categorical: tau = max(tau_min, tau exp(-rate step)) (default 3e-5)")
    m.add_argument("--anneal-every", type=int, help="categorical: steps per update (default 500)")


def _likelihood_options(m) -> None:
    m.add_argument("--likelihood", help="p(x|z): bernoulli | gaussian (mean and variance from "
                   "the decoder) | dlogistic-mix (PixelCNN++'s discretized logistic mixture) | "
                   "dgaussian (discretized Gaussian) (default: bernoulli for grey images, "
                   "gaussian for colour)")
    m.add_argument("--mixtures", type=int, help="dlogistic-mix: components M (default 10)")
    m.add_argument("--min-scale", type=finite,
                   help="dlogistic-mix, dgaussian: scale floor in levels (default 0.05)")
    m.add_argument("--min-std", type=finite, help="gaussian: sigma floor (default 1e-3)")
    m.add_argument("--gaussian-variance", choices=("decoder", "pixel", "shared"),
                   help="gaussian: variance from the decoder (default), one per pixel, or one "
                        "shared")


def _network_options(p) -> None:
    n = p.add_argument_group("networks")
    n.add_argument("--network", help="mlp (default; Burda et al.'s sizes) | conv (strided "
                   "convolutions, DCGAN-like) | resnet (residual blocks)")
    n.add_argument("--encoder-hidden", type=ints, metavar="H1,H2,...",
                   help="mlp: encoder hidden sizes (default 200,200)")
    n.add_argument("--decoder-hidden", type=ints, metavar="H1,H2,...",
                   help="mlp: decoder hidden sizes (default 200,200)")
    n.add_argument("--channels", type=ints, metavar="C1,C2,...",
                   help="conv, resnet: widths, one per halving of the image (default 32,64)")
    n.add_argument("--blocks", type=int, help="resnet: residual blocks per stage (default 1)")
    n.add_argument("--activation", help="default tanh (mlp, hierarchical), leaky_relu (conv, "
                   "resnet)")


VEM_COST = ("an epoch costs about 100 to 180 times an amortized one on digits: "
            "bench/vem_cost.py")


def _inference_options(p) -> None:
    i = p.add_argument_group("inference: how q(z|x) is found")
    i.add_argument("--inference", help="amortized (default: an encoder gives q's parameters "
                   "for every x) | vem (variational EM: no encoder; each example's q optimized "
                   f"in an E-step, then an M-step on the decoder; {VEM_COST}) | semi "
                   "(semi-amortized: encoder, then refinement steps)")
    i.add_argument("--refine-steps", type=int, help="semi: refinement steps S (default 5)")
    i.add_argument("--local-lr", type=finite, help="semi, vem: Adam step on q (default 0.02)")
    i.add_argument("--mstep-steps", type=int,
                   help="vem: optimizer steps on the decoder per E-step (default 1)")
    i.add_argument("--estep-max-iter", type=int, help="vem: E-step iteration cap (default 300)")
    i.add_argument("--estep-tol", type=finite,
                   help="vem: relative ELBO rise per window that counts as progress "
                        "(default 1e-3)")


def _objective_options(p) -> None:
    o = p.add_argument_group("objective and optimization")
    o.add_argument("--objective", help="VAEs: elbo (default; E_q[log p(x|z)] - KL(q || p)) | "
                   "iwae (the k-sample importance-weighted bound, tighter than the ELBO)")
    o.add_argument("--k", type=int, help="VAEs: samples for the iwae objective (default 1)")
    o.add_argument("--beta", type=finite, help="VAEs: KL weight (default 1: the ELBO)")
    o.add_argument("--warmup-epochs", type=finite,
                   help="VAEs: KL weight rising linearly from 0 over this many epochs "
                        "(default 0); against posterior collapse")
    o.add_argument("--free-bits", type=finite, metavar="NATS",
                   help="VAEs: free bits, a KL floor per latent group in nats (Kingma et "
                        "al. 2016: each unit's, each categorical variable's or each layer's KL "
                        "counts as at least this in the loss) (default 0: off); against "
                        "posterior collapse")
    o.add_argument("--alpha", type=finite, help="with --labels: weight of log q(y|x) on each "
                   "labelled example (default 0.1 x the number of labels: Kingma et al.'s "
                   "0.1 N per example)")
    o.add_argument("--epochs", type=int, help="passes over the training data (default 300 on "
                   "digits, 100 otherwise)")
    o.add_argument("--batch-size", type=int, help="examples per optimizer step (default 128)")
    o.add_argument("--lr", type=finite, help="Adam step size (default 1e-3)")
    o.add_argument("--lr-schedule", help="constant (default) | cosine | exponential")
    o.add_argument("--lr-decay", type=finite,
                   help="exponential schedule: factor per epoch (default 0.99)")
    o.add_argument("--seed", type=int, help="seeds the initial weights, the batches and the "
                   "validation split (default 0)")
    o.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    o.add_argument("--precision", help="float32 (default) | bfloat16 | float16: the training "
                   "step's matrix products in that type (float32 weights, optimizer and "
                   "evaluation; float16 with a loss scale)")
    o.add_argument("--device", help="auto (default: CUDA, else MPS, else CPU) | cpu | cuda | "
                                    "cuda:N | mps; on --resume, where to continue")
    o.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the networks (default off; pays on GPUs, see README)")


def _run_management_options(p) -> None:
    f = p.add_argument_group("faults and logging")
    f.add_argument("--keep-checkpoints", type=int,
                   help="training checkpoints kept, one per epoch (default 3)")
    f.add_argument("--nan-patience", type=int,
                   help="non-finite steps in a row before rolling back (default 10)")
    f.add_argument("--max-rollbacks", type=int,
                   help="rollbacks, each halving the learning rate, before giving up (default 3)")
    f.add_argument("--logger", choices=("jsonl", "tensorboard"),
                   help="jsonl (default: metrics.jsonl only) | tensorboard (also TensorBoard "
                        "event files in the run folder: tensorboard --logdir runs)")
    f.add_argument("--image-every", type=int,
                   help="tensorboard: samples and reconstructions every N epochs (default 10)")
    d = p.add_argument_group("data and evaluation")
    d.add_argument("--image-size", type=int, help="image folders: centre-crop and resize every "
                   "image to S x S (default: the images' own size, which must agree)")
    d.add_argument("--bits", type=int, help="8-bit data: keep the top B bits (2^B levels), "
                   "e.g. 5 for 32 levels (default 8: all)")
    d.add_argument("--labels", type=int, metavar="N", help="semi-supervised (M2, with --latent "
                   "joint): keep the labels of N training examples, balanced over classes; "
                   "the rest are unlabelled (default: none, unsupervised)")
    d.add_argument("--preprocess", help="auto (default: what the likelihood needs) | binarize | "
                   "dequantize | none")
    d.add_argument("--valid-fraction", type=finite,
                   help="of the training data, held out for validation (default 0.1)")
    d.add_argument("--eval-k", type=int, help="importance samples for the test log p(x) "
                   "(default 5000)")
    d.add_argument("--eval-n", type=int, help="test images for log p(x) (default 1000; 0 = all)")


def add_options(p) -> None:
    _run_options(p)
    m = p.add_argument_group("model: p(z), p(x|z)")
    _latent_options(m)
    _likelihood_options(m)
    _network_options(p)
    _inference_options(p)
    _objective_options(p)
    _run_management_options(p)


# options that are TrainConfig's and DataConfig's fields, by their names there
TRAINING = ("objective", "k", "beta", "warmup_epochs", "free_bits", "alpha", "epochs", "batch_size", "lr",
            "lr_schedule", "lr_decay", "seed", "threads", "precision", "device", "compile",
            "keep_checkpoints", "nan_patience", "max_rollbacks", "logger", "image_every",
            "eval_k", "eval_n")
DATA = ("dataset", "preprocess", "valid_fraction", "seed", "image_size", "bits", "labels")
