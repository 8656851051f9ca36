"""The pose stage: OpenPose body keypoints of every person, as VITON-HD ships them.

Writes ``<group>/openpose_json/<stem>_keypoints.json`` (OpenPose JSON 1.3, BODY_25 order by
default, ``pose_format = "coco18"`` for the model's own order) and
``<group>/openpose_img/<stem>_rendered.png`` (OpenPose's renderer look on black); the manifest
row holds the best person's COCO-18 keypoints ([x, y, score] x 18, missing joints 0) and how
many persons were found. The best person (highest total score) is written first, so loaders
that read ``people[0]`` read it. Nobody found is an error row "no_person", never an empty file.

With ``reuse_annotations`` a VITON-HD ``openpose_json`` shipped with the dataset (``ann_pose``) is
used instead of the model: it is copied as it is and rendered. Weights licence: the OpenPose
body model (CMU) is for non-commercial research.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from vtonpipe.atomic import atomic_save_image, atomic_target
from vtonpipe.datasets.images import load_bgr
from vtonpipe.errors import RowError
from vtonpipe.labels.pose import COCO18_TO_BODY25
from vtonpipe.manifests.layout import item_path
from vtonpipe.stages.base import Resources, Stage
from vtonpipe.stages.options import option

FAMILY = "openpose"
JSON_FOLDER, IMAGE_FOLDER = "openpose_json", "openpose_img"


def pose_json_path(group: str, stem: str) -> str:
    """Relative path of a person's keypoints file, named as VITON-HD names it."""
    return item_path(group, JSON_FOLDER, f"{stem}_keypoints", ".json")


@dataclass(frozen=True)
class PoseOptions:
    openpose_ir: str | None = option(None, "OpenPose body IR folder (default: <models-dir>/openpose)", path=True)
    variant: str = option("controlnet11", "post-processing variant: controlnet11 (the try-on demos') or "
                          "controlnet10 (pytorch-openpose)", choices=("controlnet11", "controlnet10"), result=True)
    pose_format: str = option("body25", "keypoint order in the JSON: body25 (as VITON-HD ships it) or coco18",
                              choices=("body25", "coco18"), result=True)


def coco18_from_file(path: str) -> tuple[np.ndarray, int]:
    """The first person of a shipped keypoints file as COCO-18 (18, 3), and the number of persons."""
    from vtonpipe.datasets.openpose import read_people

    try:
        people = read_people(path)
    except ValueError as exc:
        raise RowError("bad_annotation", f"{path}: {exc}") from None
    if not people:
        raise RowError("no_person", f"{path} lists no person")
    first = people[0]
    if first.shape[0] == 25:
        first = first[list(COCO18_TO_BODY25)]
    elif first.shape[0] != 18:
        raise RowError("bad_annotation", f"{path}: {first.shape[0]} keypoints per person (expected 25 or 18)")
    return first, len(people)


class PoseStage(Stage):
    """OpenPose body keypoints (openpose_json/, openpose_img/) of every person image."""

    name = "pose"
    input = "persons"
    key = "person_id"
    columns: ClassVar[list[pa.Field]] = [
        pa.field("json_path", pa.string()),
        pa.field("rendered_path", pa.string()),
        pa.field("keypoints", pa.list_(pa.float32())),
        pa.field("people", pa.int32()),
        pa.field("reused", pa.bool_()),
    ]
    version = "1"
    batch_size = 4
    resources = Resources(num_cpus=1, device_class="cpu")
    Options = PoseOptions
    context_params = ("reuse_annotations",)

    def ir_dir(self) -> Path:
        return self.model_folder(self.options.openpose_ir, FAMILY)

    def check(self) -> None:
        from vtonpipe.models.common.ir import read_ir

        self.model_id = read_ir(self.ir_dir(), FAMILY).model_id

    def setup(self, device: str) -> None:
        from vtonpipe.models.openpose.runtime import OpenPoseRuntime

        super().setup(device)
        self.runtime = OpenPoseRuntime(self.ir_dir(), device, threads=self.context.threads,
                                       cache_dir=self.context.cache_dir, variant=self.options.variant)
        self.model_id = self.runtime.model_id

    def process_row(self, row: dict[str, Any]) -> dict[str, Any]:
        from vtonpipe.datasets.openpose import render_openpose, write_openpose_json
        from vtonpipe.models.openpose.postprocess import best_person

        group, stem = row["group"], row["stem"]
        json_rel = pose_json_path(group, stem)
        shipped = row.get("ann_pose") if self.context.reuse_annotations else None
        if shipped:
            keypoints, found = coco18_from_file(shipped)
            with atomic_target(os.path.join(self.out_dir, json_rel)) as tmp:
                shutil.copyfile(shipped, tmp)
            people = [keypoints]
        else:
            image = load_bgr(row["image"])
            persons = self.runtime(image)
            best = best_person(persons)
            if best is None:
                raise RowError("no_person", f"no person found by OpenPose in {row['image']}")
            people = [best.keypoints()] + [p.keypoints() for p in persons if p is not best]
            keypoints, found = people[0], len(persons)
            write_openpose_json(os.path.join(self.out_dir, json_rel), people, self.options.pose_format)
        height, width = int(row["height"]), int(row["width"])
        rendered_rel = item_path(group, IMAGE_FOLDER, f"{stem}_rendered", ".png")
        atomic_save_image(os.path.join(self.out_dir, rendered_rel), render_openpose(people, height, width))
        return {"json_path": json_rel, "rendered_path": rendered_rel,
                "keypoints": np.asarray(keypoints, np.float32).ravel().tolist(), "people": found,
                "reused": bool(shipped)}
