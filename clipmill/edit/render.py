"""One ffmpeg pass from an edit plan: cuts, speed-ups, click-free joins, H.264/AAC.

Video is cut with a single ``select`` and re-timed with a piecewise ``setpts`` (one decode, no
per-segment buffering): the plan counts whole frames, sped-up pieces keep one source frame per
output frame, and every kept frame lands on the output frame grid, so the video is constant-rate
with exactly ``plan.output_frames`` frames and no ``fps`` filter is needed. Seconds appear only
in the filter text. Audio is cut per segment with ``atrim``, stretched with ``atempo``
(pitch kept), faded for a few milliseconds at every join, and padded/trimmed to the exact segment
length so it can never drift from the video. The graph is returned as text for
``-filter_complex_script`` so long plans do not hit argument-length limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clipmill.edit.crop_filters import CROP, FOREGROUND_CROP, FOREGROUND_SCALE
from clipmill.edit.edl import EditPlan, EditSegment
from clipmill.media.encode import EncoderSettings, codec_args
from clipmill.media.tool import input_guard
from clipmill.timebase import FrameRate
from clipmill.vision.framing import FramingPath, crop_commands, foreground, window_commands

JOIN_FADE_S = 0.006


@dataclass(frozen=True)
class Crop:
    """A crop window in source pixels, scaled to the output size; `commands` (a ``sendcmd`` file)
    moves it frame by frame, starting from ``(x, y)``.

    With `composite`, the cropped region (``crop@fg``, resized by the commands too) is scaled to
    a size the commands give (``scale@fg``) and centred over a blurred, zoomed copy of the whole
    frame that covers the output: where the region fills the output the background is hidden.
    """

    width: int
    height: int
    x: int
    y: int
    out_width: int
    out_height: int
    commands: Path | None = None
    composite: bool = False


@dataclass(frozen=True)
class Subtitles:
    """An ASS file burned onto the output frames (libass, in the same pass), its fonts in `fonts_dir`."""

    file: Path
    fonts_dir: Path

    def filter(self) -> str:
        return f"ass=filename={_filter_value(self.file)}:fontsdir={_filter_value(self.fonts_dir)}"


def _filter_value(path: Path) -> str:
    """`path` as a filter option value inside a graph script: escaped for the option parser (``\\ : '``),
    then for the graph parser (``\\ ' [ ] , ;``), so a folder named ``a:b,c`` still reaches libass whole."""
    option = "".join("\\" + c if c in "\\:'" else c for c in str(path))
    return "".join("\\" + c if c in "\\'[],;" else c for c in option)


def framing_crop(path: FramingPath, commands: Path) -> Crop:
    """The moving crop of a framing plan, driven by the ``sendcmd`` file `commands` (its text is
    `framing_commands`); a composite (size-changing or letterboxed) plan starts from its first
    frame's foreground region."""
    if path.composite:
        x, y, width, height = foreground(path)[0, :4].tolist()
        return Crop(width=width, height=height, x=x, y=y, out_width=path.out_width, out_height=path.out_height,
                    commands=commands, composite=True)
    return Crop(
        width=path.crop_width, height=path.crop_height, x=int(path.x[0]), y=int(path.y[0]),
        out_width=path.out_width, out_height=path.out_height, commands=commands,
    )


def framing_commands(path: FramingPath) -> str:
    """The ``sendcmd`` text that moves `framing_crop`'s filters frame by frame."""
    return window_commands(path) if path.composite else crop_commands(path)


def filter_graph(
    plan: EditPlan, *, has_audio: bool, crop: Crop | None = None, fade_s: float = JOIN_FADE_S,
    subtitles: Subtitles | None = None,
) -> str:
    """The ``-filter_complex`` graph for `plan`: outputs ``[vout]`` and, with audio, ``[aout]``.

    `subtitles` are drawn last, on the output timeline and frame (after the cut, speed-ups and crop)."""
    rate = plan.rate
    keep = _balanced_sum([_keep_frame(segment, rate) for segment in plan.segments])
    video = [f"[0:v]select='{keep}'", f"setpts='({_retime(plan.segments, rate)})/TB'"]
    if crop is not None and crop.composite:
        lines = _composite_lines(video, crop)
    else:
        if crop is not None:
            if crop.commands is not None:
                video.append(f"sendcmd=f={crop.commands}")
            video += [
                f"{CROP}={crop.width}:{crop.height}:{crop.x}:{crop.y}",
                f"scale={crop.out_width}:{crop.out_height}:flags=lanczos", "setsar=1",
            ]
        lines = [",".join(video) + "[vout]"]
    if subtitles is not None:
        lines[-1] = lines[-1].removesuffix("[vout]") + f",{subtitles.filter()}[vout]"
    if has_audio:
        count = len(plan.segments)
        lines.append(f"[0:a]asplit={count}" + "".join(f"[as{i}]" for i in range(count)) if count > 1 else "[0:a]anull[as0]")
        for i in range(count):
            lines.append(f"[as{i}]" + ",".join(_audio_chain(plan, i, fade_s)) + f"[a{i}]")
        lines.append("".join(f"[a{i}]" for i in range(count)) + f"concat=n={count}:v=0:a=1[aout]")
    return ";\n".join(lines)


def _composite_lines(video: list[str], crop: Crop) -> list[str]:
    """Graph lines that overlay the moving foreground of `crop` on a blurred background, ending in ``[vout]``.

    The background is blurred at a quarter of the output size (cheap, and the blur hides the
    upscale); the overlay position is re-evaluated per frame because the foreground's size changes.
    """
    small_w, small_h = max(2, crop.out_width // 8 * 2), max(2, crop.out_height // 8 * 2)
    radius = max(1, min(small_w, small_h) // 8)
    commands = [f"sendcmd=f={crop.commands}"] if crop.commands is not None else []
    background = [
        f"[full]scale={small_w}:{small_h}:force_original_aspect_ratio=increase", f"crop={small_w}:{small_h}",
        f"boxblur=luma_radius={radius}:luma_power=2", f"scale={crop.out_width}:{crop.out_height}", "setsar=1[bg]",
    ]
    foreground = [
        f"[fgin]{FOREGROUND_CROP}={crop.width}:{crop.height}:{crop.x}:{crop.y}",
        f"{FOREGROUND_SCALE}={crop.out_width}:{crop.out_height}:flags=lanczos", "setsar=1[fg]",
    ]
    return [
        ",".join([*video, *commands, "split[full][fgin]"]), ",".join(background), ",".join(foreground),
        "[bg][fg]overlay=x=(W-w)/2:y=(H-h)/2:eval=frame,setsar=1[vout]",
    ]


def _source_index(segment: EditSegment, rate: FrameRate, time: str) -> str:
    """Expression: index, from the segment's first frame, of the grid frame nearest to `time`.

    Rounding to the nearest frame (not comparing times) makes membership immune to a sub-frame
    offset of the decoded timestamps (an input seek that lands just after a grid point), which on
    2997/100 material otherwise gains or loses a frame per cut.
    """
    return f"(floor({time}*{rate.numerator}/{rate.denominator}+0.5)-{segment.start_frame})"


def _output_index(segment: EditSegment, rate: FrameRate, time: str) -> str:
    """Expression: the output frame index within `segment` of the source frame at `time` (integer
    arithmetic: source index times output frames over source frames, floored)."""
    index = _source_index(segment, rate, time)
    if segment.speed == 1:
        return index
    return f"floor({index}*{segment.output_frames}/{segment.source_frames})"


def _inside(segment: EditSegment, rate: FrameRate, time: str) -> str:
    """Expression: the frame at `time` is one of the segment's source frames."""
    return f"between({_source_index(segment, rate, time)},0,{segment.source_frames - 1})"


def _keep_frame(segment: EditSegment, rate: FrameRate) -> str:
    """Expression: source frame at ``t`` is in `segment` and is the first one of its output frame.

    At speed 1 that is every frame; at speed k about one in k, chosen on the output frame grid so
    the piece plays exactly ``segment.output_frames`` frames.
    """
    inside = _inside(segment, rate, "t")
    if segment.speed == 1:
        return inside
    step = f"{rate.denominator}/{rate.numerator}"
    return f"{inside}*gt({_output_index(segment, rate, 't')},{_output_index(segment, rate, f'(t-{step})')})"


def _retime(segments: tuple[EditSegment, ...], rate: FrameRate) -> str:
    """Piecewise map from source time ``T`` to output time on the frame grid: one term is non-zero.

    Offsets are counted in whole output frames, so the output grid never accumulates rounding.
    """
    terms, offset = [], 0
    for s in segments:
        terms.append(
            f"{_inside(s, rate, 'T')}*({offset}+{_output_index(s, rate, 'T')})*{rate.denominator}/{rate.numerator}"
        )
        offset += s.output_frames
    return _balanced_sum(terms)


def _balanced_sum(terms: list[str]) -> str:
    """``a+b+c+d`` as ``((a+b)+(c+d))``: ffmpeg's expression parser recurses once per operator,
    so a flat sum of a few hundred segments exhausts it; a balanced tree needs only log2(n) levels."""
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return f"({_balanced_sum(terms[:middle])}+{_balanced_sum(terms[middle:])})"


def _audio_chain(plan: EditPlan, index: int, fade_s: float) -> list[str]:
    """Filters that cut segment `index` from the audio, stretch it, fade it where the source jumps
    and pad/trim it to exactly its output frames' length."""
    segments, rate = plan.segments, plan.rate
    segment = segments[index]
    start_s, end_s = plan.source_span(segment)
    length = rate.seconds(segment.output_frames)
    chain = [f"atrim=start={start_s:.6f}:end={end_s:.6f}", "asetpts=PTS-STARTPTS"]
    if segment.speed != 1:
        chain.append(f"atempo={float(segment.speed):g}")
    fade = min(fade_s, length / 4)
    joined_before = index > 0 and segments[index - 1].end_frame == segment.start_frame
    joined_after = index + 1 < len(segments) and segments[index + 1].start_frame == segment.end_frame
    if index > 0 and not joined_before:
        chain.append(f"afade=t=in:st=0:d={fade:.6f}")
    if index + 1 < len(segments) and not joined_after:
        chain.append(f"afade=t=out:st={length - fade:.6f}:d={fade:.6f}")
    chain += [f"apad=whole_dur={length:.6f}", f"atrim=end={length:.6f}"]
    return chain


def render_args(
    source: Path, output: Path, graph_file: Path, *, has_audio: bool, settings: EncoderSettings,
    window: tuple[float, float] | None = None, ffmpeg: str = "ffmpeg",
) -> list[str]:
    """ffmpeg arguments that apply the graph in `graph_file` to `source` and encode `output`.

    `window` ``(start_s, duration_s)`` reads that range of a longer file with an accurate input
    seek, so the plan's times (from the range's start) address its frames directly.
    """
    maps = ["-map", "[vout]"] + (["-map", "[aout]"] if has_audio else [])
    seek = ["-ss", f"{window[0]:.6f}", "-t", f"{window[1]:.6f}"] if window else []
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        *input_guard(), *seek, "-i", str(source),
        "-filter_complex_script", str(graph_file), *maps,
        *codec_args(settings, has_audio=has_audio), str(output),
    ]
