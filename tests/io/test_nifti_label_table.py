"""A NIfTI labelmap's own label table: the Caret XML header extension that TotalSegmentator writes into its
multi-label files (`--ml`, ecode 0) and Connectome Workbench into label volumes (ecode 30). Files are made here with
nibabel, the XML written to the format those tools use (not by their code)."""
from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pytest

from app import io
from app.io.nifti import extensions

NAMES = {1: "spleen", 2: "kidney_right", 3: "kidney_left", 5: "liver", 117: "costal_cartilages"}


def caret_xml(names: dict, colours=None) -> bytes:
    body = "".join(f'<Label Key="{k}" Red="{(colours or {}).get(k, (1, 0, 0))[0]}" '
                   f'Green="{(colours or {}).get(k, (1, 0, 0))[1]}" Blue="{(colours or {}).get(k, (1, 0, 0))[2]}" '
                   f'Alpha="1"><![CDATA[{v}]]></Label>\n' for k, v in names.items())
    return ('<?xml version="1.0" encoding="UTF-8"?> <CaretExtension>  <Date><![CDATA[2024-01-01T00:00:00]]></Date>'
            '   <VolumeInformation Index="0">   <LabelTable>' + "\n" + body + "\n  </LabelTable>  "
            "<VolumeType><![CDATA[Label]]></VolumeType>   </VolumeInformation></CaretExtension>\n   ").encode()


def labelmap(path, ecode=0, xml=None, extra=(), big_endian=False):
    arr = np.zeros((12, 10, 8), np.uint8)
    for n, v in enumerate(NAMES):
        arr[n * 2:n * 2 + 2, 2:8, 1:7] = v
    img = nib.Nifti1Image(arr, np.diag([-1.5, -1.5, 2.0, 1.0]))
    if big_endian:
        img = nib.Nifti1Image(arr, img.affine, img.header.as_byteswapped(">"))
    for code, content in extra:
        img.header.extensions.append(nib.nifti1.Nifti1Extension(code, content))
    img.header.extensions.append(nib.nifti1.Nifti1Extension(ecode, xml if xml is not None else caret_xml(NAMES)))
    nib.save(img, str(path))
    return arr


@pytest.mark.parametrize("name, ecode, big", [("ts.nii.gz", 0, False), ("wb.nii", 30, False), ("be.nii", 0, True)])
def test_totalsegmentator_and_workbench_names_are_read(tmp_path, name, ecode, big):
    """TotalSegmentator's `--ml` file opened as Segment_1 ... Segment_117 (the Slicer forum's question: the names
    are in the file); they are the segments' names and colours, and the export's tables keep them."""
    path = tmp_path / name
    arr = labelmap(path, ecode, caret_xml(NAMES, {5: (0.25, 0.5, 1.0)}), extra=[(6, b"a comment\0" * 3)],
                   big_endian=big)
    seg = io.open_segmentation(path)
    assert {s.label: s.name for s in seg.segments} == NAMES
    assert seg.segment_by_name("liver").color == pytest.approx((0.25, 0.5, 1.0))
    assert not seg.segment_by_name("liver").name_auto_generated
    assert all(seg.voxel_count(s.id) == int((arr == s.label).sum()) for s in seg.segments)
    assert [code for code, _ in extensions(path)] == [6, ecode]
    written = io.export_labelmap(seg, tmp_path / "out.nii.gz")
    assert "liver" in written[1].read_text()


def test_a_table_beside_or_given_wins_and_an_unreadable_one_warns(tmp_path):
    path = tmp_path / "ts.nii.gz"
    labelmap(path)
    table = tmp_path / "mine.label"
    table.write_text('    5   10 20 30   1.00  1  1    "my liver"\n')
    seg = io.open_segmentation(path, labels=table)
    assert seg.segment_by_name("my liver") is not None and seg.segment_by_name("spleen") is None
    assert io.open_segmentation(path, labels=False).segments[0].name == "Segment_1"
    bad = tmp_path / "bad.nii.gz"
    labelmap(bad, xml=b"<CaretExtension><LabelTable><Label Key='1'>spleen</Label>")      # cut short
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seg = io.open_segmentation(bad)
    assert [s.name for s in seg.segments][:1] == ["Segment_1"]
    assert len(caught) == 1 and "embedded label table is not valid XML" in str(caught[0].message)


def test_no_extension_or_another_kind_changes_nothing(tmp_path):
    path = tmp_path / "plain.nii.gz"
    arr = np.zeros((4, 4, 4), np.uint8)
    arr[1:3, 1:3, 1:3] = 4
    nib.save(nib.Nifti1Image(arr, np.eye(4)), str(path))
    assert extensions(path) == [] and io.open_segmentation(path).segments[0].name == "Segment_4"
    other = tmp_path / "other.nii"
    labelmap(other, ecode=4, xml=b"<afni>no label table here</afni>" + b" " * 8)
    assert io.open_segmentation(other).segments[0].name == "Segment_1"


def test_an_exported_nifti_labelmap_carries_its_names(tmp_path):
    """Export writes the names into the NIfTI too (ecode 0, Caret XML: what TotalSegmentator's
    load_multilabel_nifti reads at CaretExtension/VolumeInformation/LabelTable/Label, and Workbench), so an edited
    `--ml` file keeps them without its .label beside it; names with XML's special characters come back as typed."""
    import xml.etree.ElementTree as ET

    path = tmp_path / "ts.nii.gz"
    labelmap(path)
    seg = io.open_segmentation(path)
    seg.update_segment(seg.segment_by_name("liver").id, name='liver & <segment> 4')
    out = tmp_path / "edited.nii.gz"
    io.export_labelmap(seg, out)
    for table in (tmp_path / "edited.label", tmp_path / "edited.ctbl"):
        table.unlink()
    [(code, content)] = extensions(out)
    assert code == 0                                   # TotalSegmentator's code: nibabel's get_content() reads it
    assert nib.load(str(out)).header.extensions[0].get_content() == content.rstrip(b"\0")
    labels = ET.fromstring(content.rstrip(b"\0")).find("VolumeInformation").find("LabelTable").findall("Label")
    assert {int(x.get("Key")): x.text for x in labels} == {**NAMES, 5: 'liver & <segment> 4'}
    back = io.open_segmentation(out)
    assert {s.label: s.name for s in back.segments} == {**NAMES, 5: 'liver & <segment> 4'}
    assert np.allclose([s.color for s in back.segments], [s.color for s in seg.segments], atol=1e-5)
    img = nib.load(str(out))
    assert np.array_equal(np.asarray(img.dataobj), seg.layers[0])
