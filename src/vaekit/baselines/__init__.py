"""The lecture's contrasts, on the VAE's own networks: a plain autoencoder and a GAN.
Both train through `vaekit.train` (ModelConfig.kind "ae" or "gan"), write the same
checkpoints and pictures, and are compared with the VAE by sample quality (fid.py)."""

from .autoencoder import Autoencoder
from .gan import GAN

__all__ = ["Autoencoder", "GAN"]
