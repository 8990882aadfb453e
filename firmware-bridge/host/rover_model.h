// A small differential-drive rover for the host build: wheels follow the
// applied motor commands with a lag, the pose integrates, the sensors read it
// with noise. Enough for the daemon to see motion caused by its commands.
#pragma once
#include <math.h>
#include <stdint.h>

struct RoverModel {
  double x = 0, y = 0, th = 0, wl = 0, wr = 0, ax = 0;
  double battery = 12.4;
  double beacon_x = 2.0, beacon_y = 1.0;
  uint64_t rng = 0x9E3779B97F4A7C15ull;

  double uniform() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
  }
  double noise(double sd) { return sd * (uniform() + uniform() + uniform() - 1.5) * 2.0; }

  void step(double dt, const int16_t* motors) {
    const double max_w = 20.0, tau = 0.05, r = 0.035, track = 0.16;
    double tl = motors[0] / 32767.0 * max_w, tr = motors[1] / 32767.0 * max_w;
    double k = dt / (tau + dt);
    double v_before = (wl + wr) * r / 2;
    wl += (tl - wl) * k;
    wr += (tr - wr) * k;
    double v = (wl + wr) * r / 2, w = (wr - wl) * r / track;
    ax = dt > 0 ? (v - v_before) / dt : 0;
    th += w * dt;
    x += v * cos(th) * dt;
    y += v * sin(th) * dt;
    battery -= 1e-6 * dt * (1 + fabs(tl) + fabs(tr));
  }
  double yaw_rate() const { return (wr - wl) * 0.035 / 0.16; }
  double range_front() const {
    // Walls of a 10 m square arena centred on the start.
    double c = cos(th), s = sin(th), best = 4.0;
    if (c > 1e-6) best = fmin(best, (5 - x) / c);
    if (c < -1e-6) best = fmin(best, (-5 - x) / c);
    if (s > 1e-6) best = fmin(best, (5 - y) / s);
    if (s < -1e-6) best = fmin(best, (-5 - y) / s);
    return best < 0 ? 0 : best;
  }
  void beacon_rel(double* bx, double* by) const {
    double dx = beacon_x - x, dy = beacon_y - y, c = cos(th), s = sin(th);
    *bx = c * dx + s * dy;
    *by = -s * dx + c * dy;
  }
};
