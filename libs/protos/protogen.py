"""Generate the Python protobuf and gRPC modules for every .proto file under a source folder.

Usage: python libs/protos/protogen.py <proto_root> <output_root>

The output folder's `training/` tree is replaced as a whole, so a removed .proto leaves nothing
stale behind. Runs grpcio-tools' bundled protoc; no system protoc is needed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc


def generate(proto_root: Path, output_root: Path) -> list[Path]:
    protos = sorted(proto_root.rglob("*.proto"))
    if not protos:
        raise SystemExit(f"no .proto files under {proto_root}")
    well_known = resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"-I{proto_root}",
            f"-I{well_known}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *(str(p.relative_to(proto_root)) for p in protos),
        ]
        # protoc resolves the relative file names against the include path.
        code = protoc.main(args)
        if code != 0:
            raise SystemExit(f"protoc failed with exit code {code}")
        generated = Path(tmp) / "training"
        for folder in [generated, *(p for p in generated.rglob("*") if p.is_dir())]:
            (folder / "__init__.py").touch()
        target = output_root / "training"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(generated, target)
    return protos


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    protos = generate(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"generated Python code for {len(protos)} proto files into {sys.argv[2]}/training")


if __name__ == "__main__":
    main()
