"""gradmedic.model.data: built-in datasets against sklearn, normalizations against seed 002 §7.6 with
statistics from the training split only (seed 000), CSV loading and its errors."""

import numpy as np
import pytest
import torch
from sklearn import datasets as skd

from gradmedic import spec as S
from gradmedic.errors import SpecError
from gradmedic.model import data


def load(image=False, **kw):
    return data.load(S.DataSpec(**kw), image=image)


def write_csv(tmp_path, lines, name="d.csv"):
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n")
    return str(f)


# -- built-in datasets ------------------------------------------------------------------------------
def test_circles_default_is_sklearn_first_half_train_second_half_test():
    d = load()
    x, y = skd.make_circles(n_samples=1000, noise=0.1, random_state=1)
    assert d.x_train.shape == (500, 2) and d.x_test.shape == (500, 2)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.float32
    np.testing.assert_array_equal(d.x_train.numpy(), x[:500].astype(np.float32))
    np.testing.assert_array_equal(d.x_test.numpy(), x[500:].astype(np.float32))
    np.testing.assert_array_equal(d.y_train.numpy().ravel(), y[:500])
    np.testing.assert_array_equal(d.y_test.numpy().ravel(), y[500:])
    assert d.y_train.shape == (500, 1) and d.task == "binary" and d.n_classes == 2
    assert d.n_inputs == 2 and not d.is_image and d.feature_names == ["x0", "x1"]
    assert (d.target_mean, d.target_std) == (0.0, 1.0)


def test_moons_and_blobs_match_sklearn():
    d = load(dataset="moons", n_samples=300, noise=0.2, data_seed=7)
    x, y = skd.make_moons(n_samples=300, noise=0.2, random_state=7)
    np.testing.assert_array_equal(d.x_train.numpy(), x[:150].astype(np.float32))
    np.testing.assert_array_equal(d.y_test.numpy().ravel(), y[150:])
    assert d.task == "binary" and d.y_train.shape == (150, 1)

    d = load(dataset="blobs")  # defaults: 1000 samples, 2 features, 3 centres
    x, y = skd.make_blobs(n_samples=1000, n_features=2, centers=3, random_state=1)
    np.testing.assert_array_equal(d.x_test.numpy(), x[500:].astype(np.float32))
    np.testing.assert_array_equal(d.y_train.numpy(), y[:500])
    assert d.task == "multiclass" and d.n_classes == 3
    assert d.y_train.dtype == torch.long and d.y_train.shape == (500,)

    d = load(dataset="blobs", n_classes=2, n_features=5, n_samples=40)
    assert d.task == "binary" and d.x_train.shape == (20, 5) and d.y_train.shape == (20, 1)


