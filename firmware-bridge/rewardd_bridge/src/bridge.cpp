#include "bridge.h"

#include <string.h>

namespace rewardd {

Bridge::Bridge(const BridgeConfig& cfg, BridgeHal& hal, uint32_t boot_id)
    : cfg_(cfg), hal_(hal), boot_id_(boot_id == 0 ? 1 : boot_id), builder_(tx_raw_, sizeof tx_raw_),
      reader_(rx_enc_, sizeof rx_enc_, rx_raw_, sizeof rx_raw_), seq_(0), armed_(false), tripped_flag_(false),
      faulted_(false), host_alive_(false), hello_pending_(false), fault_pending_(false), fault_silent_ms_(0), last_host_ms_(0), next_sample_us_(0), last_heartbeat_ms_(0),
      last_hello_ms_(0), counters_() {
  if (cfg_.n_motors > REWARDD_MAX_MOTORS) cfg_.n_motors = REWARDD_MAX_MOTORS;
  memset(motors_, 0, sizeof motors_);
}

void Bridge::begin() {
  zero_motors();
  uint32_t now_ms = hal_.millis();
  last_heartbeat_ms_ = now_ms;
  next_sample_us_ = hal_.micros();
  // A 0x00 first ends whatever half frame the host may hold from before a reset.
  const uint8_t flush = 0;
  if (hal_.tx_room(1)) hal_.tx(&flush, 1);
  send_hello();
}

void Bridge::zero_motors() {
  memset(motors_, 0, sizeof motors_);
  hal_.set_motors(motors_, cfg_.n_motors);
}

// A frame that does not fit the transmit side now is dropped whole and
// counted (never half-sent, never blocking the watchdog). `essential` frames
// are the ones a host must not miss; they are re-sent by their own schedule
// (HELLO every hello_ms while the host is silent, heartbeat every heartbeat_ms).
bool Bridge::send(bool essential) {
  (void)essential;
  size_t n = builder_.finish(tx_wire_, sizeof tx_wire_);
  if (n == 0) return false;
  if (!hal_.tx_room(n)) {
    counters_.tx_dropped++;
    return false;
  }
  hal_.tx(tx_wire_, n);
  seq_++;
  return true;
}

void Bridge::send_hello() {
  build_hello(builder_, seq_, hal_.micros(), boot_id_, cfg_.watchdog_ms, cfg_.firmware_id, cfg_.channels, cfg_.n_channels);
  last_hello_ms_ = hal_.millis();
  // A HELLO that found the link full is retried on the next poll: the host
  // cannot decode anything without it, and may not ask again.
  hello_pending_ = !send(true);
}

void Bridge::send_heartbeat() {
  uint8_t status = (armed_ ? STATUS_ARMED : 0) | (tripped_flag_ ? STATUS_WATCHDOG_TRIPPED : 0) | (faulted_ ? STATUS_FAULTED : 0);
  build_heartbeat(builder_, seq_, hal_.micros(), status);
  if (send(true)) tripped_flag_ = false;
  last_heartbeat_ms_ = hal_.millis();
}

void Bridge::send_fault(uint16_t code, const char* message) {
  build_fault(builder_, seq_, hal_.micros(), code, message);
  send(true);
}

void Bridge::send_sample() {
  builder_.begin(SAMPLE, seq_, hal_.micros());
  hal_.read_sensors(builder_, motors_);
  if (send(false)) counters_.samples_sent++;
}

void Bridge::trip(uint32_t silent_ms) {
  bool was_armed = armed_;
  armed_ = false;
  zero_motors();
  host_alive_ = false;
  if (!was_armed) return;
  counters_.watchdog_trips++;
  tripped_flag_ = true;
  hal_.event("watchdog_trip", (long)silent_ms, (long)cfg_.watchdog_ms);
  fault_silent_ms_ = silent_ms;
  send_watchdog_fault();
  send_heartbeat();
}

// The FAULT tells the host why its robot stopped. On a small UART buffer it can find the line
// busy with a sample (seen on the AVR: 64 bytes of buffer, a 63-byte sample draining); then it is
// retried on every poll until it is out, like a HELLO (the tripped bit rides the next heartbeat too).
void Bridge::send_watchdog_fault() {
  char msg[48] = "watchdog: no host frame for ";
  // Small itoa: no printf on the MCU path.
  char digits[11];
  int d = 0;
  uint32_t v = fault_silent_ms_;
  do {
    digits[d++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0 && d < 10);
  size_t at = strlen(msg);
  while (d > 0) msg[at++] = digits[--d];
  memcpy(msg + at, " ms", 4);
  build_fault(builder_, seq_, hal_.micros(), FAULT_WATCHDOG, msg);
  fault_pending_ = !send(true);
}

void Bridge::on_byte(uint8_t b) {
  RawFrame f;
  if (reader_.push(b, f)) handle(f);
}

void Bridge::handle(const RawFrame& f) {
  switch (f.type) {
    case HEARTBEAT:
      if (f.len != 1) return reader_.reject();
      break;
    case COMMAND:
      if (f.len % 2 != 0) return reader_.reject();
      break;
    case ARM:
    case DISARM:
      if (f.len != 0) return reader_.reject();
      break;
    case FAULT:
      if (f.len < 2) return reader_.reject();
      break;
    default:
      return reader_.reject();  // HELLO, SAMPLE, LOG are not for the MCU
  }
  reader_.accept();
  last_host_ms_ = hal_.millis();
  if (!host_alive_) {
    // The host just (re)appeared: tell it who we are, whatever it missed.
    host_alive_ = true;
    send_hello();
  }
  switch (f.type) {
    case ARM:
      armed_ = true;
      faulted_ = false;
      fault_pending_ = false;  // re-armed: a trip report not yet out is stale
      zero_motors();
      hal_.event("armed", 0, 0);
      send_heartbeat();
      break;
    case DISARM:
    case FAULT:  // a host FAULT is an e-stop
      if (armed_) hal_.event("disarmed", f.type, 0);
      armed_ = false;
      zero_motors();
      send_heartbeat();
      break;
    case COMMAND: {
      if (f.len / 2 != cfg_.n_motors) {
        counters_.bad_commands++;
        faulted_ = true;
        armed_ = false;
        zero_motors();
        send_fault(FAULT_BAD_COMMAND, "command: wrong number of motors");
        break;
      }
      if (!armed_) {
        counters_.commands_ignored++;
        break;
      }
      for (uint8_t i = 0; i < cfg_.n_motors; i++) {
        int16_t v = (int16_t)get_u16(f.payload + 2 * i);
        motors_[i] = v < -32767 ? -32767 : v;
      }
      hal_.set_motors(motors_, cfg_.n_motors);
      counters_.commands_applied++;
      break;
    }
    default:
      break;  // HEARTBEAT: liveness only
  }
}

uint32_t Bridge::us_until_due() {
  if (cfg_.sample_period_us == 0) return 0;
  int32_t d = (int32_t)(next_sample_us_ - hal_.micros());
  if (d < 0) return 0;
  return d > 1000 ? 1000 : (uint32_t)d;  // wake at least every ms for the watchdog
}

void Bridge::poll() {
  uint32_t now_ms = hal_.millis();
  uint32_t silent = now_ms - last_host_ms_;
  if (host_alive_ && silent > cfg_.watchdog_ms) trip(silent);
  if (hello_pending_ || (!host_alive_ && now_ms - last_hello_ms_ >= cfg_.hello_ms)) send_hello();
  if (fault_pending_) send_watchdog_fault();
  if (now_ms - last_heartbeat_ms_ >= cfg_.heartbeat_ms) send_heartbeat();

  if (cfg_.sample_period_us == 0) {
    // Unpaced (throughput tests): a sample whenever the link can take a whole one, none dropped.
    if (hal_.tx_room(MAX_ENCODED_FRAME + 1)) send_sample();
    return;
  }
  uint32_t now_us = hal_.micros();
  if ((int32_t)(now_us - next_sample_us_) >= 0) {
    send_sample();
    next_sample_us_ += cfg_.sample_period_us;
    // Fell far behind (a stall): skip ahead instead of bursting the backlog.
    if ((int32_t)(now_us - next_sample_us_) > (int32_t)(10 * cfg_.sample_period_us)) {
      counters_.late_samples++;
      next_sample_us_ = now_us + cfg_.sample_period_us;
    }
  }
}

}  // namespace rewardd
