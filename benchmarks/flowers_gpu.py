"""Lesson 4 on a GPU: the course's full schedule, and a longer run of the residual classifier.

Lesson 4 trains on 2 CPU cores, so it reproduces the course's four variants on a reduced schedule.
When a GPU is at hand, this script runs what the CPU cannot afford, with the same ``aehelpers`` code:

1. each course variant on the course's own schedule: autoencoder 100 epochs, then encoder +
   classifier 60 epochs, batch 255, Adam 1e-3, train split only (1,020 images);
2. the residual autoencoder classifier of lesson 4 at 96 px, longer, with and without pretraining.

The images come from ``benchmarks/flowers_pack.py`` (100-px squares re-encoded as JPEG, to fit the
transfer to a lent machine). Results go to a JSON file that lesson 4 shows beside its own, labelled.

    python benchmarks/flowers_pack.py gpu_data/flowers100.pt
    python benchmarks/flowers_gpu.py --packed gpu_data/flowers100.pt --out benchmarks/results/flowers_gpu.json
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aehelpers as ae  # noqa: E402
from aehelpers.runtime import describe_machine  # noqa: E402
from aehelpers.augment import FlowerAugmenter, resize_for_eval  # noqa: E402
from aehelpers.classifiers import (  # noqa: E402
    CourseFlowerAutoencoder, CourseFlowerHead, EncoderClassifier, PooledHead, ResidualAutoencoder, predict_logits,
)
from aehelpers.data import flowers_to_float  # noqa: E402
from flowers_pack import unpack  # noqa: E402

COURSE_VARIANTS = {
    "base": dict(batch_norm=False, dropout=False, decoder="conv"),
    "+BatchNorm": dict(batch_norm=True, dropout=False, decoder="conv"),
    "+BatchNorm +Dropout": dict(batch_norm=True, dropout=True, decoder="conv"),
    "+Upsample decoder (nn.Upsample)": dict(batch_norm=True, dropout=True, decoder="upsample"),
    "+Upsample decoder (course's detached copy)": dict(batch_norm=True, dropout=True, decoder="upsample-detached"),
}


def top1(model, images, labels, flip_average=False) -> float:
    return ae.top1_accuracy(predict_logits(model, images, flip_average), labels.cpu()).item()


def course_variant(name, spec, train, val, test, pre_epochs, fine_epochs, device) -> dict:
    ae.set_seed(0)
    autoencoder = CourseFlowerAutoencoder(spec["batch_norm"], spec["decoder"])
    x_train, x_val, x_test = (flowers_to_float(s[0]) for s in (train, val, test))
    start = time.perf_counter()
    pre = ae.fit(autoencoder, x_train, x_val, num_epochs=pre_epochs, batch_size=255, lr=1e-3, device=device, progress=False)
    test_mse = ae.evaluate(autoencoder, x_test, x_test, batch_size=500)
    pretrained = copy.deepcopy(autoencoder)
    ae.set_seed(1)
    model = EncoderClassifier(autoencoder, CourseFlowerHead(spec["batch_norm"], spec["dropout"]))
    fine = ae.fit(model, x_train, x_val, labels=(train[1], val[1]), num_epochs=fine_epochs, batch_size=255,
                  lr=1e-3, recipe=ae.Recipe(loss_fn=F.cross_entropy), device=device, progress=False)
    last = top1(model, x_test, test[1].to(device))
    # A second fine-tuning from the same pretrained weights and seed, giving back the epoch the validation split
    # likes best. On a GPU it need not retrace the first run: its kernels are not bit-reproducible.
    ae.set_seed(1)
    model_best = EncoderClassifier(pretrained, CourseFlowerHead(spec["batch_norm"], spec["dropout"]))
    best = ae.fit(model_best, x_train, x_val, labels=(train[1], val[1]), num_epochs=fine_epochs, batch_size=255, lr=1e-3,
                  recipe=ae.Recipe(loss_fn=F.cross_entropy, keep_best=True), device=device, progress=False)
    result = {
        "test_top1_last_epoch": round(last, 2),
        "test_top1_val_best_epoch": round(top1(model_best, x_test, test[1].to(device)), 2),
        "val_best_epoch": best.best_epoch,
        "test_reconstruction_mse": round(test_mse, 5),
        "pretrain_val_mse": [round(v, 5) for v in pre.test_loss],
        "finetune": {k: [round(v, 4) for v in fine.as_dict()[k]] for k in ("train_loss", "test_loss", "train_accuracy", "test_accuracy")},
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(f"{name}: test top-1 {last:.1f}% after {fine_epochs} epochs, {result['test_top1_val_best_epoch']:.1f}% at the "
          f"validation-best epoch {best.best_epoch}; reconstruction MSE {test_mse:.4f} ({result['seconds']:.0f} s)", flush=True)
    return result


def residual_run(train, val, test, size, widths, pre_epochs, fine_epochs, device, pretrain: bool) -> dict:
    images = torch.cat([train[0], val[0]])
    labels = torch.cat([train[1], val[1]])
    x_test = resize_for_eval(test[0], size)
    ae.set_seed(0)
    autoencoder = ResidualAutoencoder(widths, size)
    start = time.perf_counter()
    if pretrain:
        ae.fit(autoencoder, images, None, num_epochs=pre_epochs, batch_size=64, lr=2e-3, device=device, progress=False,
               recipe=ae.Recipe(warmup_epochs=1, cosine=True, augment=FlowerAugmenter(size, jitter=0.0)))
    model = EncoderClassifier(autoencoder, PooledHead(widths[-1]))
    recipe = ae.Recipe(warmup_epochs=3, cosine=True, augment=FlowerAugmenter(size), weight_decay=5e-4,
                       loss_fn=functools.partial(F.cross_entropy, label_smoothing=0.1))
    history = ae.fit(model, images, None, labels=(labels, None), num_epochs=fine_epochs, batch_size=64, lr=2e-3,
                     recipe=recipe, device=device, progress=False)
    labels_test = test[1].to(device)
    result = {
        "pretrained": pretrain, "image_size": size, "widths": list(widths), "pretrain_epochs": pre_epochs if pretrain else 0,
        "finetune_epochs": fine_epochs, "parameters": ae.count_parameters(model),
        "test_top1": round(top1(model, x_test, labels_test), 2),
        "test_top1_flip_average": round(top1(model, x_test, labels_test, flip_average=True), 2),
        "train_accuracy": [round(v, 2) for v in history.train_accuracy],
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(f"residual {widths} at {size} px, pretrained={pretrain}: test top-1 {result['test_top1']:.1f}%, "
          f"with flips {result['test_top1_flip_average']:.1f}% ({result['seconds']:.0f} s)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packed", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="a few epochs on a few images: checks the script runs")
    parser.add_argument("--parts", default="course,residual")
    args = parser.parse_args()

    device = ae.get_device()
    torch.backends.cudnn.benchmark = True
    splits = {s: unpack(args.packed, s) for s in ("train", "val", "test")}
    if args.quick:
        splits = {s: (x[:64], y[:64]) for s, (x, y) in splits.items()}
    result = {
        "machine": describe_machine(device),
        "data": "Flowers-102 official splits; 100-px centre squares re-encoded as JPEG quality 90 (benchmarks/flowers_pack.py)",
        "quick": args.quick,
    }

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")

    if "course" in args.parts:
        pre, fine = (1, 1) if args.quick else (100, 60)
        result["course_full_schedule"] = {"pretrain_epochs": pre, "finetune_epochs": fine, "batch_size": 255, "lr": 1e-3, "variants": {}}
        for name, spec in COURSE_VARIANTS.items():
            result["course_full_schedule"]["variants"][name] = course_variant(name, spec, splits["train"], splits["val"], splits["test"], pre, fine, device)
            save()
    if "residual" in args.parts:
        size, widths = (32, (8, 16)) if args.quick else (96, (32, 64, 128, 256))
        pre, fine = (1, 2) if args.quick else (60, 200)
        result["residual"] = {}
        for pretrain in (True, False):
            result["residual"]["pretrained" if pretrain else "from_scratch"] = residual_run(
                splits["train"], splits["val"], splits["test"], size, widths, pre, fine, device, pretrain)
            save()
    save()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
