"""aehelpers: the shared code of the convolutional-autoencoder lessons.

Modules by role: ``runtime`` (quick mode, seed, device), ``data`` (finding and loading data),
``models``, ``classifiers`` and ``augment`` (lesson 4), ``training`` (the loop and ``fit``), ``evaluation`` (predict, evaluate), ``history``, ``paths``, ``checkpoints``, ``metrics``,
``plotting``, ``diagrams``, ``results`` (headline numbers as JSON) and ``pca`` (PCA as a linear autoencoder).
"""

from .checkpoints import CheckpointError, checkpoint_path, load_history, load_model, save_model
from .data import DATA_ENV, DataError, ImageSet, add_noise, data_root, flower_names, flowers_to_float, load_flowers, load_mnist
from .diagrams import draw_architecture
from .metrics import checkerboard_score, mse_per_image, psnr_per_image, reconstruction_scores, ssim_per_image, tile_error_map
from .models import (
    Autoencoder, ConvAutoencoder, DenoisingAutoencoder, SkipDenoiser, UpsampleAutoencoder, check_images, count_parameters, layer_shapes, print_layer_shapes,
)
from .models import BottleneckAutoencoder, PCAShortcutAutoencoder
from .pca import PCA, fit_pca
from .plotting import PALETTE, plot_classifier_history, plot_history, set_style, show_image_rows, show_reconstructions, show_zoomed
from .results import load_benchmark, load_results, save_results
from .runtime import get_device, is_quick, set_seed
from .source import show_source
from .evaluation import evaluate, predict, top1_accuracy
from .history import History
from .training import Recipe, TrainingDiverged, fit, train_one_epoch

__version__ = "0.1.0"

__all__ = [
    "flower_names", "load_benchmark", "load_results", "PALETTE", "plot_classifier_history", "show_source", "load_history", "Recipe", "train_one_epoch", "flowers_to_float", "load_flowers", "top1_accuracy",
    "BottleneckAutoencoder", "PCA", "PCAShortcutAutoencoder", "fit_pca",
    "Autoencoder", "CheckpointError", "ConvAutoencoder", "DenoisingAutoencoder", "SkipDenoiser", "UpsampleAutoencoder", "checkpoint_path", "DATA_ENV", "DataError", "History", "ImageSet", "TrainingDiverged",
    "add_noise", "check_images", "checkerboard_score", "count_parameters", "data_root", "draw_architecture", "evaluate", "fit",
    "get_device", "is_quick", "layer_shapes", "load_mnist", "load_model", "mse_per_image", "plot_history",
    "predict", "print_layer_shapes", "psnr_per_image", "reconstruction_scores", "save_model", "save_results",
    "set_seed", "set_style", "ssim_per_image", "show_image_rows", "show_reconstructions", "show_zoomed", "tile_error_map",
]
