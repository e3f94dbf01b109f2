"""The deep top-down hierarchy (latents/topdown.py): its ELBO written out by hand for one group,
its per-group KLs against the joint KL, log p(x) against the exact marginal of a linear-Gaussian
instance, the remembered pass against a fresh one, per-group active units, checkpoints, the
update skip, the command line and its one-line refusals."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.functional import jacobian
from torch.distributions import MultivariateNormal, Normal

import vaekit
from vaekit import ModelConfig, build_model, checkpoint, elbo, evaluate, log_likelihood
from vaekit.networks.blocks import resize, resolutions
from vaekit.objectives import kl_groups
from conftest import answer


def topdown(shape=(1, 8, 8), groups=(1,), width=4, channels=1, likelihood="bernoulli", seed=0,
            stride=1, top="dense", stem="staged"):
    torch.manual_seed(seed)
    config = ModelConfig(latent={"name": "topdown", "width": width, "latent_channels": channels,
                                 "groups": groups, "stem_stride": stride, "top": top},
                         network={"name": "topdown", "stem_stride": stride, "top": top,
                                  "stem": stem},
                         likelihood=likelihood)
    return build_model(config, shape)


def binary(shape, n=5, seed=1):
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed)).round()


def test_resolutions_halve_to_at_least_four_then_one():
    assert resolutions(28, 28) == [(28, 28), (14, 14), (7, 7), (1, 1)]
    assert resolutions(32, 32) == [(32, 32), (16, 16), (8, 8), (4, 4), (1, 1)]
    assert resolutions(8, 8) == [(8, 8), (4, 4), (1, 1)]
    assert resolutions(2, 2) == [(2, 2), (1, 1)]


@pytest.mark.parametrize("top", ["dense", "pooled"])
def test_one_group_elbo_is_the_one_layer_vae_written_out(float64, top):
    """One group at 4x4 (none at 1x1): the ELBO is log p(x|z) - KL(q(z|x) || p(z)) with
    q = N(mu_q(h, a), s_q^2), p = N(mu_p(h), s_p^2) and h the state the biases give: the 1x1
    bias laid over 4x4 by a linear map (dense) or repeated (pooled), plus the 4x4 bias."""
    model = topdown((1, 4, 4), groups=(0, 1), top=top)
    lat, group = model.latent, model.latent.groups[0]
    with torch.no_grad():                      # a prior that is not N(0, I), a state that
        for p in [*group.prior_head.parameters(), *lat.bias]:      # is not zero
            p.normal_(0, 0.3)
    x = binary((1, 4, 4))
    torch.manual_seed(5)
    e = elbo(x, model.posterior(x), model.prior(), model.observation)

    a = model.encoder(x)[:, 4:].reshape(-1, 4, 4, 4)           # the 4x4 activation, after 1x1's
    if top == "dense":
        spread = lat.spread.linear
        h = (spread.weight @ lat.bias[0].flatten() + spread.bias).reshape(4, 4, 4)
        h = (h + lat.bias[1]).expand(len(x), 4, 4, 4)
    else:
        h = lat.bias[0].expand(len(x), 4, 1, 1)
        h = F.interpolate(h, size=(4, 4), mode="nearest") + lat.bias[1]
    loc_p, pre_p, feature = group.prior_head(h).split([1, 1, 4], 1)
    loc_q, pre_q = group.posterior_head(torch.cat([h, a], 1)).chunk(2, 1)
    s_p = F.softplus(pre_p + math.log(math.e - 1)) + 1e-5
    s_q = F.softplus(pre_q + math.log(math.e - 1)) + 1e-5
    kl = (torch.log(s_p / s_q) + (s_q ** 2 + (loc_q - loc_p) ** 2) / (2 * s_p ** 2) - 0.5)
    torch.manual_seed(5)
    z = Normal(loc_q, s_q).rsample()                           # the same draw of eps
    state = group.block(h + feature + group.project(z))
    logits = model.decoder(state.flatten(1))
    log_lik = (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum((1, 2, 3))
    torch.testing.assert_close(e.kl, kl.sum((1, 2, 3)))
    torch.testing.assert_close(e.log_lik, log_lik)
    torch.testing.assert_close(e.elbo, log_lik - kl.sum((1, 2, 3)))
    assert e.kl_layers.shape == (len(x), 1)


def test_group_kls_average_to_the_joint_kl(float64):
    """sum_i KL(q(z_i|x, z_<i) || p(z_i|z_<i)) at z ~ q has the joint KL's expectation,
    E_q[log q(z|x) - log p(z)], whose integrand runs the path again with z given."""
    model = topdown(groups=(1, 1, 1), seed=2)
    with torch.no_grad():
        for group in model.latent.groups:
            for p in group.prior_head.parameters():
                p.normal_(0, 0.3)
    x = binary((1, 8, 8), n=2)
    q, prior = model.posterior(x), model.prior()
    with torch.no_grad():
        z = q.sample((3000,))                                  # [S, B, Z]
        layers = q.kl_layers(prior, z)                         # [S, B, G]
        joint = q.log_prob(z.clone()) - prior.log_prob(z.clone())    # a fresh pass, no memo
    assert layers.shape == (3000, 2, 3) and (layers >= 0).all()
    diff = layers.sum(-1) - joint
    se = diff.std(0) / math.sqrt(len(diff))
    assert (diff.mean(0).abs() < 4 * se + 1e-9).all(), (diff.mean(0), se)
    # the top group has no z_<i: its KL is the same at every draw
    torch.testing.assert_close(layers[..., 0], layers[:1, :, 0].expand(3000, 2))


def test_the_remembered_pass_is_the_pass_run_again_with_z_given(float64):
    model = topdown(groups=(1, 2, 1), seed=3)
    x = binary((1, 8, 8))
    q, prior = model.posterior(x), model.prior()
    z = q.rsample((2,))
    for f in (q.log_prob, prior.log_prob, model.latent.decoder_input):
        torch.testing.assert_close(f(z), f(z.clone()))
    zp = prior.rsample((3,))
    torch.testing.assert_close(prior.log_prob(zp), prior.log_prob(zp.clone()))
    # q's parts of a pass are only q's: another posterior's log q at the same z runs its own
    other = model.posterior(binary((1, 8, 8), seed=9))
    torch.testing.assert_close(other.log_prob(z), other.log_prob(z.clone()))


class _Linear(nn.Module):
    def forward(self, x):
        return x


def linear_gaussian():
    """A linear instance: every GELU an identity, p's scales constant (their weights zero),
    a Gaussian likelihood with one shared variance. Images 1x2x2: z_1 at 1x1, z_2 at 2x2."""
    model = topdown((1, 2, 2), groups=(1, 1), likelihood={"name": "gaussian",
                                                          "variance": "shared"}, seed=4)
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.GELU):
                setattr(module, name, _Linear())
    with torch.no_grad():
        for group in model.latent.groups:
            last = group.prior_head.branch[-1]
            last.weight.normal_(0, 0.5)
            last.bias.normal_(0, 0.5)
            last.weight[1].zero_()                     # p's pre-scale: a constant
            q_last = group.posterior_head.branch[-1]   # q broad: its scale 1.5 everywhere
            q_last.weight[1].zero_()
            q_last.bias[1] = math.log(math.expm1(1.5)) - math.log(math.e - 1)
    return model


def exact_log_px(model, x):
    """log N(x; J m + b, J S J^T + sigma^2 I): z = m + (I - B)^-1 s eps, B = d loc_p / dz."""
    lat = model.latent
    z0 = torch.zeros(lat.z_size)

    def locs(z):
        run = lat.descend(1, given=lat.split(z))
        return torch.cat([p.base_dist.loc.flatten() for p in run.p])

    def scales(z):
        run = lat.descend(1, given=lat.split(z))
        return torch.cat([p.base_dist.scale.flatten() for p in run.p])

    def mean_x(z):
        return model.observation(z).mean.flatten()

    B = jacobian(locs, z0)
    assert torch.equal(B, B.tril(-1))                  # p(z_i | z_<i): the past only
    torch.testing.assert_close(scales(z0), scales(torch.randn(lat.z_size)))
    A = torch.linalg.inv(torch.eye(lat.z_size) - B)
    m, S = A @ locs(z0), A @ torch.diag(scales(z0) ** 2) @ A.T
    J = jacobian(mean_x, z0)
    zr = torch.randn(lat.z_size)                       # the model is affine in z
    torch.testing.assert_close(mean_x(zr), mean_x(z0) + J @ zr)
    sigma = model.observation(z0).base_dist.scale.flatten()
    cov = J @ S @ J.T + torch.diag(sigma ** 2)
    return MultivariateNormal(mean_x(z0) + J @ m, cov).log_prob(x.flatten(1))


def test_log_px_matches_the_exact_marginal_of_a_linear_gaussian_instance(float64):
    model = linear_gaussian().eval()
    x = torch.rand(3, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    with torch.no_grad():
        exact = exact_log_px(model, x)
        ll = log_likelihood(model, x, k=20000)
        e = elbo(x, model.posterior(x), model.prior(), model.observation, n=200,
                 reparameterized=False).elbo                  # one pass over 200 draws
    assert (ll.per_example - exact).abs().max() < 4 * ll.mc_se.max() + 1e-3, (ll.per_example, exact)
    assert (e < exact).all()                     # q is not the posterior: a strict gap


def test_importance_sampled_log_px_is_above_the_elbo(float64):
    model = topdown(groups=(1,), seed=6).eval()
    x = binary((1, 8, 8), n=8)
    torch.manual_seed(0)
    out = evaluate(model, x, k=200)
    assert out["log_px"] >= out["elbo"] - 4 * out["elbo_se"]
    assert out["latent_dims"] == [1, 16, 64] and len(out["active_units_layers"]) == 3
    assert out["kl"] == pytest.approx(sum(out["kl_layers"]))


def test_active_units_are_counted_per_group(float64):
    """A group whose q ignores x (and the groups above) has none active; the others, whose
    q's heads are turned up (at initialization q hardly depends on x), do."""
    model = topdown(groups=(1, 1, 1), seed=7).eval()
    with torch.no_grad():
        for i, scale in enumerate((300.0, 0.0, 300.0)):        # q(z_2): a constant
            model.latent.groups[i].posterior_head.branch[-1].weight.mul_(scale)
    x = binary((1, 8, 8), n=40)
    out = evaluate(model, x, k=5)
    active = out["active_units_layers"]
    assert active[1] == 0 and active[2] > 0 and out["active_units"] == sum(active)