@pytest.mark.parametrize("k, task", [(2, "binary"), (3, "multiclass")])
def test_spirals(k, task):
    d = load(dataset="spirals", n_classes=k, n_samples=301)
    x, y = data.make_spirals(301, 0.2, k, 1)
    assert x.shape == (301, 2) and np.bincount(y).tolist() == [301 // k + (i < 301 % k) for i in range(k)]
    assert np.abs(np.linalg.norm(x, axis=1)).max() <= 1 + 1e-12  # radius runs from 0 to 1
    n_test = round(301 * 0.5)
    assert d.x_train.shape == (301 - n_test, 2) and d.x_test.shape == (n_test, 2)
    np.testing.assert_array_equal(d.x_train.numpy(), x[:301 - n_test].astype(np.float32))
    assert d.task == task and d.n_classes == k
    # the same seed gives the same spirals, another seed a different shuffle
    np.testing.assert_array_equal(data.make_spirals(301, 0.2, k, 1)[0], x)
    assert not np.array_equal(data.make_spirals(301, 0.2, k, 2)[0], x)


def test_regression_matches_sklearn_and_target_is_a_column():
    d = load(dataset="regression")
    x, y = skd.make_regression(n_samples=1000, n_features=20, noise=0.1, random_state=1)
    assert d.x_train.shape == (500, 20) and d.y_train.shape == (500, 1) and d.y_test.shape == (500, 1)
    np.testing.assert_array_equal(d.x_train.numpy(), x[:500].astype(np.float32))
    np.testing.assert_array_equal(d.y_test.numpy().ravel(), y[500:].astype(np.float32))
    assert d.task == "regression" and d.n_classes == 0
    assert (d.target_mean, d.target_std) == (0.0, 1.0)  # unscaled unless asked


def test_digits_flat_and_as_images_hold_the_same_pixels():
    flat, img = load(dataset="digits"), load(dataset="digits", image=True)
    n_test = round(1797 * 0.5)
    assert flat.x_train.shape == (1797 - n_test, 64) and flat.x_test.shape == (n_test, 64)
    assert img.x_train.shape == (1797 - n_test, 1, 8, 8) and img.is_image and img.n_inputs == 64
    np.testing.assert_array_equal(img.x_train.reshape(-1, 64).numpy(), flat.x_train.numpy())
    np.testing.assert_array_equal(img.y_test.numpy(), flat.y_test.numpy())
    assert flat.task == "multiclass" and flat.n_classes == 10 and flat.y_train.dtype == torch.long
    # the rows are sklearn's digits, shuffled by data_seed (the file is grouped by writer)
    d = skd.load_digits()
    order = np.random.default_rng(1).permutation(1797)
    np.testing.assert_array_equal(flat.x_train.numpy(), d.data[order][: 1797 - n_test].astype(np.float32))
    np.testing.assert_array_equal(flat.y_train.numpy(), d.target[order][: 1797 - n_test])
    sub = load(dataset="digits", n_samples=100)
    assert sub.x_train.shape == (50, 64) and sub.x_test.shape == (50, 64)


def test_test_fraction_takes_the_last_rows():
    d = load(n_samples=100, test_fraction=0.2)
    x, _ = skd.make_circles(n_samples=100, noise=0.1, random_state=1)
    np.testing.assert_array_equal(d.x_test.numpy(), x[80:].astype(np.float32))
    assert len(d.x_train) == 80


# -- normalization (seed 002 §7.6), fitted on the training split only (seed 000) --------------------
def _by_hand(method, tr, te):
    if method == "none":
        shift, scale = 0.0, 1.0
    elif method in ("center", "mean_image"):
        shift, scale = tr.mean(0), 1.0
    elif method == "standard":
        shift, scale = tr.mean(0), tr.std(0)  # sigma_i of seed 002: the mean over the M training vectors
    elif method == "minmax":
        lo, hi = tr.min(0), tr.max(0)
        shift, scale = (hi + lo) / 2, (hi - lo) / 2
    return (tr - shift) / scale, (te - shift) / scale


@pytest.mark.parametrize("method", ["none", "center", "standard", "minmax", "mean_image"])
def test_table_normalizations_use_training_statistics(method):
    # 40 rows: the train and test means differ clearly, so a test split re-centred on itself shows
    kw = dict(dataset="regression", n_samples=40, n_features=5)
    raw = load(**kw)
    d = load(normalize=method, **kw)
    tr, te = raw.x_train.double().numpy(), raw.x_test.double().numpy()
    e_tr, e_te = _by_hand(method, tr, te)
    np.testing.assert_allclose(d.x_train.numpy(), e_tr, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.x_test.numpy(), e_te, rtol=1e-5, atol=1e-6)
    if method in ("center", "standard", "mean_image"):
        np.testing.assert_allclose(d.x_train.double().mean(0).numpy(), 0, atol=1e-6)
        test_mean = d.x_test.double().mean(0).numpy()
        assert np.abs(test_mean).max() > 0.05  # not forced to 0
        np.testing.assert_allclose(test_mean, e_te.mean(0), rtol=1e-5, atol=1e-6)
    if method == "standard":
        np.testing.assert_allclose(d.x_train.double().numpy().std(0), 1, rtol=1e-5)
        assert np.abs(d.x_test.double().numpy().std(0) - 1).max() > 0.01  # test std is not forced to 1
    if method == "minmax":
        x = d.x_train.numpy()
        np.testing.assert_allclose(x.min(0), -1, atol=1e-6)
        np.testing.assert_allclose(x.max(0), 1, atol=1e-6)
        assert (x >= -1 - 1e-6).all() and (x <= 1 + 1e-6).all()
        assert d.x_test.abs().max() > 1  # the test split may fall outside [-1, 1]
    np.testing.assert_array_equal(d.y_train.numpy(), raw.y_train.numpy())  # targets untouched


def test_standard_keeps_a_constant_feature_at_zero(tmp_path):
    lines = ["a,c,y"] + [f"{i * 0.5},3.0,{i % 2}" for i in range(10)]
    f = write_csv(tmp_path, lines)
    for method, val in (("standard", 0.0), ("minmax", 0.0), ("center", 0.0)):
        d = load(dataset=f, normalize=method)
        assert torch.isfinite(d.x_train).all() and torch.isfinite(d.x_test).all()
        np.testing.assert_array_equal(d.x_train[:, 1].numpy(), val)
        np.testing.assert_array_equal(d.x_test[:, 1].numpy(), val)


def test_image_normalizations_mean_image_and_channel_mean():
    raw = load(dataset="digits", image=True)
    tr, te = raw.x_train.double().numpy(), raw.x_test.double().numpy()
    mi = load(dataset="digits", image=True, normalize="mean_image")
    np.testing.assert_allclose(mi.x_train.numpy(), tr - tr.mean(0), atol=1e-5)
    np.testing.assert_allclose(mi.x_test.numpy(), te - tr.mean(0), atol=1e-5)
    assert np.abs(mi.x_test.double().mean(0).numpy()).max() > 0.05  # the test split keeps its own offset
    ch = load(dataset="digits", image=True, normalize="channel_mean")
    np.testing.assert_allclose(ch.x_train.numpy(), tr - tr.mean(), atol=1e-5)
    np.testing.assert_allclose(ch.x_test.numpy(), te - tr.mean(), atol=1e-5)
    assert abs(ch.x_train.double().mean().item()) < 1e-5 and abs(ch.x_test.double().mean().item()) > 1e-3
    st = load(dataset="digits", image=True, normalize="standard")  # per pixel; blank pixels stay 0
    assert torch.isfinite(st.x_train).all()


def test_channel_mean_is_one_mean_per_channel():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3, 4, 5)) + np.array([1.0, -2.0, 5.0])[None, :, None, None]
    n = data.Normalizer("channel_mean").fit(x)
    expect = x - x.mean(axis=(0, 2, 3))[None, :, None, None]
    np.testing.assert_allclose(n.transform(x), expect, atol=1e-12)
    y = rng.normal(size=(2, 3, 4, 5))
    np.testing.assert_allclose(n.transform(y), y - x.mean(axis=(0, 2, 3))[None, :, None, None], atol=1e-12)
    m = data.Normalizer("mean_image").fit(x)
    np.testing.assert_allclose(m.transform(y), y - x.mean(0), atol=1e-12)
    with pytest.raises(SpecError) as e:
        data.Normalizer("channel_mean").fit(x[:, :, 0, 0])
    assert e.value.field == "data.normalize"


