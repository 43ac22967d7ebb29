"""The order in which a benchmark round times its implementations.

Rotating one fixed order (round r starting with the r-th) puts every implementation first once but behind the same
neighbour every other time, and the one timed right after cuDNN read up to 7% low in an A/A run (bench/RESULTS.md,
Hopper, 2026-11-24 02:20: of two copies of one library, the other read higher at all 16 points, by up to 7%).
Rows of a Williams square instead: over n rounds of n implementations each takes every position once and, for
even n, follows every other one once (odd n: the next n rounds run the rows backwards, which evens out the
neighbours over 2n).
"""


def round_order(n, r):
    """Indices 0..n-1 in the order round r times them: row r mod n of the Williams square
    0, 1, n-1, 2, n-2, ... (+ r mod n)."""
    steps, lo, hi = [0], 1, n - 1
    while len(steps) < n:
        steps.append(lo)
        lo += 1
        if len(steps) < n:
            steps.append(hi)
            hi -= 1
    order = [(r + s) % n for s in steps]
    return order[::-1] if n % 2 == 1 and (r // n) % 2 == 1 else order