def test_the_kl_per_resolution_sums_each_resolutions_groups(float64):
    """Groups (1, 2, 1) at 1x1, 4x4, 8x8: the 4x4 figure is its two groups' KLs added; the
    resolutions together are the whole KL."""
    model = topdown(groups=(1, 2, 1), seed=4).eval()
    out = evaluate(model, binary((1, 8, 8), n=10), k=3)
    kl = out["kl_layers"]
    assert model.latent.layer_levels() == ["1x1", "4x4", "4x4", "8x8"]
    assert list(out["kl_resolutions"]) == ["1x1", "4x4", "8x8"]
    assert out["kl_resolutions"]["4x4"] == pytest.approx(kl[1] + kl[2])
    assert sum(out["kl_resolutions"].values()) == pytest.approx(out["kl"])
    assert "kl_resolutions" not in evaluate(vaekit.build_model(ModelConfig(), (1, 8, 8)),
                                            binary((1, 8, 8), n=4), k=2)


def test_free_bits_floor_each_group(float64):
    model = topdown(groups=(1, 2, 1))
    x = binary((1, 8, 8))
    q, prior = model.posterior(x), model.prior()
    e = elbo(x, q, prior, model.observation)
    torch.testing.assert_close(kl_groups(q, prior, e.kl_layers), e.kl_layers)
    assert e.kl_layers.shape == (5, 4)