def test_standardize_target_uses_training_statistics():
    raw = load(dataset="regression", n_samples=60)
    d = load(dataset="regression", n_samples=60, standardize_target=True)
    ytr, yte = raw.y_train.double().numpy().ravel(), raw.y_test.double().numpy().ravel()
    assert d.target_mean == pytest.approx(ytr.mean(), rel=1e-6)
    assert d.target_std == pytest.approx(ytr.std(), rel=1e-6)
    np.testing.assert_allclose(d.y_train.numpy().ravel(), (ytr - ytr.mean()) / ytr.std(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.y_test.numpy().ravel(), (yte - ytr.mean()) / ytr.std(), rtol=1e-5, atol=1e-6)
    assert d.y_train.double().mean().item() == pytest.approx(0, abs=1e-6)
    assert d.y_train.double().numpy().std() == pytest.approx(1, rel=1e-5)
    assert abs(d.y_test.double().mean().item()) > 0.01  # test target not re-centred on itself
    np.testing.assert_array_equal(d.x_train.numpy(), raw.x_train.numpy())  # inputs untouched


def test_a_standardized_target_is_trained_on_but_its_errors_are_reported_in_the_original_units():
    from gradmedic.run.train import train

    spec = S.validate({"data": {"dataset": "regression", "standardize_target": True, "normalize": "standard"},
                       "model": {"hidden": [16]}, "train": {"epochs": 2}})
    r = train(spec, runs_dir=None, progress="none")
    d = data.load(spec.data)
    assert d.target_std > 10  # the regression target's scale: a factor that shows
    with torch.no_grad():
        standardized_mse = float(((r.model.eval()(d.x_test) - d.y_test) ** 2).mean())
    assert r.epochs[-1]["test_metric"] == pytest.approx(standardized_mse * d.target_std ** 2, rel=1e-4)


# -- CSV files -----------------------------------------------------------------------------------------
def assert_rows(d, expect):
    """The loaded rows (features, target), in any order, equal ``expect`` (sorted on the first column)."""
    x = torch.cat([d.x_train, d.x_test]).double().numpy()
    y = torch.cat([d.y_train, d.y_test]).double().numpy().reshape(len(x), -1)
    got = np.c_[x, y]
    expect = np.array(expect, dtype=float)
    np.testing.assert_allclose(got[np.argsort(got[:, 0])], expect[np.argsort(expect[:, 0])], rtol=1e-6)


def test_csv_with_string_labels_is_classification(tmp_path):
    species = ["setosa", "virginica", "versicolor"]
    lines = ["x1, x2,price,species"] + [f"{i},{i * 2.5},{i * 1.37 + 0.01},{species[i % 3]}" for i in range(30)]
    f = write_csv(tmp_path, lines)
    d = load(dataset=f, target="species")
    assert d.task == "multiclass" and d.n_classes == 3 and d.y_train.dtype == torch.long
    assert d.feature_names == ["x1", "x2", "price"]  # header cells are stripped
    assert d.x_train.shape == (15, 3) and d.x_test.shape == (15, 3)
    # rows are shuffled, never torn apart: each feature row keeps its label (sorted label index)
    code = {s: i for i, s in enumerate(sorted(species))}
    assert_rows(d, [(i, i * 2.5, i * 1.37 + 0.01, code[species[i % 3]]) for i in range(30)])

    two = write_csv(tmp_path, ["a,label"] + [f"{i},{'yes' if i % 3 else 'no'}" for i in range(12)], "two.csv")
    d = load(dataset=two)  # target defaults to the last column
    assert d.task == "binary" and d.n_classes == 2 and d.y_train.shape == (6, 1)
    assert_rows(d, [(i, 1 if i % 3 else 0) for i in range(12)])


def test_csv_numeric_targets_regression_or_classes(tmp_path):
    reg = write_csv(tmp_path, ["a,b,price"] + [f"{i},{(i * 7) % 5},{i * 1.37 + 0.01}" for i in range(30)])
    d = load(dataset=reg, normalize="standard")
    assert d.task == "regression" and d.n_classes == 0 and d.y_train.shape == (15, 1)
    raw = load(dataset=reg)
    assert_rows(raw, [(i, (i * 7) % 5, i * 1.37 + 0.01) for i in range(30)])
    np.testing.assert_allclose(d.x_train.double().mean(0).numpy(), 0, atol=1e-6)
    # a regression column can also be chosen as target in the middle of the file
    d = load(dataset=reg, target="a")
    assert d.task == "regression" and d.feature_names == ["b", "price"]  # 30 distinct integers: not classes
    d = load(dataset=reg, target="b")
    assert d.task == "multiclass" and d.n_classes == 5  # 5 whole-number values: classes
    s = load(dataset=reg, standardize_target=True)
    assert s.y_train.double().mean().item() == pytest.approx(0, abs=1e-6)


def test_csv_numeric_labels_are_grouped_by_value(tmp_path):
    f = write_csv(tmp_path, ["a,y"] + [f"{i},{['0', '1', '1.0'][i % 3]}" for i in range(12)])
    d = load(dataset=f)
    assert d.task == "binary" and d.n_classes == 2


@pytest.mark.parametrize("lines, target, field, text", [
    (["a,b,y", "1,2,0", "3,4,1", "4,5,0"], "z", "data.target", "columns: a, b, y"),  # missing target column
    (["a,b,y", "1,2,0", "3,x,1", "4,5,0"], None, "data.dataset", "'b'"),  # non-numeric feature
    (["a,b,y", "1,2,0", "3,,1", "4,5,0"], None, "data.dataset", "not numeric"),  # empty feature cell
    (["a,b,y", "1,2,0", "nan,3,1", "4,5,0"], None, "data.dataset", "NaN"),  # NaN feature
    (["a,b,y", "1,2,0", "inf,3,1", "4,5,0"], None, "data.dataset", "infinite"),
    (["a,b,y", "1,2,0", "3,4", "4,5,0"], None, "data.dataset", "line 3 has 2 fields"),  # ragged row
    (["a,b,y", "1,2,0", "3,4,1,9", "4,5,0"], None, "data.dataset", "line 3 has 4 fields"),
    (["a,b,y", "1,2,0"], None, "data.dataset", "at least two data rows"),
    (["y", "0", "1", "0"], None, "data.dataset", "no feature columns"),
    (["a,y", "1,0", "2,0", "3,0"], None, "data.target", "single class"),
    (["a,y", "1,0.5", "2,nan", "3,1.5"], None, "data.target", "NaN"),
])
def test_bad_csv_files_name_the_field(tmp_path, lines, target, field, text):
    f = write_csv(tmp_path, lines)
    with pytest.raises(SpecError) as e:
        load(dataset=f, target=target)
    assert e.value.field == field and text in str(e.value)
    assert str(e.value).startswith(field + ": ")


def test_other_bad_data_specs(tmp_path):
    with pytest.raises(SpecError) as e:
        load(dataset=str(tmp_path / "missing.csv"))
    assert e.value.field == "data.dataset" and "neither a built-in dataset" in str(e.value)
    with pytest.raises(SpecError) as e:
        load(dataset=str(tmp_path))  # a directory is not a CSV file
    assert e.value.field == "data.dataset"
    for kw in (dict(normalize="channel_mean"), dict(dataset="digits", normalize="channel_mean")):  # tables
        with pytest.raises(SpecError) as e:
            load(**kw)
        assert e.value.field == "data.normalize"
    for ds in ("circles", "digits", "blobs"):
        with pytest.raises(SpecError) as e:
            load(dataset=ds, standardize_target=True)
        assert e.value.field == "data.standardize_target"
    with pytest.raises(SpecError) as e:
        load(n_samples=3, test_fraction=0.9)
    assert e.value.field == "data.test_fraction"
    with pytest.raises(SpecError) as e:
        S.validate({"data": {"normalize": "zscore"}})
    assert e.value.field == "data.normalize" and "minmax" in str(e.value)
