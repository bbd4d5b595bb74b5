"""
Simulated SPY path 2020-2022: stochastic volatility with jumps, bridged
through SPY's real closes so the sample follows the actual course (the
Feb-Mar 2020 crash, the 2021 rally, the 2022 bear market).

The volatility has two factors, as in Bergomi's two-factor model of forward variances
(Bergomi 2005): a square-root variance that reverts to the year's regime (Heston 1993)
and a fast log-normal factor (Scott 1987) that moves implied vols day to day. The slow
factor is correlated ``RHO`` = -0.7 with the price shocks, the fast one about -0.8, more
on down days than on up days: the leverage effect of equity indices, with its asymmetry
(the same-day S&P 500 return explains about half of the daily changes of the VIX, which
rises more on a fall than it drops on a rise: Whaley 2009).

References
----------
.. [1] Heston, S. L. (1993) "A closed-form solution for options with stochastic
   volatility", Review of Financial Studies 6(2), 327-343.
.. [2] Scott, L. O. (1987) "Option pricing when the variance changes randomly", Journal
   of Financial and Quantitative Analysis 22(4), 419-438.
.. [3] Bergomi, L. (2005) "Smile dynamics II", Risk, October, 67-73.
.. [4] Whaley, R. E. (2009) "Understanding the VIX", Journal of Portfolio Management
   35(3), 98-105.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optvol.core.volatility.market import TRADING_DAYS_PER_YEAR

__all__ = [
    "ANCHORS",
    "DIVIDEND_YIELD",
    "RATE_POINTS",
    "VOL_REGIME",
    "rate_curve",
    "simulate_underlying",
]


# Approximate real SPY closes the simulated path passes through (the list of
# the design plus a few intermediate closes that keep long segments on course).
ANCHORS: tuple[tuple[str, float], ...] = (
    ("2020-01-02", 324.87),
    ("2020-02-19", 338.34),
    ("2020-03-23", 222.95),
    ("2020-04-30", 290.48),
    ("2020-06-08", 323.20),
    ("2020-09-02", 357.70),
    ("2020-10-30", 326.54),
    ("2020-12-31", 373.88),
    ("2021-03-31", 396.33),
    ("2021-06-30", 428.06),
    ("2021-09-02", 453.08),
    ("2021-09-30", 429.14),
    ("2021-11-18", 469.73),
    ("2021-12-31", 474.96),
    ("2022-01-03", 477.71),
    ("2022-03-08", 416.25),
    ("2022-03-29", 461.55),
    ("2022-04-29", 412.00),
    ("2022-06-16", 366.65),
    ("2022-08-16", 429.70),
    ("2022-09-30", 357.18),
    ("2022-10-12", 356.56),
    ("2022-11-30", 407.68),
    ("2022-12-30", 382.43),
)

# Long-run level the variance mean-reverts to (as a volatility): calm early
# 2020, the March 2020 spike, a calm 2021 and an elevated 2022. The spike of March 2020 is
# lower than the VIX's (about 0.57 on average that month): the fast factor's response to
# the crash's returns adds the rest.
VOL_REGIME: tuple[tuple[str, float], ...] = (
    ("2020-01-02", 0.11),
    ("2020-02-19", 0.12),
    ("2020-02-27", 0.35),
    ("2020-03-16", 0.55),
    ("2020-03-23", 0.45),
    ("2020-04-20", 0.35),
    ("2020-06-08", 0.24),
    ("2020-06-15", 0.32),
    ("2020-08-20", 0.17),
    ("2020-09-08", 0.28),
    ("2020-10-30", 0.27),
    ("2020-11-12", 0.19),
    ("2020-12-31", 0.15),
    ("2021-06-30", 0.12),
    ("2021-11-30", 0.18),
    ("2021-12-31", 0.14),
    ("2022-01-24", 0.25),
    ("2022-03-08", 0.27),
    ("2022-03-29", 0.17),
    ("2022-05-20", 0.27),
    ("2022-06-16", 0.28),
    ("2022-08-16", 0.16),
    ("2022-10-12", 0.26),
    ("2022-12-30", 0.19),
)

# Short-term risk-free rate (continuously compounded): ~1.5% early 2020, near
# zero from April 2020 through 2021, the 2022 hiking cycle to ~4.3%.
RATE_POINTS: tuple[tuple[str, float], ...] = (
    ("2020-01-02", 0.0155),
    ("2020-02-28", 0.0140),
    ("2020-03-04", 0.0090),
    ("2020-03-16", 0.0030),
    ("2020-04-01", 0.0010),
    ("2021-12-31", 0.0010),
    ("2022-03-16", 0.0045),
    ("2022-05-04", 0.0090),
    ("2022-06-15", 0.0165),
    ("2022-07-27", 0.0245),
    ("2022-09-21", 0.0330),
    ("2022-11-02", 0.0400),
    ("2022-12-30", 0.0430),
)

DIVIDEND_YIELD = 0.014

# Heston-style variance dynamics (annualized, per trading-day step).
KAPPA = 18.0  # mean reversion speed; half-life ~10 trading days
XI = 0.55  # volatility of variance
RHO = -0.7  # spot/variance correlation (leverage effect)
JUMP_INTENSITY = 5.0  # jumps per year at 20% vol, scaling with vol
JUMP_MEAN = -0.012
JUMP_STD = 0.02
JUMP_VARIANCE_KICK = 1.0  # variance added per unit absolute jump
# The fast log-normal factor X: dX = -FAST_KAPPA X dt + FAST_VOL dW; the spot's volatility
# is sqrt(v) exp(X - Var X), so its mean variance stays v's.
FAST_KAPPA = 25.0  # half-life ~7 trading days
FAST_VOL = 1.2
# The fast factor's shocks scale with the slow vol over this level, so vol-of-vol rises with
# the vol as in the 3/2 model (Heston 1997; Carr and Sun 2007): in both real files the
# vols of high-vol days move more per unit return (-0.71 vs -0.59 SPY, -1.84 vs -0.28 SPXW).
FAST_REFERENCE_VOL = 0.25
FAST_SHOCK_CLIP = 4.0  # a standardized return beyond this moves the fast factor as 4 would
# dW loads on the price shock z as FAST_LOADINGS[0] z when z < 0 and FAST_LOADINGS[1] z when
# z > 0 (plus independent noise, unit variance in all): vols rise more when the index falls
# than they fall when it rises. In both real files the slope of the vol change on the return
# is steeper on down days (-1.16 vs -0.41 SPY 2021, -2.34 vs -1.79 SPXW 2018); their mean,
# -0.825, is the correlation, as the 30-day ATM vols' -0.82 and -0.85 with the returns.
FAST_LOADINGS = (-1.20, -0.45)


def _interp_dates(days: pd.DatetimeIndex, points: tuple[tuple[str, float], ...]) -> np.ndarray:
    x = pd.DatetimeIndex([p[0] for p in points]).asi8.astype(float)
    y = np.array([p[1] for p in points])
    return np.interp(days.asi8.astype(float), x, y)


def _fast_shocks(z_s: np.ndarray, z_other: np.ndarray) -> np.ndarray:
    """The fast factor's unit shocks: ``a_down min(z, 0) + a_up max(z, 0)``, centred, plus
    independent noise that makes the variance 1 (``E max(z, 0) = phi(0)``)."""
    down, up = FAST_LOADINGS
    mean = (up - down) / np.sqrt(2.0 * np.pi)
    loaded = down * np.minimum(z_s, 0.0) + up * np.maximum(z_s, 0.0) - mean
    return loaded + np.sqrt(1.0 - (down**2 + up**2) / 2.0 + mean**2) * z_other


def _bridged(days: pd.DatetimeIndex, noise: np.ndarray) -> np.ndarray:
    """The log price: the line through the anchors' log closes plus ``noise`` pinned to
    zero at every anchor."""
    pos = days.get_indexer(pd.DatetimeIndex([a[0] for a in ANCHORS]))
    if (pos < 0).any():
        raise ValueError("every anchor date must be a simulated day")
    t = np.arange(len(days), dtype=float)
    log_anchor = np.log([a[1] for a in ANCHORS])
    return np.interp(t, pos, log_anchor) + noise - np.interp(t, pos, noise[pos])


def rate_curve(days: pd.DatetimeIndex) -> np.ndarray:
    """Risk-free rate on each date, interpolated linearly in time."""
    return _interp_dates(pd.DatetimeIndex(days), RATE_POINTS)


def simulate_underlying(days: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    """
    Simulate SPY closes and the variance state on ``days``.

    The log price is ``bridge(t) + noise(t) - interp(noise at anchors)``: a
    straight line in log price between the real anchor closes plus the
    increments of a stochastic-volatility jump diffusion, pinned to zero at
    every anchor (a Brownian-bridge construction). The variance follows
    full-truncation Euler Heston dynamics that mean-revert to a regime level
    (spiking in March 2020, elevated in 2022), with shocks correlated
    ``RHO`` with the price shocks, and jumps whose intensity grows with the
    volatility and which raise the variance.

    The fast factor ``X`` is an Ornstein-Uhlenbeck process whose shocks load on the
    price's, more on a fall than on a rise (``FAST_LOADINGS``), and grow with the slow
    vol; the price moves with the volatility ``sqrt(v) exp(X - s^2)`` (``s^2`` the
    stationary variance of ``X``). Once the path is bridged through the anchors, ``X`` is
    simulated again from the bridged returns (standardized by the day's volatility, with
    the same independent shocks), so the implied vols answer the returns the chain shows,
    the bridge's drift included.

    Returns
    -------
    DataFrame
        Indexed by date with columns ``spot`` (rounded to cents),
        ``variance`` (the slow factor ``v``, annualized), ``fast_factor`` (``X``),
        ``rate`` and ``dividend_yield``.
    """
    days = pd.DatetimeIndex(days)
    n = len(days)
    dt = 1.0 / TRADING_DAYS_PER_YEAR
    theta = _interp_dates(days, VOL_REGIME) ** 2
    z_s = rng.standard_normal(n)
    z_v = RHO * z_s + np.sqrt(1.0 - RHO**2) * rng.standard_normal(n)
    u_jump = rng.random(n)
    jump_size = JUMP_MEAN + JUMP_STD * rng.standard_normal(n)
    z_other = rng.standard_normal(n)
    z_f = _fast_shocks(z_s, z_other)
    fast_decay = np.exp(-FAST_KAPPA * dt)
    fast_step = FAST_VOL * np.sqrt((1.0 - fast_decay**2) / (2.0 * FAST_KAPPA))
    fast_variance = FAST_VOL**2 / (2.0 * FAST_KAPPA)

    var = np.empty(n)
    fast = np.empty(n)
    noise = np.empty(n)
    v, f, x = theta[0], 0.0, 0.0
    for i in range(n):
        var[i] = v
        fast[i] = f
        noise[i] = x
        vol = np.sqrt(v)
        spot_vol = vol * np.exp(f - fast_variance)
        lam = JUMP_INTENSITY * spot_vol / 0.2 * dt
        jump = jump_size[i] if u_jump[i] < lam else 0.0
        x += spot_vol * np.sqrt(dt) * z_s[i] - 0.5 * spot_vol**2 * dt + jump
        v = v + KAPPA * (theta[i] - v) * dt + XI * vol * np.sqrt(dt) * z_v[i]
        v = max(v, 0.0025) + JUMP_VARIANCE_KICK * abs(jump)
        f = fast_decay * f + fast_step * vol / FAST_REFERENCE_VOL * z_f[i]

    log_spot = _bridged(days, noise)
    spot = np.round(np.exp(log_spot), 2)
    # The bridge adds a drift to the returns (the crash of March 2020 is mostly drift): the
    # fast factor responds to the returns as they are, standardized by the day's vol.
    spot_vols = np.sqrt(var) * np.exp(fast - fast_variance)
    realized = np.diff(log_spot) / (spot_vols[:-1] * np.sqrt(dt))
    z_realized = np.clip(realized, -FAST_SHOCK_CLIP, FAST_SHOCK_CLIP)
    z_f = _fast_shocks(z_realized, z_other[:-1])
    step = fast_step * np.sqrt(var[:-1]) / FAST_REFERENCE_VOL * z_f
    fast = np.zeros(n)
    for i in range(n - 1):
        fast[i + 1] = fast_decay * fast[i] + step[i]
    return pd.DataFrame(
        {
            "spot": spot,
            "variance": var,
            "fast_factor": fast,
            "rate": rate_curve(days),
            "dividend_yield": np.full(n, DIVIDEND_YIELD),
        },
        index=days,
    )