def test_prior_temperature_scales_the_top_groups_spread():
    model = topdown(groups=(1, 1, 1))
    with torch.no_grad():
        z = model.latent.prior(temperature=0.5).sample((4000,))
    top = z[:, :1]                                     # p(z_1) = N(0, 1) at initialization
    assert top.std().item() == pytest.approx(0.5, rel=0.06)
    assert model.sample(3).shape == (3, 1, 8, 8)


def test_checkpoint_round_trip_gives_the_same_elbo(tmp_path, float64):
    model = topdown(groups=(1, 1, 1), seed=8).eval()
    config = vaekit.TrainConfig(model=model.config)
    checkpoint.save(tmp_path / "ck", model, config, epoch=1, step=1)
    loaded, _ = vaekit.load_model(tmp_path / "ck")
    x = binary((1, 8, 8))
    values = []
    for m in (model, loaded.double()):
        torch.manual_seed(0)
        with torch.no_grad():
            values.append(elbo(x, m.posterior(x), m.prior(), m.observation).elbo)
    torch.testing.assert_close(values[0], values[1])


def test_update_skip_is_counted_and_the_cli_trains_and_evaluates(tmp_path, monkeypatch, capsys):
    """--grad-skip below every gradient norm skips all 11 steps of the digits' epoch: the
    weights stay those at the start, and metrics.jsonl says so; then evaluate reads the run."""
    args = ["train", "--dataset", "digits", "--latent", "topdown", "--stem-stride", "1",
            "--width", "4", "--latent-channels", "1", "--groups", "1", "--epochs", "1",
            "--eval-k", "5", "--eval-n", "5", "--threads", "1", "--no-progress",
            "--runs", str(tmp_path), "--name", "r"]
    code, err = answer(args + ["--grad-skip", "1e-9"], None, monkeypatch, capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[0])
    assert record["norm_skipped_steps"] == record["step"] == 11
    assert len(record["valid_kl_layers"]) == len(record["valid_active_units_layers"]) == 3
    assert list(record["valid_kl_resolutions"]) == ["1x1", "4x4", "8x8"]     # one group each
    assert list(record["valid_kl_resolutions"].values()) == record["valid_kl_layers"]
    trained, _ = vaekit.load_model(tmp_path / "r")
    torch.manual_seed(0)                               # the run's seed: its initial weights
    fresh = build_model(trained.config, (1, 8, 8))
    assert all(torch.equal(a, b) for a, b in zip(trained.state_dict().values(),
                                                 fresh.state_dict().values()))
    from vaekit.cli import main
    assert main(["evaluate", str(tmp_path / "r"), "--k", "5", "--n", "5"]) == 0
    assert "kl_resolutions" in capsys.readouterr().out


