"""Free bits (Kingma et al. 2016) in a whole run, on a model that collapses without them. (The
floor and its gradient: test_objectives.py; the groups of each latent family: latents/.)"""

import torch

import vaekit
from vaekit.objectives import kl_groups, kl_layers


def unit_kls(result):
    model = result.model.eval()
    with torch.no_grad():
        q = model.posterior(result.splits.valid)
        return kl_groups(q, model.prior(), kl_layers(q, model.prior())).mean(0)


def test_free_bits_keep_every_unit_near_its_floor_where_training_collapses(tmp_path):
    """A KL weight of 4 collapses all 8 units; a floor of 0.5 nats keeps each of them near it.
    Below the floor a group gets no KL gradient, and above it the weight 4 pushes it back, so
    a group hovers just under its floor (0.39-0.47 here at 40 epochs), not above it."""
    def run(free_bits):
        config = vaekit.TrainConfig(model=vaekit.ModelConfig(latent={"name": "gaussian",
                                                                     "dim": 8}),
                                    epochs=30, beta=4.0, free_bits=free_bits, threads=1)
        return vaekit.train(config, tmp_path / str(free_bits), progress=False, final_eval=False)
    collapsed, floored = unit_kls(run(0.0)), unit_kls(run(0.5))
    assert (collapsed < 0.01).all(), collapsed
    assert (floored > 0.3).all() and floored.mean() > 0.35, floored
