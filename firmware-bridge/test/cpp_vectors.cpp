// Frames encoded by the C++ encoder, for the TypeScript decoder to check
// (test-vectors/cpp-encoded.txt). Descriptions come from describe.cpp.
#include <string.h>

#include <string>

#include "../rewardd_bridge/src/frame_reader.h"
#include "../rewardd_bridge/src/rover_channels.h"
#include "describe.h"

namespace rewardd {

static const ChannelInfo MIXED[] = {
    {0, "pos", CH_I16, 2, 0.001f, "m"},
    {1, "ticks", CH_U16, 1, 1.0f, "1"},
    {2, "energy", CH_I32, 1, 0.5f, "J"},
    {3, "imu", CH_F32, 3, 1.0f, "m/s^2"},
};

typedef void (*Build)(FrameBuilder& b);
struct Item {
  const char* name;
  Build build;
};

static void long_log(FrameBuilder& b) {
  char msg[301];
  for (int i = 0; i < 300; i++) msg[i] = (char)('a' + i % 26);
  msg[300] = 0;
  build_log(b, 9, 123456789u, LOG_WARN, msg);
}

static const Item ITEMS[] = {
    {"hello_rover", [](FrameBuilder& b) { build_hello(b, 0, 1000, 0xC0FFEE01u, 150, "rewardd-rover/1.0.0 host", ROVER_CHANNELS, ROVER_N_CHANNELS); }},
    {"sample_rover", [](FrameBuilder& b) {
       b.begin(SAMPLE, 1, 2000);
       const float v[12] = {0.1f, -0.2f, 9.81f, 0.f, -0.f, 1.5f, 20.f, -20.f, 3.999f, 12.4f, 2.f, -1.f};
       for (float x : v) b.f32(x);
       b.i16(16384);
       b.i16(-32767);
     }},
    {"heartbeat_armed", [](FrameBuilder& b) { build_heartbeat(b, 2, 0xFFFFFFFFu, STATUS_ARMED); }},
    {"heartbeat_tripped", [](FrameBuilder& b) { build_heartbeat(b, 3, 0, STATUS_WATCHDOG_TRIPPED | STATUS_FAULTED); }},
    {"fault_watchdog", [](FrameBuilder& b) { build_fault(b, 4, 5, FAULT_WATCHDOG, "watchdog: no host frame for 151 ms"); }},
    {"fault_empty", [](FrameBuilder& b) { build_fault(b, 5, 6, 0x8001, ""); }},
    {"log_info", [](FrameBuilder& b) { build_log(b, 6, 7, LOG_INFO, "boot"); }},
    {"hello_mixed", [](FrameBuilder& b) { build_hello(b, 7, 8, 1, 65535, "", MIXED, 4); }},
    {"sample_mixed_extremes", [](FrameBuilder& b) {
       b.begin(SAMPLE, 8, 0);
       b.i16(-32768);
       b.i16(32767);
       b.u16(65535);
       b.i32((int32_t)0x80000000u);
       b.f32(1e30f);
       b.f32(-1e-30f);
       b.f32(0.0f);
     }},
    {"log_long_cobs_blocks", long_log},
    {"command_host", [](FrameBuilder& b) { const int16_t m[2] = {16384, -32767}; build_command(b, 0xFFFF, 42, m, 2); }},
    {"arm", [](FrameBuilder& b) { b.begin(ARM, 10, 11); }},
    {"disarm", [](FrameBuilder& b) { b.begin(DISARM, 11, 12); }},
};

// Writes the whole file's text: "name | wire hex | description" per line.
bool make_cpp_vectors(std::string& text, std::string& err) {
  text = "# rewardd protocol v1 golden vectors encoded by the C++ firmware code (make -C firmware-bridge vectors).\n"
         "# One stream: lines are decoded in order (HELLO sets the channel table). name | wire bytes (hex) | expected\n";
  uint8_t raw[MAX_RAW_FRAME], wire[MAX_ENCODED_FRAME + 1], enc[MAX_ENCODED_FRAME], dec[MAX_RAW_FRAME];
  FrameBuilder b(raw, sizeof raw);
  FrameReader reader(enc, sizeof enc, dec, sizeof dec);
  TableState table;
  for (const Item& it : ITEMS) {
    it.build(b);
    size_t n = b.finish(wire, sizeof wire);
    if (n == 0) {
      err = std::string(it.name) + ": did not encode";
      return false;
    }
    RawFrame f;
    std::string desc;
    bool got = false;
    for (size_t i = 0; i < n; i++) got = reader.push(wire[i], f) || got;
    if (!got || !describe_frame(f, table, desc)) {
      err = std::string(it.name) + ": C++ could not decode its own frame";
      return false;
    }
    text += std::string(it.name) + " | " + to_hex(wire, n) + " | " + desc + "\n";
  }
  return true;
}

}  // namespace rewardd