@pytest.mark.parametrize("options, says", [
    (["--network", "conv"], "drop --network conv (its own is topdown)"),
    (["--network", "topdown", "--inference", "semi"], "amortized inference only"),
    (["--network", "topdown", "--groups", "1,2,3"], "have 2 resolutions (1x1, 2x2) behind "
                                                   "--stem-stride 4"),
    (["--stem-stride", "1", "--groups", "1,2"], "have 3 resolutions (1x1, 4x4, 8x8)"),
])
def test_refusals_are_one_line(tmp_path, monkeypatch, capsys, options, says):
    args = ["train", "--dataset", "digits", "--latent", "topdown", *options, "--epochs", "1",
            "--runs", str(tmp_path)]
    code, err = answer(args, None, monkeypatch, capsys)
    assert code != 0 and says in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_the_topdown_latent_brings_its_network(tmp_path, monkeypatch, capsys):
    assert ModelConfig(latent="topdown").validate().network.name == "topdown"
    assert ModelConfig().validate().network.name == "mlp"
    # its network's own options apply without --network topdown
    args = ["train", "--dataset", "digits", "--latent", "topdown", "--stem", "single",
            "--width", "4", "--epochs", "1", "--runs", str(tmp_path), "--name", "s"]
    code, err = answer(args, None, monkeypatch, capsys)
    assert code == 0, err
    assert 'stem = "single"' in (tmp_path / "s" / "config.toml").read_text()


def test_the_topdown_network_goes_with_the_topdown_latent_only():
    with pytest.raises(vaekit.VaekitError, match="--network topdown is the encoder"):
        build_model(ModelConfig(network="topdown"), (1, 8, 8))
    with pytest.raises(vaekit.VaekitError, match="needs images"):
        build_model(ModelConfig(latent="topdown", network="topdown"), (12,))


def test_resize_pools_down_and_repeats_up():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert resize(x, (1, 1)).item() == pytest.approx(7.5)
    torch.testing.assert_close(resize(resize(x, (2, 2)), (4, 4))[0, 0, :2, :2],
                               torch.full((2, 2), 2.5))


@pytest.mark.parametrize("side, size", [(28, (14, 14)), (14, (7, 7)), (7, (1, 1)), (8, (4, 4))])
def test_the_quick_poolings_are_adaptive_average_pooling(side, size):
    x = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(resize(x, size), F.adaptive_avg_pool2d(x, size))


