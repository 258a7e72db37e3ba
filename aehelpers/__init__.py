"""aehelpers: the shared code of the convolutional-autoencoder lessons, one module per role.

- ``runtime`` (quick mode, seed, device), ``paths`` (where things live), ``data`` (MNIST, Flowers-102);
- ``models`` (the autoencoders), ``classifiers`` and ``augment`` (lesson 4), ``pca`` (lesson 5);
- ``recipe`` (how a run trains), ``training`` (the loop, ``train_one_epoch``, and ``fit``), ``cuda_graphs`` (fit's GPU path),
  ``evaluation`` (predict, evaluate), ``history``, ``checkpoints``, ``weights`` (shipped trained weights);
- ``vae`` (lesson 6: the variational autoencoder), ``anomaly`` (lesson 7: AUROC, thresholds), ``sparse`` (lesson 8:
  sparse autoencoders, their losses, metrics and the purity and switch-off tests), ``vq`` (lesson 9: the
  vector-quantised autoencoder and the token prior);
- ``metrics``, ``plotting``, ``diagrams``, ``source`` (show_source), ``results`` (headline numbers as JSON);
- ``twins`` (lesson cells kept identical to the package), ``checks`` (the exercises' self-checks, a module per lesson);
- ``doctor``: ``python -m aehelpers.doctor`` says what is wrong with a set-up.
"""

try:
    from . import checks as checks  # ae.checks: the self-checks of the exercise notebooks
    from .anomaly import OneClassSplit, auroc, average_precision, one_class_split, roc_curve, threshold_for_false_alarms
    from .augment import FlowerAugmenter, colour_jitter, random_resized_crop, resize_for_eval
    from .checkpoints import CheckpointError, checkpoint_path, load_history, load_model, save_model
    from .classifiers import (
        CourseFlowerAutoencoder, CourseFlowerHead, DetachedUpsample, DigitClassifier, EncoderClassifier, PooledHead,
        ResidualAutoencoder, ResidualBlock, predict_logits,
    )
    from .data import (
        DATA_ENV, DataError, ImageSet, add_noise, data_root, flower_names, flowers_to_float, load_flowers, load_mnist,
    )
    from .diagrams import draw_architecture
    from .evaluation import evaluate, predict, top1_accuracy
    from .history import History
    from .metrics import (
        checkerboard_score, mse_per_image, psnr_per_image, reconstruction_scores, ssim_per_image, tile_error_map,
    )
    from .models import (
        Autoencoder, BottleneckAutoencoder, ConvAutoencoder, DenoisingAutoencoder, LinearAutoencoder,
        PCAShortcutAutoencoder, SkipDenoiser, UpsampleAutoencoder, UpsampleTwinAutoencoder, check_images,
        count_parameters, layer_shapes, print_layer_shapes, upsample_twin,
    )
    from .pca import PCA, fit_pca, subspace_overlap
    from .plotting import (
        PALETTE, integer_epochs, log_y_axis, plot_classifier_history, plot_history, set_style, show_image_rows,
        show_reconstructions, show_zoomed,
    )
    from .results import load_benchmark, load_results, save_results
    from .runtime import get_device, is_quick, set_seed
    from .source import show_source
    from .sparse import (
        SparseAutoencoder, auxk_loss, dead_fraction, fraction_of_variance_explained, keep_largest, l1_penalty,
        label_purity, mean_l0, normalise_decoder_, reconstruction_error, remove_latents, train_sae,
    )
    from .vae import (
        VAEOutput, VariationalAutoencoder, binarize, decode_to_probabilities, elbo_terms, elbo_terms_per_image,
        importance_weighted_nll, kl_nats, log_importance_weights, negative_elbo, reconstruction_nats, sample_images,
    )
    from .vq import (
        Quantized, TokenPrior, VectorQuantizer, VQAutoencoder, codebook_perplexity, prior_loss, sample_tokens, vq_loss,
    )
    from .training import Recipe, TrainingDiverged, batch_indices, fit, train_one_epoch, warmup_cosine
    from .weights import load_lesson_model, train_or_load, train_or_load_history, use_trained_weights
except ModuleNotFoundError as _missing:
    # A package is missing: `import aehelpers` still works, so `python -m aehelpers.doctor` can run and
    # say what is wrong; using any name that did not import raises the error with the fix.
    _MISSING = _missing

    def __getattr__(name: str):
        raise ModuleNotFoundError(
            f"aehelpers needs {_MISSING.name}, which is not installed. Fix: python -m pip install -r requirements.txt "
            "(then `python -m aehelpers.doctor` checks the whole set-up).", name=_MISSING.name
        ) from _MISSING

__version__ = "0.1.0"

__all__ = [
    "FlowerAugmenter", "colour_jitter", "random_resized_crop", "resize_for_eval", "CourseFlowerAutoencoder",
    "CourseFlowerHead", "DetachedUpsample", "DigitClassifier", "EncoderClassifier", "PooledHead", "ResidualAutoencoder", "ResidualBlock",
    "predict_logits",
    "CheckpointError", "checkpoint_path", "load_history", "load_model", "save_model",
    "DATA_ENV", "DataError", "ImageSet", "add_noise", "data_root", "flower_names", "flowers_to_float", "load_flowers",
    "load_mnist", "draw_architecture", "evaluate", "predict", "top1_accuracy", "History",
    "checkerboard_score", "mse_per_image", "psnr_per_image", "reconstruction_scores", "ssim_per_image", "tile_error_map",
    "Autoencoder", "BottleneckAutoencoder", "ConvAutoencoder", "DenoisingAutoencoder", "LinearAutoencoder",
    "PCAShortcutAutoencoder",
    "SkipDenoiser", "UpsampleAutoencoder", "UpsampleTwinAutoencoder", "upsample_twin", "check_images",
    "count_parameters", "layer_shapes", "print_layer_shapes",
    "PCA", "fit_pca", "subspace_overlap", "PALETTE", "integer_epochs", "log_y_axis", "plot_classifier_history",
    "plot_history", "set_style",
    "show_image_rows",
    "show_reconstructions", "show_zoomed", "load_benchmark", "load_results", "save_results", "get_device", "is_quick",
    "set_seed", "show_source", "SparseAutoencoder", "auxk_loss", "dead_fraction", "fraction_of_variance_explained",
    "keep_largest", "l1_penalty", "label_purity", "mean_l0", "normalise_decoder_", "reconstruction_error",
    "remove_latents", "train_sae", "Quantized", "TokenPrior", "VectorQuantizer", "VQAutoencoder",
    "codebook_perplexity", "prior_loss", "sample_tokens", "vq_loss", "Recipe", "TrainingDiverged", "batch_indices", "fit", "train_one_epoch",
    "warmup_cosine", "load_lesson_model",
    "train_or_load", "train_or_load_history", "use_trained_weights",
    "VAEOutput", "VariationalAutoencoder", "binarize", "decode_to_probabilities", "elbo_terms", "elbo_terms_per_image",
    "importance_weighted_nll", "kl_nats", "log_importance_weights", "negative_elbo", "reconstruction_nats", "sample_images",
    "OneClassSplit", "auroc", "average_precision", "one_class_split", "roc_curve", "threshold_for_false_alarms",
]
