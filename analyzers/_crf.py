"""Read a crfsuite ``CRF1d`` model file, for scoring and Viterbi decoding without crfsuite.

The layout follows crfsuite's ``crf1d_model.c`` and ``cqdb.c`` (version 100, type ``FOMC``),
little-endian as crfsuite writes it on every platform we run on (the CQDB chunks carry a
byte-order mark, which is checked):

* a 48-byte header: ``magic "lCRF"``, ``size``, ``type "FOMC"``, ``version``,
  ``num_features`` (left 0 by crfsuite's writer), ``num_labels``, ``num_attrs``, then the
  offsets of the feature chunk, the label and attribute CQDBs and the label and attribute
  feature-reference chunks;
* ``FEAT``: chunk id, size, count, then 20 bytes per feature: ``uint32 type`` (0 = state
  feature attribute -> label, 1 = transition label -> label), ``uint32 src``, ``uint32 dst``,
  ``float64 weight``;
* ``LFRF``/``AFRF``: chunk id, size, count, an offset per label/attribute, and at each offset
  ``uint32 n`` followed by ``n`` feature ids;
* CQDB string databases: a 24-byte header (``"CQDB"``, size, flag, byte-order check,
  ``bwd_size``, ``bwd_offset``), 256 hash-table references, the records (``uint32 id``,
  ``uint32 ksize``, ``ksize`` key bytes ending with NUL) and the backward array giving each
  id's record offset.

Only what crfsuite's tagger reads is used: the attribute references (``crf1dt_state_score``
adds ``weight * value`` of each feature listed for an attribute to ``state[f.dst]``) and the
label references for labels ``0 .. L-1`` (``crf1dt_transition_score`` sets
``trans[i][f.dst] = weight``; absent transitions stay 0.0).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

__all__ = ["CRFModel", "parse_model"]

_HEADER = struct.Struct("<4sI4sIIIIIIIII")
_CHUNK = struct.Struct("<4sII")
_CQDB_HEADER = struct.Struct("<4sIIIII")
_FEATURE = struct.Struct("<IIId")
_BYTEORDER_CHECK = 0x62445371
_CQDB_REFS = 256


@dataclass(frozen=True)
class CRFModel:
    """A linear-chain CRF as crfsuite's tagger sees it.

    ``state[attr][y]`` is the weight the attribute adds to label ``y`` (0.0 where the model
    has no such feature); attributes the model does not know are absent. ``trans[i][j]`` is
    the score of moving from label ``i`` to label ``j``.
    """

    labels: tuple[str, ...]
    state: dict[str, tuple[float, ...]]
    trans: tuple[tuple[float, ...], ...]


def _cqdb_strings(data: bytes, offset: int, count: int) -> list[str]:
    """The keys of ids ``0 .. count-1`` of the CQDB at ``offset``, through its backward array."""
    chunk, size, _flag, byteorder, _bwd_size, bwd_offset = _CQDB_HEADER.unpack_from(data, offset)
    if chunk != b"CQDB" or byteorder != _BYTEORDER_CHECK:
        raise ValueError("not a little-endian CQDB chunk")
    if not bwd_offset:
        raise ValueError("CQDB without a backward array")
    # crfsuite's writer stores the array's capacity as bwd_size but writes only as many
    # entries as there are ids, so the model header's count is the bound to trust.
    keys: list[str] = []
    for i in range(count):
        (record,) = struct.unpack_from("<I", data, offset + bwd_offset + 4 * i)
        if not record:
            raise ValueError(f"CQDB has no string for id {i}")
        rid, ksize = struct.unpack_from("<II", data, offset + record)
        key = data[offset + record + 8 : offset + record + 8 + ksize]
        if rid != i or ksize < 1 or record + 8 + ksize > size:
            raise ValueError(f"CQDB record for id {i} is malformed")
        if key[-1:] != b"\0" or b"\0" in key[:-1]:
            raise ValueError(f"CQDB key for id {i} is not one C string")
        keys.append(key[:-1].decode("utf-8"))
    return keys


def _refs(data: bytes, offset: int, index: int) -> list[int]:
    """Feature ids listed for one label or attribute (crf1dm_get_labelref/attrref)."""
    (ref,) = struct.unpack_from("<I", data, offset + _CHUNK.size + 4 * index)
    (n,) = struct.unpack_from("<I", data, ref)
    return list(struct.unpack_from(f"<{n}I", data, ref + 4))


def parse_model(data: bytes) -> CRFModel:
    """Parse crfsuite model bytes (as written by ``crfsuite``'s trainer) into a :class:`CRFModel`."""
    (
        magic, size, mtype, version, _num_features, num_labels, num_attrs,
        off_features, off_labels, off_attrs, off_labelrefs, off_attrrefs,
    ) = _HEADER.unpack_from(data, 0)
    if magic != b"lCRF" or mtype != b"FOMC" or version != 100 or size > len(data):
        raise ValueError("not a crfsuite CRF1d model (version 100)")

    chunk, _size, num_features = _CHUNK.unpack_from(data, off_features)
    if chunk != b"FEAT":
        raise ValueError("feature chunk not found")
    features = list(_FEATURE.iter_unpack(
        data[off_features + _CHUNK.size : off_features + _CHUNK.size + _FEATURE.size * num_features]
    ))
    for ftype, src, dst, weight in features:
        if ftype not in (0, 1) or dst >= num_labels or not math.isfinite(weight):
            raise ValueError("unexpected feature in the model")

    for off, tag, num in ((off_labelrefs, b"LFRF", num_labels), (off_attrrefs, b"AFRF", num_attrs)):
        chunk, _size, count = _CHUNK.unpack_from(data, off)
        if chunk != tag or count < num:
            raise ValueError(f"{tag.decode()} chunk not found")

    labels = tuple(_cqdb_strings(data, off_labels, num_labels))
    attrs = _cqdb_strings(data, off_attrs, num_attrs)

    # crf1dt_transition_score: trans[i][f.dst] = f.weight for the features of label i.
    trans = [[0.0] * num_labels for _ in range(num_labels)]
    for i in range(num_labels):
        for fid in _refs(data, off_labelrefs, i):
            ftype, _src, dst, weight = features[fid]
            if ftype != 1:
                raise ValueError("label reference to a state feature")
            trans[i][dst] = weight

    # crf1dt_state_score adds each referenced feature's weight to state[f.dst]; a feature per
    # (attribute, label) at most, checked here, so one weight per label is the whole story.
    state: dict[str, tuple[float, ...]] = {}
    for a, name in enumerate(attrs):
        weights = [0.0] * num_labels
        seen = [False] * num_labels
        for fid in _refs(data, off_attrrefs, a):
            ftype, _src, dst, weight = features[fid]
            if ftype != 0 or seen[dst]:
                raise ValueError("unexpected attribute reference in the model")
            seen[dst] = True
            weights[dst] = weight
        if name in state:
            raise ValueError(f"attribute {name!r} appears twice")
        state[name] = tuple(weights)
    return CRFModel(labels, state, tuple(tuple(row) for row in trans))