@pytest.mark.parametrize("stride, levels", [(1, [(1, 1), (7, 7), (14, 14), (28, 28)]),
                                            (2, [(1, 1), (7, 7), (14, 14)]),
                                            (4, [(1, 1), (7, 7)])])
@pytest.mark.parametrize("stem", ["staged", "single"])
def test_the_stem_stride_moves_the_groups_to_coarser_resolutions(stride, levels, stem):
    """28x28 behind a stem of stride S: the groups at 28/S and below; the encoder keeps W
    channels at each of them; the head gives the likelihood's parameters at 28x28 (staged:
    log2 S transposed convolutions of stride 2, single: one), and with one group the
    one-group ELBO is still log p(x|z) - KL at the same draw."""
    model = topdown((1, 28, 28), groups=(1,), stride=stride, stem=stem)
    assert model.latent.levels == levels
    steps = [m.stride for m in model.decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert steps == ([] if stride == 1 else [(2, 2)] * (stride.bit_length() - 1)
                     if stem == "staged" else [(stride, stride)])
    x = binary((1, 28, 28), n=3)
    assert model.encoder(x).shape == (3, 4 * sum(h * w for h, w in levels))
    q = model.posterior(x)
    z = q.rsample()
    assert z.shape == (3, sum(h * w for h, w in levels))
    p_x = model.observation(z)
    assert p_x.batch_shape == (3,) and p_x.event_shape == (1, 28, 28)
    e = elbo(x, q, model.prior(), model.observation)
    assert torch.isfinite(e.elbo).all() and e.kl_layers.shape == (3, len(levels))


def test_the_stem_stride_is_one_option_for_both_halves(tmp_path, monkeypatch, capsys):
    config = ModelConfig(latent={"name": "topdown", "stem_stride": 2}).validate()
    assert config.network.stem_stride == 2       # the network it brings has its stride
    with pytest.raises(vaekit.VaekitError, match="differ: give one --stem-stride"):
        ModelConfig(latent={"name": "topdown", "stem_stride": 2}, network="topdown").validate()
    with pytest.raises(vaekit.VaekitError, match="power of two"):
        ModelConfig(latent={"name": "topdown", "stem_stride": 3}).validate()
    with pytest.raises(vaekit.VaekitError, match="does not divide the images' 8x8"):
        build_model(ModelConfig(latent={"name": "topdown", "stem_stride": 16}), (1, 8, 8))
    args = ["train", "--dataset", "digits", "--latent", "topdown", "--stem-stride", "2",
            "--groups", "1", "--epochs", "1", "--runs", str(tmp_path), "--name", "s2"]
    code, err = answer(args, None, monkeypatch, capsys)
    assert code == 0, err
    saved = (tmp_path / "s2" / "config.toml").read_text()
    assert saved.count("stem_stride = 2") == 2            # the latent's and the network's
    assert saved.count('top = "dense"') == 2


def test_top_is_one_option_for_both_halves():
    config = ModelConfig(latent={"name": "topdown", "top": "pooled"}).validate()
    assert config.network.top == "pooled"
    with pytest.raises(vaekit.VaekitError, match="differ: give one --top"):
        ModelConfig(latent={"name": "topdown", "top": "pooled"}, network="topdown").validate()
    with pytest.raises(vaekit.VaekitError, match="top must be one of"):
        ModelConfig(latent={"name": "topdown", "top": "wide"}).validate()


@pytest.mark.parametrize("top", ["dense", "pooled"])
def test_a_dense_top_sees_where_and_a_pooled_one_only_what(top):
    """The model's 1x1 activation of x (dense: a linear map of the 4x4 level; pooled: its mean)
    when the 4x4 level's positions are shuffled: the mean is unchanged, the map is not. And the
    top-down state laid over 4x4 from a state at 1x1: repeated, every position holds the same."""
    model = topdown((1, 8, 8), groups=(1, 1, 1), top=top, seed=2)
    enc, lat = model.encoder, model.latent
    order = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    enc.stages[1].register_forward_hook(                 # shuffle the 4x4 level's output
        lambda module, inputs, out: out.flatten(2)[..., order].reshape(out.shape))
    x = binary((1, 8, 8), n=2)
    with torch.no_grad():
        shuffled = enc(x)[:, :4]                         # the 1x1 activation, coarsest first
        enc.stages[1]._forward_hooks.clear()
        plain = enc(x)[:, :4]
    assert torch.allclose(plain, shuffled, atol=1e-6) == (top == "pooled")
    seen = []                                            # the state the 4x4 group reads
    lat.groups[1].prior_head.register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0]))
    with torch.no_grad():
        lat.descend(2, draw=lambda d: d.mean)
        laid = seen[0] - lat.bias[1]                     # the 1x1 state laid over 4x4
    uniform = torch.allclose(laid, laid[..., :1, :1].expand_as(laid), atol=1e-6)
    assert uniform == (top == "pooled")
