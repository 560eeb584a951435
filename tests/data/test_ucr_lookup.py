"""`gatedrnn classify --dataset NAME` finds a UCR problem under ucr/NAME/ as it finds a UEA one under uea/NAME/."""

from gatedrnn.data.uea import locate_uea


def test_ucr_names_are_found_like_uea_names(tmp_path):
    for archive, name in (("ucr", "GunPoint"), ("uea", "BasicMotions")):
        folder = tmp_path / archive / name
        folder.mkdir(parents=True)
        for split in ("TRAIN", "TEST"):
            (folder / f"{name}_{split}.ts").write_text("@data\n")
        assert locate_uea(name.lower(), tmp_path) == (folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts")
