#!/usr/bin/env python3
"""How much a bf16 Winograd F(4x4, 3x3) convolution errs, for a choice of interpolation points.

Builds A^T, G and B^T for the points given (Toom-Cook, with the point at infinity; B^T is solved from the identity
A^T [(G g) * (B^T d)] = correlation(d, g) and checked), then compares on random activation-like patches (positive,
per-channel offsets) the RMS error of bf16-rounded transformed inputs and weights, summed in float64, against that
of a direct convolution on bf16-rounded inputs and weights. Sources/CWinograd/Winograd.c uses the points this
prints as best, with the per-tile offset the second table shows.

  python3 tools/winograd_points.py [--trials 400] [--channels 64]

Needs numpy.
"""

import argparse

import numpy as np


def bf16(x: np.ndarray) -> np.ndarray:
    """Round to bf16 (nearest even), back in float64."""
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16
    return b.astype(np.uint32).view(np.float32).astype(np.float64)


def matrices(points: list[float], m: int = 4, r: int = 3):
    n = m + r - 1
    at = np.zeros((m, n))
    for j in range(n - 1):
        for i in range(m):
            at[i, j] = points[j] ** i
    at[m - 1, n - 1] = 1
    g = np.zeros((n, r))
    for j in range(n - 1):
        denominator = np.prod([points[j] - points[k] for k in range(n - 1) if k != j])
        for k in range(r):
            g[j, k] = points[j] ** k / denominator
    g[n - 1, r - 1] = 1
    rows, rhs = [], []
    for k in range(r):
        shift = np.zeros((m, n))
        for i in range(m):
            shift[i, i + k] = 1
        rows.append(np.kron(at * g[:, k][None, :], np.eye(n)))
        rhs.append(shift.reshape(-1))
    system, target = np.vstack(rows), np.concatenate(rhs)
    solution = np.linalg.lstsq(system, target, rcond=None)[0]
    residual = np.abs(system @ solution - target).max()
    if residual > 1e-9:
        raise SystemExit(f"no exact B^T for points {points} (residual {residual:.1e})")
    return at, g, solution.reshape(n, n)


def errors(at, g_matrix, bt, rng, trials: int, channels: int, offset: bool) -> tuple[float, float]:
    wino, direct = [], []
    for _ in range(trials):
        d = np.abs(rng.normal(0, 0.5, (channels, 6, 6))) * rng.random((channels, 1, 1)) * 2
        d += 0.5 * rng.random((channels, 1, 1))
        g = rng.normal(0, 0.05, (channels, 3, 3))
        exact = np.array([[np.sum(d[:, i : i + 3, j : j + 3] * g) for j in range(4)] for i in range(4)])
        mu = d[:, 1:3, 1:3].mean(axis=(1, 2)) if offset else np.zeros(channels)
        v = np.einsum("ik,ckl,jl->cij", bt, d - mu[:, None, None], bt)
        u = np.einsum("ik,ckl,jl->cij", g_matrix, g, g_matrix)
        y = at @ np.sum(bf16(v) * bf16(u), axis=0) @ at.T + np.sum(mu * g.sum(axis=(1, 2)))
        db, gb = bf16(d), bf16(g)
        yd = np.array([[np.sum(db[:, i : i + 3, j : j + 3] * gb) for j in range(4)] for i in range(4)])
        wino.append(np.sqrt(np.mean((y - exact) ** 2)))
        direct.append(np.sqrt(np.mean((yd - exact) ** 2)))
    return float(np.mean(wino)), float(np.mean(direct))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--channels", type=int, default=64)
    args = parser.parse_args()
    candidates = {
        "0, 1, -1, 2, -2 (textbook)": [0, 1, -1, 2, -2],
        "0, 1, -1, 1/2, -1/2": [0, 1, -1, 0.5, -0.5],
        "0, 1, -1, 2, -1/2": [0, 1, -1, 2, -0.5],
        "0, 1, -1, 3/4, -3/4": [0, 1, -1, 0.75, -0.75],
    }
    for offset in (False, True):
        print(f"per-tile offset: {'yes' if offset else 'no'}")
        for name, points in candidates.items():
            at, g, bt = matrices(points)
            wino, direct = errors(at, g, bt, np.random.default_rng(0), args.trials, args.channels, offset)
            print(f"  {name:28s} RMS error {wino:.2e}, direct bf16 {direct:.2e}, ratio {wino / direct:.1f}")


if __name__ == "__main__":
    main()
