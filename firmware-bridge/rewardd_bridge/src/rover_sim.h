// The rover simulated on the MCU itself, for sketch builds with REWARDD_SIM_ROVER=1
// (the emulator build, `make -C firmware-bridge avr-sim`): the motor commands the
// firmware applies drive this model instead of real wheels, and read_sensors reports
// it, so a host sees its commands come back as sensor values it can predict.
// The same physics as host/rover_model.h, in float with a 32-bit noise source so an
// 8-bit AVR steps it in about a millisecond:
//   wheel speed follows command x 20 rad/s with a 50 ms lag; gyro_z = (wr - wl) x 0.035 / 0.16;
//   motor_applied echoes the raw commands.
#pragma once
#include <math.h>
#include <stdint.h>

namespace rewardd {

struct RoverSim {
  float x, y, th, wl, wr, ax, battery, beacon_x, beacon_y;
  float cos_th, sin_th;  // of th, once per step: trigonometry is the costly part on an 8-bit MCU
  uint32_t rng;

  RoverSim()
      : x(0), y(0), th(0), wl(0), wr(0), ax(0), battery(12.4f), beacon_x(2.0f), beacon_y(1.0f), cos_th(1), sin_th(0),
        rng(0x9E3779B9u) {}

  float uniform() {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (float)(rng >> 8) * (1.0f / 16777216.0f);
  }
  // Bounded noise: |noise(sd)| <= 3 sd.
  float noise(float sd) { return sd * (uniform() + uniform() + uniform() - 1.5f) * 2.0f; }

  void step(float dt, const int16_t* motors) {
    const float max_w = 20.0f, tau = 0.05f, r = 0.035f, track = 0.16f;
    float tl = motors[0] / 32767.0f * max_w, tr = motors[1] / 32767.0f * max_w;
    float k = dt / (tau + dt);
    float v_before = (wl + wr) * r / 2;
    wl += (tl - wl) * k;
    wr += (tr - wr) * k;
    float v = (wl + wr) * r / 2, w = (wr - wl) * r / track;
    ax = dt > 0 ? (v - v_before) / dt : 0;
    th += w * dt;
    cos_th = cosf(th);
    sin_th = sinf(th);
    x += v * cos_th * dt;
    y += v * sin_th * dt;
    battery -= 1e-6f * dt * (1 + fabsf(tl) + fabsf(tr));
  }
  float yaw_rate() const { return (wr - wl) * 0.035f / 0.16f; }
  float range_front() const {
    // Walls of a 10 m square arena centred on the start.
    float c = cos_th, s = sin_th, best = 4.0f;
    if (c > 1e-6f) best = fminf(best, (5 - x) / c);
    if (c < -1e-6f) best = fminf(best, (-5 - x) / c);
    if (s > 1e-6f) best = fminf(best, (5 - y) / s);
    if (s < -1e-6f) best = fminf(best, (-5 - y) / s);
    return best < 0 ? 0 : best;
  }
  void beacon_rel(float* bx, float* by) const {
    float dx = beacon_x - x, dy = beacon_y - y, c = cos_th, s = sin_th;
    *bx = c * dx + s * dy;
    *by = -s * dx + c * dy;
  }
};

}  // namespace rewardd
