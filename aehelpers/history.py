"""What a training run measured, epoch by epoch.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``). Kept apart from the training loop so
that plots and checkpoints can read a history without importing the loop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class History:
    """What ``fit`` measured, one entry per finished epoch.

    ``train_loss`` and ``test_loss`` are averages per example (for MSE: per pixel), so numbers
    from different batch sizes compare directly; ``seconds`` is the wall-clock time spent training
    up to the end of each epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    interrupted: bool = False
    # Filled only for classifiers (``fit(..., labels=...)``): top-1 accuracy in percent.
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    # With ``Recipe(keep_best=True)``: the epoch (1-based) whose weights the model was given back.
    best_epoch: int | None = None
    # With ``Recipe(extra_scores=...)``: more held-out scores per epoch, by name.
    test_scores: dict[str, list[float]] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict:
        """Plain lists and numbers, which a checkpoint stores without pickling any class."""
        return asdict(self)

    def record_epoch(self, train_loss: float, train_accuracy: float, seconds: float,
                     held_out: dict[str, float] | None) -> None:
        """Append one finished epoch: its training loss (and accuracy, unless NaN), its time and held-out scores."""
        self.train_loss.append(train_loss)
        self.seconds.append((self.seconds[-1] if self.seconds else 0.0) + seconds)
        if train_accuracy == train_accuracy:  # NaN for an autoencoder, which has no accuracy
            self.train_accuracy.append(train_accuracy)
        if held_out is not None:
            self.test_loss.append(held_out["loss"])
            if "accuracy" in held_out:
                self.test_accuracy.append(held_out["accuracy"])
            for name in held_out.keys() - {"loss", "accuracy"}:
                self.test_scores.setdefault(name, []).append(held_out[name])

    def is_best_epoch(self) -> bool:
        """Whether the epoch just finished is the best so far on the held-out images.

        Accuracy decides when it is tracked (higher is better), else the loss; ties go to the later epoch.
        """
        if self.test_accuracy:
            return self.test_accuracy[-1] >= max(self.test_accuracy)
        return bool(self.test_loss) and self.test_loss[-1] <= min(self.test_loss)
