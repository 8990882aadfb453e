// The firmware's main logic, shared by the Arduino sketch and the host build:
// announce the channel table, stream samples, obey ARM/DISARM/COMMAND, send
// heartbeats, and stop the motors when the host goes silent (the MCU watchdog).
// Everything hardware-specific goes through BridgeHal.
#pragma once
#include "frame_reader.h"
#include "rewardd_protocol.h"

#include "bridge_config.h"

namespace rewardd {

class BridgeHal {
 public:
  virtual ~BridgeHal() {}
  virtual uint32_t micros() = 0;
  virtual uint32_t millis() = 0;
  // True when n more bytes can be sent now without blocking: the bridge never half-sends a frame.
  virtual bool tx_room(size_t n) = 0;
  virtual void tx(const uint8_t* p, size_t n) = 0;
  virtual void set_motors(const int16_t* raw, uint8_t n) = 0;
  // Put every channel's values, in table order, with the builder's typed puts.
  virtual void read_sensors(FrameBuilder& b, const int16_t* applied_motors) = 0;
  // Something worth telling a human (host build prints it; a board may blink).
  virtual void event(const char* what, long a, long b) { (void)what; (void)a; (void)b; }
};

struct BridgeConfig {
  const ChannelInfo* channels;
  uint8_t n_channels;
  uint8_t n_motors;
  uint16_t watchdog_ms;         // default 150
  uint32_t sample_period_us;    // 0: as fast as the transmit side takes them
  uint16_t heartbeat_ms;        // default 100
  uint16_t hello_ms;            // default 500, while the host is silent
  const char* firmware_id;
};

struct BridgeCounters {
  uint32_t samples_sent, tx_dropped, watchdog_trips, commands_applied, commands_ignored, bad_commands, late_samples;
};

class Bridge {
 public:
  Bridge(const BridgeConfig& cfg, BridgeHal& hal, uint32_t boot_id);
  void begin();
  void on_byte(uint8_t b);
  // Call as often as possible: runs the watchdog and sends what is due.
  void poll();
  // Microseconds until the next scheduled transmission (for a host build's sleep).
  uint32_t us_until_due();
  bool armed() const { return armed_; }
  const int16_t* motors() const { return motors_; }
  const BridgeCounters& counters() const { return counters_; }
  const ReaderCounters& rx_counters() const { return reader_.counters(); }

 private:
  void handle(const RawFrame& f);
  void zero_motors();
  void trip(uint32_t silent_ms);
  bool send(bool essential);
  void send_hello();
  void send_heartbeat();
  void send_fault(uint16_t code, const char* message);
  void send_watchdog_fault();
  void send_sample();

  BridgeConfig cfg_;
  BridgeHal& hal_;
  uint32_t boot_id_;
  uint8_t tx_raw_[REWARDD_TX_RAW_MAX];
  uint8_t tx_wire_[REWARDD_TX_RAW_MAX + REWARDD_TX_RAW_MAX / 254 + 2];
  FrameBuilder builder_;
  uint8_t rx_enc_[REWARDD_RX_ENC_MAX];
  uint8_t rx_raw_[REWARDD_RX_ENC_MAX];
  FrameReader reader_;
  uint16_t seq_;
  bool armed_;
  bool tripped_flag_;  // reported in the next heartbeat, then cleared
  bool faulted_;
  bool host_alive_;
  bool hello_pending_;  // a HELLO could not be sent (link full): retry
  bool fault_pending_;  // the watchdog FAULT could not be sent (link full): retry until it is out
  uint32_t fault_silent_ms_;
  uint32_t last_host_ms_;
  uint32_t next_sample_us_;
  uint32_t last_heartbeat_ms_;
  uint32_t last_hello_ms_;
  int16_t motors_[REWARDD_MAX_MOTORS];
  BridgeCounters counters_;
};

}  // namespace rewardd
