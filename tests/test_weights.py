"""Shipped weights: a full run ships them, the switch loads them, and nothing is ever overwritten by a loaded run."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

import aehelpers as ae
from aehelpers import checkpoints, results, weights
from aehelpers.runtime import set_seed

SMALL = dict(num_epochs=2, batch_size=64, lr=3e-3, progress=False, device="cpu")


@pytest.fixture()
def sandbox(tmp_path, monkeypatch):
    """Weights, manifest, checkpoints and results in a temporary folder; a fresh record of loaded files."""
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setattr(weights, "MANIFEST", tmp_path / "weights" / "manifest.json")
    monkeypatch.setattr(checkpoints, "CHECKPOINT_DIR", tmp_path / "checkpoints")
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(weights, "_loaded", set())
    monkeypatch.delenv(weights.TRAINED_ENV, raising=False)
    monkeypatch.delenv("AEHELPERS_QUICK", raising=False)
    monkeypatch.setenv("AEHELPERS_RECORD_RUN", "1")  # a maintainer's full run; a learner's is tested below
    return tmp_path


def new_model() -> ae.ConvAutoencoder:
    set_seed(0)
    return ae.ConvAutoencoder()


def test_a_full_run_ships_its_weights_and_the_switch_loads_them(sandbox, tiny_images):
    trained_model = new_model()
    history = ae.train_or_load("01_demo", trained_model, tiny_images, tiny_images[:64], trained=False, **SMALL)
    entry = weights.read_manifest()["01_demo"]
    path = sandbox / "weights" / "01_demo.pt"
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["run"]["epochs"] == 2 and entry["model"] == "ConvAutoencoder" and entry["headline"] is None
    torch.load(path, weights_only=True)  # plain tensors and numbers only

    loaded_model = ae.ConvAutoencoder()
    loaded = ae.train_or_load("01_demo", loaded_model, tiny_images, trained=True, **SMALL)
    assert loaded.test_loss == history.test_loss  # the curves of the run that made the weights
    assert all(torch.equal(a, b) for a, b in zip(trained_model.state_dict().values(), loaded_model.state_dict().values()))
    assert next(loaded_model.parameters()).device.type == "cpu"


def test_results_are_never_saved_by_a_run_that_loaded_weights(sandbox, tiny_images):
    ae.train_or_load("01_demo", new_model(), tiny_images, trained=False, **SMALL)
    assert ae.save_results("01_demo", {"test_mse": 0.5}, shipped={"01_demo": "test_mse"}) is not None
    assert weights.read_manifest()["01_demo"]["headline"]["value"] == 0.5
    stored = (sandbox / "results" / "01_demo.json").read_text()

    ae.load_lesson_model("01_demo", ae.ConvAutoencoder())  # another lesson's model: an input, not a result
    assert not weights.loaded_shipped_weights()
    ae.train_or_load("01_demo", ae.ConvAutoencoder(), tiny_images, trained=True)
    assert ae.save_results("01_demo", {"test_mse": 0.9}) is None
    assert (sandbox / "results" / "01_demo.json").read_text() == stored


def test_a_learners_full_run_writes_nothing_to_git(sandbox, tiny_images, monkeypatch):
    monkeypatch.delenv("AEHELPERS_RECORD_RUN")
    ae.train_or_load("01_demo", new_model(), tiny_images, tiny_images[:64], trained=False, **SMALL)
    ae.train_or_load_history("04b_demo", new_model(), tiny_images, trained=False, **SMALL)
    assert ae.save_results("01_demo", {"test_mse": 0.5}) is None
    assert not (sandbox / "weights").exists() and not (sandbox / "results").exists()


def test_quick_mode_ships_nothing(sandbox, tiny_images, monkeypatch):
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    ae.train_or_load("01_demo", new_model(), tiny_images, trained=False, **SMALL)
    assert not (sandbox / "weights" / "01_demo.pt").exists() and weights.read_manifest() == {}


def test_missing_weights_say_how_to_get_them(sandbox):
    with pytest.raises(FileNotFoundError, match="turn the trained-weights switch off"):
        ae.train_or_load("01_missing", ae.ConvAutoencoder(), torch.zeros(1, 1, 28, 28), trained=True)


def test_weights_of_another_model_are_refused(sandbox, tiny_images):
    ae.train_or_load("01_demo", new_model(), tiny_images, trained=False, **SMALL)
    with pytest.raises(ae.CheckpointError, match="different model"):
        ae.train_or_load("01_demo", ae.DenoisingAutoencoder(), tiny_images, trained=True)


def test_unshipped_models_keep_their_curves_and_the_switch_loads_only_those(sandbox, tiny_images):
    history = ae.train_or_load_history("04b_demo", new_model(), tiny_images, tiny_images[:64], trained=False, **SMALL)
    assert not (sandbox / "weights" / "04b_demo.pt").exists() and weights.read_manifest() == {}

    untouched = ae.ConvAutoencoder()
    before = [t.clone() for t in untouched.state_dict().values()]
    loaded = ae.train_or_load_history("04b_demo", untouched, tiny_images, trained=True)
    assert loaded.test_loss == history.test_loss and loaded.epochs == 2
    assert all(torch.equal(a, b) for a, b in zip(before, untouched.state_dict().values()))  # still untrained
    assert ae.save_results("04b_demo", {"x": 1}) is None  # a run that loaded curves trained nothing: saves nothing


def test_missing_curves_say_how_to_get_them(sandbox):
    with pytest.raises(FileNotFoundError, match="No stored learning curves .*turn the trained-weights switch off"):
        ae.train_or_load_history("04b_missing", ae.ConvAutoencoder(), torch.zeros(1, 1, 28, 28), trained=True)


def test_the_switch_and_the_environment_variable(monkeypatch):
    monkeypatch.delenv(weights.TRAINED_ENV, raising=False)
    assert not ae.use_trained_weights() and ae.use_trained_weights(True)
    monkeypatch.setenv(weights.TRAINED_ENV, "1")
    assert ae.use_trained_weights(False)


# The shipped files themselves (weights/ in the repository).

MANIFEST = json.loads(weights.MANIFEST.read_text()) if weights.MANIFEST.is_file() else {}


def test_every_shipped_file_is_in_the_manifest():
    files = sorted(p.name for p in weights.WEIGHTS_DIR.glob("*.pt")) if weights.WEIGHTS_DIR.is_dir() else []
    assert files == sorted(e["file"].removeprefix("weights/") for e in MANIFEST.values())
    # The size budgets (weights/ in all, a shallow clone) are checked by tests/test_budgets.py.


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_shipped_file_matches_its_manifest_entry(name):
    entry = MANIFEST[name]
    path = weights.REPO_ROOT / entry["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], (
        f"{entry['file']} changed since its full run wrote it: re-run {entry['lesson']} in full")
    torch.load(path, weights_only=True)


# The honesty test: each shipped model, loaded on the CPU and evaluated, gives the headline number stored
# in notebooks/results/*.json, to the stored precision. How each headline is measured (as its lesson does):


def mnist_test() -> torch.Tensor:
    return ae.load_mnist(train=False).images


def mse_on_test_set(model) -> float:
    return ae.reconstruction_scores(model, mnist_test())["mse"]


def denoised_psnr(model) -> float:
    noise = ae.load_results("02_denoising_autoencoder")["noise_factor"]
    clean = mnist_test()
    noisy = ae.add_noise(clean, noise, torch.Generator().manual_seed(1))  # lesson 2's test noise
    return ae.psnr_per_image(ae.predict(model, noisy), clean).mean().item()


HEADLINES = {
    "01_conv_autoencoder": (ae.ConvAutoencoder, mse_on_test_set),
    "02_course_denoiser": (ae.DenoisingAutoencoder, denoised_psnr),
    "02_skips": (lambda: ae.SkipDenoiser(width=16, skips=True), denoised_psnr),
    "03_upsample_196": (lambda: ae.UpsampleAutoencoder(code_channels=4), mse_on_test_set),
    "03_upsample_784": (lambda: ae.UpsampleAutoencoder(code_channels=16), mse_on_test_set),
    "03_upsample_twin": (ae.UpsampleTwinAutoencoder, mse_on_test_set),
    "05_shortcut_k32": (lambda: ae.PCAShortcutAutoencoder(32), mse_on_test_set),
    "05_shortcut_k196": (lambda: ae.PCAShortcutAutoencoder(196), mse_on_test_set),
}


def flowers_64(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from aehelpers.augment import resize_for_eval

    images = ae.load_flowers(split, size=80)  # lesson 4b's images: 80 px, resized whole to 64 for testing
    return resize_for_eval(images.images, 64), images.labels


def flowers_top1(model) -> float:
    from aehelpers.classifiers import predict_logits

    images, labels = flowers_64("test")
    return ae.top1_accuracy(predict_logits(model, images), labels).item()


def flowers_reconstruction_mse(model) -> float:
    images = flowers_64("val")[0][:255]
    return ae.evaluate(model, images, images)


def residual_autoencoder():
    from aehelpers.classifiers import ResidualAutoencoder

    return ResidualAutoencoder((16, 32, 64, 128), 64)


def residual_classifier():
    from aehelpers.classifiers import EncoderClassifier, PooledHead

    return EncoderClassifier(residual_autoencoder(), PooledHead(128))


HEADLINES.update({
    "04b_residual_autoencoder": (residual_autoencoder, flowers_reconstruction_mse),
    "04b_residual_classifier": (residual_classifier, flowers_top1),
})


def flowers_100_top1(model) -> float:
    from aehelpers.classifiers import predict_logits

    test = ae.load_flowers("test", size=100)  # lesson 4a's images: the course's 100x100 pixels, every test photo
    return ae.top1_accuracy(predict_logits(model, ae.flowers_to_float(test.images)), test.labels).item()


def course_classifier(batch_norm: bool, dropout: bool, decoder: str):
    from aehelpers.classifiers import CourseFlowerAutoencoder, CourseFlowerHead, EncoderClassifier

    return EncoderClassifier(CourseFlowerAutoencoder(batch_norm, decoder), CourseFlowerHead(batch_norm, dropout))


HEADLINES.update({
    "04a_classifier_base": (lambda: course_classifier(False, False, "conv"), flowers_100_top1),
    "04a_classifier_detached": (lambda: course_classifier(True, True, "upsample-detached"), flowers_100_top1),
})


def binary_mnist_test() -> torch.Tensor:
    return ae.binarize(mnist_test(), torch.Generator().manual_seed(1))  # lessons 6 and 7: binarised once, seed 1


def neg_elbo_on_test_set(model) -> float:
    return sum(ae.elbo_terms_per_image(model, binary_mnist_test(), seed=0)).mean().item()


def one_class_auroc(digit: int, vae: bool):
    # Lesson 7: the AUROC (%) of a model trained on one digit, scoring all 10,000 test images.
    def measure(model) -> float:
        labels = ae.load_mnist(train=False).labels
        if vae:
            scores = sum(ae.elbo_terms_per_image(model, binary_mnist_test(), seed=0))
        else:
            scores = ae.mse_per_image(ae.predict(model, mnist_test()), mnist_test())
        return 100 * ae.auroc(scores, labels != digit)
    return measure


HEADLINES["06_vae"] = (lambda: ae.VariationalAutoencoder(32), neg_elbo_on_test_set)
HEADLINES["06_vae_long"] = (lambda: ae.VariationalAutoencoder(32, width=64), neg_elbo_on_test_set)  # issue #29
for _digit in range(10):
    HEADLINES[f"07_autoencoder_{_digit}"] = (lambda: ae.BottleneckAutoencoder(16, width=8), one_class_auroc(_digit, False))
    HEADLINES[f"07_vae_{_digit}"] = (lambda: ae.VariationalAutoencoder(16, width=8), one_class_auroc(_digit, True))


def digit_classifier():
    model = ae.DigitClassifier()
    weights.load_lesson_model("08_digit_classifier", model)
    return model.eval()


def digit_accuracy(model) -> float:
    test = ae.load_mnist(train=False)
    return 100 * (ae.predict(model, test.images).argmax(1) == test.labels).float().mean().item()


def digit_sae_fve(sae) -> float:
    # Lesson 8: the SAE's rebuild of the shipped classifier's second hidden layer, on the test digits.
    with torch.no_grad():
        activations = digit_classifier().features(mnist_test())
        return ae.fraction_of_variance_explained(activations, sae(activations)[0])


def flowers_sae_fve(sae) -> float:
    # Lesson 8, part 2: the SAE's rebuild of lesson 4b's pooled features of every test photo.
    classifier = residual_classifier()
    weights.load_lesson_model("04b_residual_classifier", classifier)
    features = ae.predict(classifier.encoder, flowers_64("test")[0], batch_size=500).mean(dim=(2, 3))
    with torch.no_grad():
        return ae.fraction_of_variance_explained(features, sae(features)[0])


HEADLINES.update({
    "08_digit_classifier": (ae.DigitClassifier, digit_accuracy),
    "08_sae_topk16": (lambda: ae.SparseAutoencoder(64, 512, k=16), digit_sae_fve),
    "08_flowers_sae_topk16": (lambda: ae.SparseAutoencoder(128, 1024, k=16), flowers_sae_fve),
})


def vq_test_mse(model) -> float:
    # Lesson 9: the VQ-VAE's grey levels (sigmoid of its logits) against the test digits
    with torch.no_grad():
        return torch.nn.functional.mse_loss(torch.sigmoid(model(mnist_test())[0]), mnist_test()).item()


def prior_test_nats(prior) -> float:
    # Lesson 9: the prior's nats per test token grid, the grids made by the shipped VQ-VAE
    vq = ae.VQAutoencoder(64, 16, reseed_every=100)
    weights.load_lesson_model("09_vq_autoencoder", vq)
    tokens = torch.cat([vq.eval().encode(batch) for batch in mnist_test().split(2_000)]).flatten(1)
    return ae.evaluate(prior, tokens, tokens, ae.prior_loss)


HEADLINES.update({
    "09_vq_autoencoder": (lambda: ae.VQAutoencoder(64, 16, reseed_every=100), vq_test_mse),
    "09_token_prior": (lambda: ae.TokenPrior(64), prior_test_nats),
})


def decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 12


WITH_HEADLINE = sorted(name for name, entry in MANIFEST.items() if entry.get("headline"))


def test_every_headline_has_a_way_to_be_checked():
    assert set(WITH_HEADLINE) <= set(HEADLINES), "add the new shipped model's measurement to HEADLINES"


@pytest.mark.parametrize("name", WITH_HEADLINE)
def test_shipped_weights_give_the_stored_headline(name):
    entry = MANIFEST[name]
    build, measure = HEADLINES[name]
    headline = entry["headline"]
    stored = json.loads((weights.REPO_ROOT / headline["results"]).read_text())[headline["key"]]
    assert stored == headline["value"], f"{headline['results']} changed since {entry['file']} was shipped"
    model = build()
    weights.load_lesson_model(name, model)
    assert round(measure(model), decimals(stored)) == stored
