"""The README's Python example runs as written (with fewer epochs and a temporary folder)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no Python example"
    code = blocks[0].replace("epochs=100", "epochs=2")
    assert "epochs=2" in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["ll"].k == 5000 and (tmp_path / "runs/api-demo/samples.png").is_file()


def test_readme_own_networks_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    code = next(b for b in blocks if "vaekit.Networks(" in b).replace("epochs=50", "epochs=2")
    assert "epochs=2" in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    model, result = namespace["model"], namespace["result"]
    assert type(model.encoder).__name__ == "Sequential"
    x = result.splits.test[:4]
    assert namespace["torch"].equal(model.encode(x), result.model.encode(x))


def test_readme_config_file_is_accepted(tmp_path, capsys):
    from vaekit import config_file
    from vaekit.cli import main
    block = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)[0]
    path = tmp_path / "fashion.toml"
    path.write_text(block)
    capsys.readouterr()
    assert main(["train", "--config", str(path), "--epochs", "5", "--print-config"]) == 0
    printed = config_file.tomllib.loads(capsys.readouterr().out)
    assert printed["epochs"] == 5 and printed["free_bits"] == 0.25
    assert printed["model"]["network"] == {"name": "conv", "channels": [32, 64],
                                           "activation": "leaky_relu"}
