"""Run folders of checkpoint format version 1 (one flat ModelConfig over flattened [N, D] data)
load as they are: their configuration is translated here, and their weights fit the new
modules unchanged.
"""

from __future__ import annotations


def _latent(m: dict) -> dict:
    if m["latent"] == "hierarchical":
        return {"name": "hierarchical", "dims": [m["latent_dim"], *m["upper_dims"]],
                "q_hidden": m["q_upper_hidden"], "p_hidden": m["p_upper_hidden"],
                "activation": m["activation"], "decoder_sees": m["decoder_sees"],
                "path": m["posterior_path"]}
    if m["latent"] == "categorical":
        return {"name": "categorical", "vars": m["categorical_vars"],
                "classes": m["categorical_classes"], "tau": m["tau"], "tau_min": m["tau_min"],
                "anneal_rate": m["anneal_rate"], "anneal_every": m["anneal_every"],
                "straight_through": m["straight_through"]}
    return {"name": m["latent"], "dim": m["latent_dim"]}


def _inference(m: dict, mstep_steps: int) -> dict:
    if m["inference"] == "semi":
        return {"name": "semi", "refine_steps": m["refine_steps"], "lr": m["local_lr"]}
    if m["inference"] == "vem":
        return {"name": "vem", "lr": m["local_lr"], "max_iter": m["estep_max_iter"],
                "tol": m["estep_tol"], "mstep_steps": mstep_steps}
    return {"name": m["inference"]}


def convert_v1(config: dict) -> tuple[dict, list[int]]:
    """(a version-2 TrainConfig dict, the example shape) from a version-1 config dict."""
    config = dict(config)
    m = config.pop("model")
    likelihood = ({"name": "gaussian", "min_std": m["min_std"],
                   "variance": m["gaussian_variance"]} if m["likelihood"] == "gaussian"
                  else {"name": m["likelihood"]})
    model = {"kind": m["model_type"], "latent": _latent(m), "likelihood": likelihood,
             "network": {"name": "mlp", "encoder_hidden": m["encoder_hidden"],
                         "decoder_hidden": m["decoder_hidden"], "activation": m["activation"]},
             "inference": _inference(m, config.pop("mstep_steps", 1))}
    shape = [1, *m["image_shape"]] if m.get("image_shape") else [m["x_dim"]]
    return {**config, "model": model}, shape


# settings added to version 2 after runs were saved with it, and the value that rebuilds those
# runs' models: (axis, component, key) -> value. A saved config lacking the key predates it.
ADDED = {("latent", "topdown", "top"): "pooled", ("network", "topdown", "top"): "pooled",
         ("network", "topdown", "stem"): "single", ("latent", "topdown", "stem_stride"): 1,
         ("network", "topdown", "stem_stride"): 1}


def fill_added(config: dict) -> dict:
    """A saved version-2 config with every setting that was added after it was written set to
    the value its model was built with."""
    model = dict(config.get("model", {}))
    for (axis, name, key), value in ADDED.items():
        part = model.get(axis)
        if isinstance(part, dict) and part.get("name") == name and key not in part:
            model[axis] = {**part, key: value}
    return {**config, "model": model}