@pytest.mark.parametrize("objective, k, m", [("iwae", 3, 1), ("piwae", 2, 2)])
def test_importance_weighted_objectives_train_it(objective, k, m):
    from vaekit.training import loss_and_terms
    model = topdown(groups=(1, 1, 1))
    config = vaekit.TrainConfig(model=model.config, objective=objective, k=k, m=m)
    x = binary((1, 8, 8))
    loss, values = loss_and_terms(model, x, model.encode(x), config, beta=1.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(values).all()
    assert all(p.grad is not None for p in model.latent.groups[-1].posterior_head.parameters())


def _tiny_run(**kw) -> vaekit.TrainConfig:
    model = ModelConfig(latent={"name": "topdown", "width": 4, "latent_channels": 1,
                                "groups": (1, 1, 1), "stem_stride": 1},
                        network={"name": "topdown", "stem_stride": 1})
    return vaekit.TrainConfig(model=model, data=vaekit.DataConfig("digits"), batch_size=128,
                              eval_k=5, eval_n=5, threads=1, **kw)


def _newest_weights(run_dir):
    from vaekit.runs import Run
    model, _ = vaekit.load_model(Run(run_dir).checkpoints()[0])
    return model.state_dict()


def test_a_resumed_run_ends_with_the_uninterrupted_runs_weights(tmp_path):
    """Two epochs in one go, and one epoch then a resumed second: the same weights bit for bit
    (the optimizer's moments, the batches' and the noise's generators are in the checkpoint)."""
    vaekit.train(_tiny_run(epochs=2), tmp_path / "whole", progress=False, final_eval=False)
    vaekit.train(_tiny_run(epochs=1), tmp_path / "parts", progress=False, final_eval=False)
    vaekit.train(None, tmp_path / "parts", resume=True, epochs=2, progress=False,
                 final_eval=False)
    whole, parts = _newest_weights(tmp_path / "whole"), _newest_weights(tmp_path / "parts")
    assert all(torch.equal(whole[k], parts[k]) for k in whole)
    assert any(not torch.equal(whole[k], v) for k, v in
               build_model(_tiny_run().model, (1, 8, 8)).state_dict().items())   # it trained


def test_under_bfloat16_the_loss_is_the_float32_loss_and_the_densities_stay_float32():
    from vaekit.training import autocast, loss_fn
    config = _tiny_run(precision="bfloat16")
    torch.manual_seed(0)
    model = build_model(config.model, (1, 8, 8))
    x = binary((1, 8, 8), n=64)
    losses = {}
    for precision in ("float32", "bfloat16"):
        config.precision = precision
        torch.manual_seed(1)
        with autocast(config):
            loss, values, _ = loss_fn(model, x, config, beta=1.0)
            q = model.posterior(x)
            z = q.rsample()
            kls = q.kl_layers(model.prior(), z)
        assert loss.dtype == kls.dtype == torch.float32
        losses[precision] = loss.item()
    assert losses["bfloat16"] == pytest.approx(losses["float32"], rel=2e-2)
    assert losses["bfloat16"] != losses["float32"]


def test_two_processes_train_it_under_torchrun(tmp_path):
    """Data-parallel (gloo, 2 processes): every parameter gets its gradient (DDP refuses a
    parameter that none reaches), rank 0 alone writes the run."""
    from test_distributed import torchrun
    r = torchrun("-m", "vaekit", "train", "--latent", "topdown", "--width", "4",
                 "--latent-channels", "1", "--groups", "1", "--epochs", "1", "--eval-k", "5",
                 "--eval-n", "5", "--threads", "1", "--name", "r", "--runs", str(tmp_path),
                 "--no-progress")
    assert r.stdout.count("test ELBO") == 1
    assert (tmp_path / "r" / "checkpoints" / "epoch-000001").is_dir()
