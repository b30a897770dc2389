"""A real, playable MP4 made from nothing: colour bars as H.264 in an ISO-BMFF file.

The first frame is an IDR picture of I_PCM macroblocks (raw samples, so no transform or entropy
coder is needed); every later frame is a P picture whose macroblocks are all skipped, so it repeats
the first. The result is a constrained-baseline H.264 stream that ffprobe, browsers and video
players open, of any frame size and length, and only about one raw frame in size.
"""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict

# Colour bars in limited-range YCbCr: white, yellow, cyan, green, magenta, red, blue, black.
_BARS = (
    (180, 128, 128),
    (168, 44, 136),
    (145, 147, 44),
    (133, 63, 52),
    (63, 193, 204),
    (51, 109, 212),
    (28, 212, 120),
    (16, 128, 128),
)
_LOG2_MAX_FRAME_NUM = 16


class _Bits:
    """An RBSP being written bit by bit."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def u(self, width: int, value: int) -> None:
        for shift in range(width - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> shift) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc = self.n = 0

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(code.bit_length() * 2 - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        if self.n:
            self.u(8 - self.n, 0)

    def raw(self, data: bytes) -> None:
        assert self.n == 0
        self.out += data

    def trailing(self) -> bytes:
        self.u(1, 1)
        self.align_zero()
        return bytes(self.out)


def _nal(ref_idc: int, kind: int, rbsp: bytes) -> bytes:
    """A NAL unit: header byte, then the RBSP with emulation prevention bytes inserted."""
    out = bytearray([(ref_idc << 5) | kind])
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _level(macroblocks: int) -> int:
    for level, limit in ((30, 1620), (31, 3600), (40, 8192), (51, 36864)):
        if macroblocks <= limit:
            return level
    return 60


def _sps(mb_w: int, mb_h: int, width: int, height: int) -> bytes:
    b = _Bits()
    b.u(8, 66)  # baseline profile
    b.u(8, 0xC0)  # constraint_set0 and set1: constrained baseline
    b.u(8, _level(mb_w * mb_h))
    b.ue(0)  # seq_parameter_set_id
    b.ue(_LOG2_MAX_FRAME_NUM - 4)
    b.ue(2)  # pic_order_cnt_type 2: output order is decode order
    b.ue(1)  # max_num_ref_frames
    b.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    b.ue(mb_w - 1)
    b.ue(mb_h - 1)
    b.u(1, 1)  # frame_mbs_only_flag
    b.u(1, 1)  # direct_8x8_inference_flag
    crop_right, crop_bottom = (mb_w * 16 - width) // 2, (mb_h * 16 - height) // 2
    b.u(1, 1 if crop_right or crop_bottom else 0)
    if crop_right or crop_bottom:
        for offset in (0, crop_right, 0, crop_bottom):
            b.ue(offset)
    b.u(1, 0)  # vui_parameters_present_flag
    return _nal(3, 7, b.trailing())


def _pps() -> bytes:
    b = _Bits()
    b.ue(0)  # pic_parameter_set_id
    b.ue(0)  # seq_parameter_set_id
    b.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    b.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    b.ue(0)  # num_slice_groups_minus1
    b.ue(0)  # num_ref_idx_l0_default_active_minus1
    b.ue(0)  # num_ref_idx_l1_default_active_minus1
    b.u(1, 0)  # weighted_pred_flag
    b.u(2, 0)  # weighted_bipred_idc
    b.se(0)  # pic_init_qp_minus26
    b.se(0)  # pic_init_qs_minus26
    b.se(0)  # chroma_qp_index_offset
    b.u(1, 1)  # deblocking_filter_control_present_flag
    b.u(1, 0)  # constrained_intra_pred_flag
    b.u(1, 0)  # redundant_pic_cnt_present_flag
    return _nal(3, 8, b.trailing())


def _slice_header(b: _Bits, idr: bool, frame_num: int) -> None:
    b.ue(0)  # first_mb_in_slice
    b.ue(7 if idr else 5)  # slice_type: I or P, all slices of the picture alike
    b.ue(0)  # pic_parameter_set_id
    b.u(_LOG2_MAX_FRAME_NUM, frame_num)
    if idr:
        b.ue(0)  # idr_pic_id
    else:
        b.u(1, 0)  # num_ref_idx_active_override_flag
        b.u(1, 0)  # ref_pic_list_modification_flag_l0
    if idr:
        b.u(1, 0)  # no_output_of_prior_pics_flag
        b.u(1, 0)  # long_term_reference_flag
    else:
        b.u(1, 0)  # adaptive_ref_pic_marking_mode_flag
    b.se(0)  # slice_qp_delta
    b.ue(1)  # disable_deblocking_filter_idc: off


def _idr(mb_w: int, mb_h: int) -> bytes:
    b = _Bits()
    _slice_header(b, idr=True, frame_num=0)
    for _row in range(mb_h):
        for col in range(mb_w):
            y, cb, cr = _BARS[col * len(_BARS) // mb_w]
            b.ue(25)  # mb_type I_PCM
            b.align_zero()
            b.raw(bytes([y]) * 256 + bytes([cb]) * 64 + bytes([cr]) * 64)
    return _nal(3, 5, b.trailing())


def _skipped(macroblocks: int, frame_num: int) -> bytes:
    b = _Bits()
    _slice_header(b, idr=False, frame_num=frame_num % (1 << _LOG2_MAX_FRAME_NUM))
    b.ue(macroblocks)  # mb_skip_run: the whole picture
    return _nal(2, 1, b.trailing())


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, version_flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version_flags), *parts)


_FPS = 24
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _moov(width: int, height: int, sps: bytes, pps: bytes, sizes: list[int], mdat_offset: int) -> bytes:
    frames = len(sizes)
    timescale, delta = _FPS * 512, 512
    duration = frames * delta
    avcc = _box(
        b"avcC",
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),
        struct.pack(">H", len(sps)),
        sps,
        b"\x01",
        struct.pack(">H", len(pps)),
        pps,
    )
    avc1 = _box(
        b"avc1",
        b"\x00" * 6 + struct.pack(">H", 1),  # reserved, data_reference_index
        b"\x00" * 16,  # pre_defined and reserved
        struct.pack(">HH", width, height),
        struct.pack(">II", 0x00480000, 0x00480000),  # 72 dpi
        struct.pack(">IH", 0, 1),  # reserved, frame_count
        bytes([5]) + b"ormock".ljust(31, b"\x00"),  # compressorname
        struct.pack(">Hh", 0x18, -1),  # depth, pre_defined
        avcc,
    )
    stbl = _box(
        b"stbl",
        _full(b"stsd", 0, struct.pack(">I", 1), avc1),
        _full(b"stts", 0, struct.pack(">III", 1, frames, delta)),
        _full(b"stss", 0, struct.pack(">II", 1, 1)),
        _full(b"stsc", 0, struct.pack(">IIII", 1, 1, frames, 1)),
        _full(b"stsz", 0, struct.pack(">II", 0, frames), struct.pack(f">{frames}I", *sizes)),
        _full(b"stco", 0, struct.pack(">II", 1, mdat_offset)),
    )
    minf = _box(
        b"minf",
        _full(b"vmhd", 1, struct.pack(">HHHH", 0, 0, 0, 0)),
        _box(b"dinf", _full(b"dref", 0, struct.pack(">I", 1), _full(b"url ", 1))),
        stbl,
    )
    mdia = _box(
        b"mdia",
        _full(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0)),  # language "und"
        _full(b"hdlr", 0, struct.pack(">I", 0), b"vide", b"\x00" * 12, b"VideoHandler\x00"),
        minf,
    )
    tkhd = _full(
        b"tkhd",
        3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, 1, 0, duration),
        b"\x00" * 8,
        struct.pack(">hhhH", 0, 0, 0, 0),
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mvhd = _full(
        b"mvhd",
        0,
        struct.pack(">IIII", 0, 0, timescale, duration),
        struct.pack(">IH", 0x10000, 0x100),
        b"\x00" * 10,
        _MATRIX,
        b"\x00" * 24,
        struct.pack(">I", 2),  # next_track_ID
    )
    return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))


# What ormock generates, at most (docs/limits.md): a submit may ask any size of a model that
# declares none, but the video served is scaled down to fit, its aspect ratio kept.
MAX_SIDE = 4096  # pixels, either side
MAX_AREA = 3840 * 2160  # pixels per frame: 4K UHD (the MP4 is about one raw frame, ~12.5 MB)
MAX_SECONDS = 120.0
CACHE_BYTES = 64 * 1024 * 1024  # generated videos kept for the next download of the same shape


def capped(width: int, height: int, seconds: float) -> tuple[int, int, float]:
    """The frame size and length ormock generates for a requested one: within the caps above."""
    width, height = max(2, width), max(2, height)
    scale = min(1.0, MAX_SIDE / width, MAX_SIDE / height, (MAX_AREA / (width * height)) ** 0.5)
    if scale < 1.0:
        width, height = max(2, int(width * scale)), max(2, int(height * scale))
    return width, height, min(max(seconds, 1 / _FPS), MAX_SECONDS)


_cache: OrderedDict[tuple[int, int, float], bytes] = OrderedDict()
_cache_lock = threading.Lock()


def video(width: int, height: int, seconds: float) -> bytes:
    """The MP4 served for a job of this shape, capped, from a cache bounded by `CACHE_BYTES`. Safe
    to call from worker threads (the app builds videos off its event loop)."""
    key = capped(width, height, seconds)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    made = make_mp4(*key)
    with _cache_lock:
        _cache[key] = made
        while sum(len(v) for v in _cache.values()) > CACHE_BYTES and len(_cache) > 1:
            _cache.popitem(last=False)
    return made


def make_mp4(width: int, height: int, seconds: float) -> bytes:
    """An MP4 of colour bars, `width`x`height` (rounded up to even), `seconds` long at 24 fps."""
    width, height = max(2, width + width % 2), max(2, height + height % 2)
    mb_w, mb_h = (width + 15) // 16, (height + 15) // 16
    sps, pps = _sps(mb_w, mb_h, width, height), _pps()
    frames = max(1, round(seconds * _FPS))
    nals = [_idr(mb_w, mb_h)] + [_skipped(mb_w * mb_h, n) for n in range(1, frames)]
    samples = [struct.pack(">I", len(nal)) + nal for nal in nals]
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    sizes = [len(s) for s in samples]
    # moov's size does not depend on the offset it records, so measure it once, then write it.
    moov_size = len(_moov(width, height, sps, pps, sizes, 0))
    mdat_offset = len(ftyp) + moov_size + 8
    moov = _moov(width, height, sps, pps, sizes, mdat_offset)
    return ftyp + moov + _box(b"mdat", *samples)
