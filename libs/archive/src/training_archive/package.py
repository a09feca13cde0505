"""The archive as files: `archive.json`, `summary.pdf`, `snapshots/<face_check_id>.jpg` and
`manifest.json` (the SHA-256 and size of every other file), zipped in a fixed order."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training_records.digest import link_hash

SCHEMA_NAME = "training.class-archive"
# Goes up with every change to archive.json's layout that a reader could trip over (docs/records.md).
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
DATA = "archive.json"
SUMMARY = "summary.pdf"
# A fixed timestamp for every member, so the same contents give the same ZIP.
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class ClassArchive:
    """One class's archive: the JSON document and every file of the ZIP, manifest included."""

    data: dict[str, Any]
    files: dict[str, bytes]

    @classmethod
    def assemble(cls, data: dict[str, Any], snapshots: dict[str, bytes], summary_pdf: bytes) -> ClassArchive:
        files = {DATA: json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode(), SUMMARY: summary_pdf}
        files.update(sorted(snapshots.items()))
        manifest = {
            "schema": data["schema"],
            "schema_version": data["schema_version"],
            "class_id": data["class"]["class_id"],
            "generated_at": data["generated_at"],
            "algorithm": "sha256",
            "files": [
                {"path": path, "bytes": len(content), "sha256": sha256(content)} for path, content in files.items()
            ],
        }
        files[MANIFEST] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        return cls(data, files)

    @property
    def class_id(self) -> str:
        return str(self.data["class"]["class_id"])

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in [MANIFEST, *(p for p in self.files if p != MANIFEST)]:
                info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_STORED if path.endswith(".jpg") else zipfile.ZIP_DEFLATED
                archive.writestr(info, self.files[path])
        return buffer.getvalue()

    def write(self, path: Path) -> int:
        content = self.zip_bytes()
        path.write_bytes(content)
        return len(content)


def check_links(data: dict[str, Any]) -> list[str]:
    """Problems with the chain links an archive carries: each link's hash must follow from its previous
    hash, record digest and position, lie within its chain's head, and be the head at the head's
    position. (Whether the records' digests match their content takes the service's chain: VerifyChain.)"""
    problems = []
    for service, entry in data["chains"].items():
        heads = {h["chain"]: h for h in entry.get("heads", [])}
        for link in entry.get("links", []):
            where = f"{service} {link['chain']} #{link['position']} ({link['record_id']})"
            position = int(link["position"])
            if link_hash(link["previous_hash"], link["record_digest"], position) != link["link_hash"]:
                problems.append(f"{where}: the link hash does not follow from its previous hash and digest")
            head = heads.get(link["chain"])
            if head is None:
                problems.append(f"{where}: no head of chain {link['chain']} in the archive")
            elif position > int(head["length"]):
                problems.append(f"{where}: beyond the chain's head (length {head['length']})")
            elif position == int(head["length"]) and link["link_hash"] != head["head_hash"]:
                problems.append(f"{where}: the head's position but not the head's hash")
    return problems


def verify_zip(content: bytes) -> list[str]:
    """Problems found checking a ZIP against its manifest and its chain links (empty when all is well)."""
    problems = []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read(MANIFEST))
        listed = {f["path"] for f in manifest["files"]}
        for entry in manifest["files"]:
            if entry["path"] not in names:
                problems.append(f"{entry['path']}: listed but missing")
                continue
            if sha256(archive.read(entry["path"])) != entry["sha256"]:
                problems.append(f"{entry['path']}: SHA-256 does not match the manifest")
        problems.extend(f"{name}: not listed in the manifest" for name in sorted(names - listed - {MANIFEST}))
        if DATA in names and not problems:
            problems.extend(check_links(json.loads(archive.read(DATA))))
    return problems
