"""The bad-input campaign: inputs a user may give vaekit by mistake, each with the message its
one-line answer must contain. Used by tests/campaign/test_bad_input.py beside it (each must
exit 2, one line, no traceback, nothing overwritten) and printed as a table by
bench/bad_inputs.py."""

import gzip
import json
import shutil

import numpy as np

from conftest import write_fake_mnist


def cases(tmp_path, run):
    """[(vaekit arguments, extra environment, expected text of the error line)]; `run` is a
    finished run on digits (8x8) whose files must survive every case unchanged."""
    arrays = {
        "nan": np.full((20, 4), np.nan, dtype=np.float32),
        "inf": np.full((20, 4), np.inf, dtype=np.float32),
        "f64big": np.full((20, 4), 7.0),
        "negative": np.full((20, 4), -0.5, dtype=np.float32),
        "shape": np.zeros((3, 2, 2, 2), dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "str": np.array(["a", "b"]),
        "int64": np.ones((20, 4), dtype=np.int64),
        "d16": np.random.default_rng(0).random((40, 16)).astype(np.float32),
    }
    for name, a in arrays.items():
        np.save(tmp_path / f"{name}.npy", a)
    np.save(tmp_path / "object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "notrain.npz", images=np.zeros((20, 4), dtype=np.float32))
    np.savez(tmp_path / "labels.npz", train=np.zeros((20, 4), dtype=np.float32),
             train_labels=np.zeros(7, dtype=np.int64))
    np.savez(tmp_path / "nolabels.npz", train=np.zeros((20, 4), dtype=np.float32))
    (tmp_path / "garbage.npy").write_bytes(b"\x93NUMPY garbage")

    trunc = write_fake_mnist(tmp_path / "trunc")
    f = trunc / "train-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:200])
    magic = write_fake_mnist(tmp_path / "magic")
    f = magic / "train-images-idx3-ubyte.gz"
    raw = bytearray(gzip.decompress(f.read_bytes()))
    raw[0:4] = b"\x08\x03\x00\x00"
    f.write_bytes(gzip.compress(bytes(raw)))
    count = write_fake_mnist(tmp_path / "count")
    f = count / "train-labels-idx1-ubyte.gz"
    f.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3])))

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text("{")
    flipped = tmp_path / "flipped"
    shutil.copytree(run / "best", flipped)
    data = bytearray((flipped / "model.safetensors").read_bytes())
    data[-3] ^= 0xFF
    (flipped / "model.safetensors").write_bytes(bytes(data))
    edited = tmp_path / "edited"
    shutil.copytree(run / "best", edited)
    meta = json.loads((edited / "meta.json").read_text())
    meta["epoch"] = 99
    (edited / "meta.json").write_text(json.dumps(meta))
    empty_run = tmp_path / "empty-run"
    (empty_run / "checkpoints").mkdir(parents=True)

    good = [(f"{i:02d}.png", (8, 8)) for i in range(11)]
    folders = {"corrupt": good + [("a.png", b"\x89PNG not really")],
               "mixed": good + [("b.png", (12, 10))], "flat": good}
    from PIL import Image
    for name, files in folders.items():
        (tmp_path / name).mkdir()
        for fname, content in files:
            if isinstance(content, bytes):
                (tmp_path / name / fname).write_bytes(content)
            else:
                Image.new("RGB", content, (200, 10, 10)).save(tmp_path / name / fname)
    cifar = tmp_path / "cifar"
    cifar.mkdir()
    (cifar / "cifar-10-binary.tar.gz").write_bytes(b"\x1f\x8b\x08\x00 cut short")

    p = str(tmp_path)
    return [
        (["train", "--dataset", f"{p}/missing.npy"], None, "no such file"),
        (["train", "--dataset", "imagenet"], None, "unknown dataset"),
        (["train", "--dataset", f"{p}/nan.npy"], None, "NaN"),
        (["train", "--dataset", f"{p}/inf.npy"], None, "infinite"),
        (["train", "--dataset", f"{p}/f64big.npy"], None, "outside [0, 1]"),
        (["train", "--dataset", f"{p}/negative.npy"], None, "outside [0, 1]"),
        (["train", "--dataset", f"{p}/shape.npy"], None, "is not [N, D]"),
        (["train", "--dataset", f"{p}/empty.npy"], None, "array is empty"),
        (["train", "--dataset", f"{p}/str.npy"], None, "not numeric"),
        (["train", "--dataset", f"{p}/int64.npy"], None, "integer dtype int64"),
        (["train", "--dataset", f"{p}/object.npy"], None, "without pickle"),
        (["train", "--dataset", f"{p}/notrain.npz"], None, "needs an array named 'train'"),
        (["train", "--dataset", f"{p}/garbage.npy"], None, "without pickle or is corrupt"),
        (["train", "--dataset", "mnist"], {"VAEKIT_MNIST_DIR": str(trunc)}, "not a complete gzip"),
        (["train", "--dataset", "mnist"], {"VAEKIT_MNIST_DIR": str(magic)}, "bad magic number"),
        (["train", "--dataset", "mnist"], {"VAEKIT_MNIST_DIR": str(count)},
         "label and image counts differ"),
        (["train", "--likelihood", "poisson"], None, "unknown likelihood"),
        (["train", "--latent", "flow"], None, "unknown latent"),
        (["train", "--epochs", "0"], None, "epochs must be >= 1"),
        (["train", "--lr", "-1"], None, "lr must be > 0"),
        (["train", "--batch-size", "0"], None, "batch_size must be >= 1"),
        (["train", "--encoder-hidden", "a,b"], None, "comma-separated integers"),
        (["train", "--frobnicate"], None, "unrecognized option --frobnicate"),
        (["train", "--objectve", "iwae"], None, "did you mean --objective?"),
        (["train", "--epoch", "3"], None, "unrecognized option --epoch: did you mean --epochs?"),
        (["train", "--beta", "inf"], None, "--beta: expected a finite number"),
        (["train", "--lr", "nan"], None, "--lr: expected a finite number"),
        (["train", "--tau", "0.5"], None, "--tau does not apply to this model"),
        (["train", "--k", "5"], None, "k = 5 is the number of importance samples of the iwae"),
        (["train", "--lr-decay", "0.9"], None, "lr_decay is the exponential schedule's factor"),
        (["train", "--image-every", "3"], None, "give --logger tensorboard"),
        (["train", "--model", "ae", "--free-bits", "1"], None, "free_bits is for VAEs"),
        (["train", "--resume", f"{p}/no-such-run"], None, "no such run"),
        (["train", "--resume", str(empty_run)], None, "no complete checkpoint"),
        (["train", "--runs", str(run.parent), "--name", run.name], None, "already holds a run"),
        (["evaluate", str(broken)], None, "corrupt checkpoint metadata"),
        (["evaluate", str(flipped)], None, "checksum does not match meta.json"),
        (["evaluate", str(edited)], None, "checksum does not match its contents"),
        (["evaluate", f"{p}/no-run"], None, "no such run"),
        (["evaluate", str(run), "--dataset", f"{p}/d16.npy"], None,
         "data has examples of shape [16], the model expects [1, 8, 8]"),
        (["evaluate", str(run), "--k", "0"], None, "--k: must be >= 1"),
        (["evaluate", str(run), "--split", "train"], None, "invalid choice: 'train'"),
        (["sample", str(run), "--n", "0"], None, "--n: must be >= 1"),
        (["bogus-command"], None, "invalid choice: 'bogus-command'"),
        (["train", "--network", "transformer"], None, "unknown network 'transformer'"),
        (["train", "--channels", "8,16"], None, "--channels does not apply to this model"),
        (["train", "--network", "conv", "--encoder-hidden", "8"], None,
         "--encoder-hidden does not apply"),
        (["train", "--network", "conv", "--dataset", f"{p}/d16.npy"], None,
         "--network conv needs images [C, H, W]"),
        (["train", "--network", "resnet", "--channels", "4,4,4,4"], None,
         "images 8x8 are too small for 4 down-sampling layers"),
        (["train", "--dataset", f"{p}/corrupt"], None, "a.png: not a readable image"),
        (["train", "--dataset", f"{p}/mixed"], None, "--image-size"),
        (["train", "--image-size", "16"], None, "--image-size is for image folders"),
        (["train", "--dataset", "cifar10"], {"VAEKIT_CIFAR10_DIR": str(cifar)},
         "not a complete CIFAR-10 archive"),
        (["train", "--model", "gan", "--latent-dims", "4,2"], None, "--latent-dims does not apply"),
        (["train", "--model", "ae", "--latent", "hierarchical"], None, "use a plain latent vector"),
        (["train", "--model", "hierarchical", "--latent", "categorical"], None, "disagree"),
        (["train", "--model", "ae", "--beta", "0.5"], None, "beta is for VAEs"),
        (["train", "--model", "gan", "--likelihood", "gaussian"], None, "a gan has no likelihood"),
        (["train", "--model", "gan", "--lr-schedule", "cosine"], None, "constant learning rate"),
        (["train", "--network", "custom"], None, "given from Python"),
        (["train", "--min-std", "0.01"], None, "it is for --likelihood gaussian"),
        (["train", "--latent", "hierarchical", "--latent-dim", "4", "--latent-dims", "4,2"], None,
         "not both"),
        (["train", "--dataset", f"{p}/labels.npz"], None, "train_labels has shape [7]"),
        (["train", "--latent", "joint", "--labels", "100", "--dataset", f"{p}/nolabels.npz"],
         None, "--labels needs labelled data; "),
        (["train", "--latent", "joint", "--labels", "100", "--dataset", f"{p}/flat"], None,
         "has no labels (an image folder's labels are its class sub-folders"),
        (["train", "--latent", "joint", "--labels", "100", "--classes", "5"], None,
         "the data have 10 classes (labels 0..9); --classes 5 is fewer (give --classes 10)"),
        (["train", "--latent", "joint", "--labels", "5"], None, "fewer than the 10 classes"),
        (["train", "--latent", "joint", "--labels", "100000"], None,
         "more than the 1293 training examples"),
        (["evaluate", str(run), "--dataset", f"{p}/gone/"], None, "gone/: no such file or folder"),
        (["train", "--dataset", f"{p}/gone", "--image-size", "8"], None,
         "gone: no such file or folder"),
    ]
