"""Principal component analysis as a linear autoencoder: the baseline every autoencoder must beat.

PCA encodes an image by projecting it (minus the mean image) onto ``k`` orthonormal directions,
the *components*, and decodes by adding those directions back up, weighted by the code. Among
all encoders and decoders that are linear, this pair has the smallest mean squared error
(Eckart-Young theorem), so it is exactly the best that an autoencoder without non-linearities
can do with a ``k``-value code.

Defined in lesson 5 (``notebooks/05_autoencoder_vs_pca.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PCA:
    """A fitted PCA: everything needed to encode and decode with any number of components.

    Attributes:
        mean: the mean image, flattened: shape (D,). PCA describes how images differ from it.
        components: orthonormal rows, strongest first: shape (n_components, D).
        explained_variance: the variance of the data along each component: shape (n_components,).
        image_shape: the shape of one image, e.g. (1, 28, 28), to reshape decoded vectors.
    """

    mean: torch.Tensor
    components: torch.Tensor
    explained_variance: torch.Tensor
    image_shape: tuple[int, ...]

    @property
    def n_components(self) -> int:
        return len(self.components)

    def _basis(self, k: int | None) -> torch.Tensor:
        k = self.n_components if k is None else k
        if not 1 <= k <= self.n_components:
            raise ValueError(f"k must be between 1 and {self.n_components} (the components fitted), got {k}.")
        return self.components[:k]

    def encode(self, images: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """Images ``(N, *image_shape)`` -> codes (N, k): the coordinates along the first ``k`` components."""
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(f"PCA was fitted on images of shape {self.image_shape}, got {tuple(images.shape[1:])}.")
        flat = images.flatten(1).to(self.mean.dtype) - self.mean
        return flat @ self._basis(k).T

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (N, k) -> images ``(N, *image_shape)``: the mean plus the weighted components.

        The output is not clipped to [0, 1]: PCA is linear, and clipping would make it something else.
        """
        flat = self.mean + codes @ self._basis(codes.shape[1])
        return flat.reshape(len(codes), *self.image_shape)

    def reconstruct(self, images: torch.Tensor, k: int | None = None, clip: bool = True) -> torch.Tensor:
        """Encode with ``k`` components and decode again.

        ``clip=True`` clips the pixels into [0, 1], where every image lives: it can only lower the
        error, and an autoencoder's sigmoid output gets that for free, so comparing against clipped
        PCA is the fair (and harder) baseline. ``clip=False`` gives the purely linear reconstruction.
        """
        reconstruction = self.decode(self.encode(images, k)).to(images.dtype)
        return reconstruction.clamp(0.0, 1.0) if clip else reconstruction


def fit_pca(images: torch.Tensor, n_components: int | None = None) -> PCA:
    """Fit PCA to a batch of images (N, C, H, W) via the eigenvectors of their covariance matrix.

    With N images of D pixels, the D x D covariance matrix is small (784 x 784 for MNIST) even when
    N is large, so ``torch.linalg.eigh`` on it is faster than an SVD of the N x D data. The sums run
    in float64: in float32 the small eigenvalues, and the exact reconstruction at full rank, would
    drown in rounding error.

    Args:
        images: the training images; the components are fitted on these only.
        n_components: how many components to keep (default: all D).
    """
    if images.dim() < 2 or len(images) < 2:
        raise ValueError(f"fit_pca needs a batch of at least two images (N, ...), got shape {tuple(images.shape)}.")
    flat = images.flatten(1).double()
    dims = flat.shape[1]
    n_components = dims if n_components is None else n_components
    if not 1 <= n_components <= dims:
        raise ValueError(f"n_components must be between 1 and {dims} (the pixels per image), got {n_components}.")
    mean = flat.mean(dim=0)
    centred = flat - mean
    covariance = centred.T @ centred / (len(flat) - 1)
    variances, vectors = torch.linalg.eigh(covariance)  # ascending order, columns are eigenvectors
    order = variances.argsort(descending=True)[:n_components]
    return PCA(
        mean=mean,
        components=vectors[:, order].T.contiguous(),
        explained_variance=variances[order].clamp_min(0.0),
        image_shape=tuple(images.shape[1:]),
    )


def subspace_overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """How much of the space spanned by the columns of ``a`` (D, k) lies in that spanned by ``b`` (D, k).

    The mean squared cosine of the principal angles between the two spaces: 1 when they are the same
    space (whatever the basis), 0 when they are at right angles. Why not compare the vectors one by one:
    a linear autoencoder finds PCA's space but mixes its directions, so no column need match any other.
    """
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"subspace_overlap needs two (D, k) matrices of one shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}. Fix: pass the k basis vectors of each space as columns.")
    basis_a, basis_b = torch.linalg.qr(a.double())[0], torch.linalg.qr(b.double())[0]
    return (torch.linalg.svdvals(basis_a.T @ basis_b) ** 2).mean().item()
