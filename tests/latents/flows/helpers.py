"""What the flow tests share: log|det J| by autograd, and a density's integral on a grid."""

import torch
from torch.autograd.functional import jacobian


def autograd_log_det(step, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """J = dy/dx of one example x [1, D] through `step`, and log|det J|."""
    J = jacobian(lambda v: step.forward_and_log_det(v.unsqueeze(0))[0].squeeze(0), x[0])
    return J, torch.linalg.slogdet(J).logabsdet


def grid_integral(q, half_width: float = 9.0, n: int = 601) -> float:
    """sum exp(log q(z)) dz over a square n x n grid [-w, w]^2 (q over 2-D z, one example):
    log q by the inverse of every step, as at any point not drawn from q."""
    v = torch.linspace(-half_width, half_width, n)
    z = torch.stack(torch.meshgrid(v, v, indexing="ij"), -1).reshape(-1, 1, 2)   # [n^2, 1, 2]
    with torch.no_grad():
        density = q.log_prob(z).exp().sum()
    return (density * (v[1] - v[0]) ** 2).item()
