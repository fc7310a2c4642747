"""pYIN pitch tracking, as `librosa.pyin` with its defaults computes it, in numpy and scipy.fft.

The same YIN difference function, trough priors, observation model and Viterbi path as librosa 0.11
(results equal to the bit), without librosa: importing it loads numba and every numba-compiled
function of ``librosa.util`` and ``librosa.core`` (4-5 s of a process's first filler call on
loaded cores). The HMM is built once per shape and decoded on its band of non-zero transitions.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft
import scipy.special

#: pYIN's defaults (librosa 0.11): thresholds, their beta(2, 18) prior, the trough prior, the HMM
PYIN_THRESHOLDS = np.linspace(0.0, 1.0, 101)
PYIN_BETA_PROBS = np.diff(scipy.special.betainc(2, 18, PYIN_THRESHOLDS))
#: ``np.sum(PYIN_BETA_PROBS[:n])`` for n = 0..100, summed as librosa sums them
PYIN_BETA_PREFIX = np.array([np.sum(PYIN_BETA_PROBS[:n]) for n in range(len(PYIN_BETA_PROBS) + 1)])
PYIN_BOLTZMANN = 2.0
PYIN_NO_TROUGH_PROB = 0.01
PYIN_SWITCH_PROB = 0.01
PYIN_MAX_TRANSITION_RATE = 35.92
PYIN_BINS_PER_SEMITONE = 10


def tiny(x: np.ndarray) -> float:
    """Smallest positive normal number of ``x``'s float type (librosa's ``util.tiny`` offset)."""
    return float(np.finfo(x.dtype).tiny)


def frames_of(padded: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """``(frame_length, n_frames)`` view of ``padded``, one column per hop (``librosa.util.frame``)."""
    return np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length].T


def cumulative_mean_normalized_difference(frames: np.ndarray, min_period: int, max_period: int) -> np.ndarray:
    """YIN's cumulative mean normalised difference of each frame, periods ``min_period..max_period``.

    The autocorrelation comes from one real FFT per frame, its power summed in the frames' own
    float type, as librosa computes it.
    """
    n_fft = scipy.fft.next_fast_len(2 * frames.shape[0] - 1, real=True)
    spectrum = scipy.fft.rfft(frames, n=n_fft, axis=0)
    acf = scipy.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=n_fft, axis=0)[: min(max_period + 1, len(frames))]
    energy = np.cumsum(np.square(frames), axis=0)
    energy[0] = 0
    lags = slice(1, max_period + 1)
    energy[lags] = 2 * (acf[0:1] - acf[lags]) - energy[: lags.stop - 1]
    numerator = energy[min_period : max_period + 1]
    cumulative_mean = np.cumsum(energy[lags], axis=0) / np.arange(1, max_period + 1).reshape(-1, 1)
    denominator = cumulative_mean[min_period - 1 : max_period]
    return numerator / (denominator + tiny(denominator))


def parabolic_shifts(yin_frames: np.ndarray) -> np.ndarray:
    """Offset of the parabola through each period and its neighbours (0 where it leaves ``[-1, 1]``
    and at both ends), computed in float64 and stored in the frames' type like librosa's stencil."""
    below, centre, above = yin_frames[:-2], yin_frames[1:-1], yin_frames[2:]
    curvature = (above + below).astype(np.float64) - 2 * centre.astype(np.float64)
    slope = (above - below).astype(np.float64) / 2
    shifts = np.zeros_like(yin_frames)
    with np.errstate(divide="ignore", invalid="ignore"):
        shifts[1:-1] = np.where(np.abs(slope) >= np.abs(curvature), 0.0, -slope / curvature)
    return shifts


def troughs(yin_frames: np.ndarray) -> np.ndarray:
    """Periods that are local minima of each frame's difference function (first period: below
    the second; last: below the one before)."""
    is_trough = np.zeros(yin_frames.shape, dtype=bool)
    is_trough[1:-1] = (yin_frames[1:-1] < yin_frames[:-2]) & (yin_frames[1:-1] <= yin_frames[2:])
    is_trough[0] = yin_frames[0] < yin_frames[1]
    is_trough[-1] = yin_frames[-1] < yin_frames[-2]
    return is_trough


def triangle_window(width: int) -> np.ndarray:
    """Symmetric triangular window of ``width`` points (``scipy.signal.windows.triang``)."""
    n = np.arange(1, (width + 1) // 2 + 1)
    if width % 2 == 0:
        half = (2 * n - 1.0) / width
        return np.r_[half, half[::-1]]
    half = 2 * n / (width + 1.0)
    return np.r_[half, half[-2::-1]]


def local_transition(n_states: int, width: int) -> np.ndarray:
    """Row-normalised triangular band of ``width`` around the diagonal, not wrapped
    (``librosa.sequence.transition_local(..., window="triangle", wrap=False)``)."""
    window = triangle_window(width)
    left = (n_states - width) // 2
    row = np.pad(window, (left, n_states - width - left))
    transition = np.zeros((n_states, n_states))
    for i in range(n_states):
        shifted = np.roll(row, n_states // 2 + i + 1)
        shifted[min(n_states, i + width // 2 + 1) :] = 0
        shifted[: max(0, i - width // 2)] = 0
        transition[i] = shifted
    return transition / transition.sum(axis=1, keepdims=True)


def voicing_transition(stay_prob: float) -> np.ndarray:
    """Two-state (voiced, unvoiced) transition that stays with ``stay_prob``
    (``librosa.sequence.transition_loop(2, stay_prob)``)."""
    return np.array([[stay_prob, 1.0 - stay_prob], [1.0 - stay_prob, stay_prob]])


@functools.cache
def pyin_hmm(n_pitch_bins: int, transition_width: int) -> tuple[np.ndarray, ...]:
    """pYIN's pitch/voicing HMM in banded form, built once per shape (`librosa.pyin` rebuilds it).

    Returns ``(predecessors, log_weights, log_outside, log_init)``: for each state ``j`` the
    states that reach it with non-zero probability (ascending, padded with weight -inf) and the
    log transition probabilities from them; every other transition has ``log_outside``
    (the log of librosa's ``tiny`` offset, as in `librosa.sequence.viterbi`).
    """
    local = local_transition(n_pitch_bins, transition_width)
    transition = np.kron(voicing_transition(1 - PYIN_SWITCH_PROB), local)
    epsilon = tiny(transition)
    log_trans = np.log(transition + epsilon)
    inside = transition > 0
    width = int(inside.sum(axis=0).max())
    predecessors = np.zeros((len(transition), width), dtype=np.intp)
    log_weights = np.full((len(transition), width), -np.inf)
    for j in range(len(transition)):
        (rows,) = np.nonzero(inside[:, j])
        predecessors[j, : len(rows)] = rows
        log_weights[j, : len(rows)] = log_trans[rows, j]
    log_init = np.log(np.full(len(transition), 1.0 / len(transition)) + epsilon)
    return predecessors, log_weights, float(np.log(epsilon)), log_init


def banded_viterbi(log_obs: np.ndarray, predecessors: np.ndarray, log_weights: np.ndarray,
                   log_outside: float, log_init: np.ndarray) -> np.ndarray:
    """Most likely state per frame of ``log_obs`` (frames x states), as `librosa.sequence.viterbi`.

    Only the banded transitions are scored per state; the best of all the others is the overall
    best previous state plus ``log_outside``, so the decoded path and its tie-breaking (first
    best predecessor) match the dense computation.
    """
    n_frames, n_states = log_obs.shape
    states = np.arange(n_states)
    pointers = np.zeros((n_frames, n_states), dtype=np.intp)
    value = log_obs[0] + log_init
    for t in range(1, n_frames):
        scores = value[predecessors] + log_weights
        best = scores.argmax(axis=1)
        pointer = predecessors[states, best]
        score = scores[states, best]
        overall = int(value.argmax())
        outside = value[overall] + log_outside
        jump = (outside > score) | ((outside == score) & (overall < pointer))
        pointer[jump] = overall
        score[jump] = outside
        pointers[t] = pointer
        value = log_obs[t] + score
    path = np.empty(n_frames, dtype=np.intp)
    path[-1] = value.argmax()
    for t in range(n_frames - 1, 0, -1):
        path[t - 1] = pointers[t, path[t]]
    return path


def _observations(yin_frames: np.ndarray, shifts: np.ndarray, sr: int, *, min_period: int,
                  fmin: float, n_pitch_bins: int) -> np.ndarray:
    """pYIN's observation probabilities (states x frames), all frames at once.

    The per-frame computation of librosa's pYIN helper (trough priors over the thresholds with
    a Boltzmann prior on the trough rank, beta-weighted), vectorised over every trough.
    """
    frame, period = np.nonzero(troughs(yin_frames).T)
    yin_probs = np.zeros_like(yin_frames)
    if frame.size:
        heights = yin_frames[period, frame]
        below = np.less.outer(heights, PYIN_THRESHOLDS[1:])
        starts = np.flatnonzero(np.diff(frame, prepend=-1))
        group = np.cumsum(np.diff(frame, prepend=frame[0]) != 0)
        running = np.cumsum(below, axis=0)
        before = np.vstack([np.zeros((1, below.shape[1]), dtype=running.dtype), running[starts[1:] - 1]])
        ends = np.append(starts[1:], len(frame)) - 1
        positions = running - before[group] - 1
        counts = (running[ends] - before)[group]
        decay = -PYIN_BOLTZMANN
        fact = (1 - np.exp(decay)) / (1 - np.exp(decay * np.maximum(counts, 1)))
        prior = np.where(below, fact * np.exp(decay * positions), 0.0)
        probs = prior.dot(PYIN_BETA_PROBS)
        first_min = np.flatnonzero(heights == np.minimum.reduceat(heights, starts)[group])
        global_min = first_min[np.flatnonzero(np.diff(group[first_min], prepend=-1))]
        n_below_min = np.count_nonzero(~below[global_min], axis=1)
        probs[global_min] += PYIN_NO_TROUGH_PROB * PYIN_BETA_PREFIX[n_below_min]
        yin_probs[period, frame] = probs
    yin_period, frame_index = np.nonzero(yin_probs)
    period_candidates = min_period + yin_period
    period_candidates = period_candidates + shifts[yin_period, frame_index]
    bin_index = 12 * PYIN_BINS_PER_SEMITONE * np.log2(sr / period_candidates / fmin)
    bin_index = np.clip(np.round(bin_index), 0, n_pitch_bins).astype(int)
    observation = np.zeros((2 * n_pitch_bins, yin_frames.shape[1]))
    observation[bin_index, frame_index] = yin_probs[yin_period, frame_index]
    voiced_prob = np.clip(np.sum(observation[:n_pitch_bins, :], axis=0, keepdims=True), 0, 1)
    observation[n_pitch_bins:, :] = (1 - voiced_prob) / n_pitch_bins
    return observation


def pyin(segment: np.ndarray, sr: int, *, fmin: float, fmax: float, frame_length: int,
         hop_length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(f0, voiced)`` per frame, as `librosa.pyin` with its defaults returns them."""
    padded = np.pad(segment, (frame_length // 2, frame_length // 2))
    frames = frames_of(padded, frame_length, hop_length)
    min_period = int(np.floor(sr / fmax))
    max_period = min(int(np.ceil(sr / fmin)), frame_length - 1)
    yin_frames = cumulative_mean_normalized_difference(frames, min_period, max_period)
    n_pitch_bins = int(np.floor(12 * PYIN_BINS_PER_SEMITONE * np.log2(fmax / fmin))) + 1
    observation = _observations(
        yin_frames, parabolic_shifts(yin_frames), sr, min_period=min_period, fmin=fmin, n_pitch_bins=n_pitch_bins
    )
    semitones_per_frame = round(PYIN_MAX_TRANSITION_RATE * 12 * hop_length / sr)
    hmm = pyin_hmm(n_pitch_bins, semitones_per_frame * PYIN_BINS_PER_SEMITONE + 1)
    log_obs = np.log(observation + tiny(observation))
    states = banded_viterbi(log_obs.T, *hmm)
    f0 = fmin * 2 ** (np.arange(n_pitch_bins) / (12 * PYIN_BINS_PER_SEMITONE))
    return f0[states % n_pitch_bins], states < n_pitch_bins
