// rewardd MCU wire protocol v1 (../../PROTOCOL.md): constants, CRC, COBS and
// a frame builder. Plain C++ with no Arduino dependency and no allocation, so
// the same code runs in the sketch, the host firmware and the vector tests.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace rewardd {

const uint8_t PROTOCOL_VERSION = 1;
const size_t HEADER_SIZE = 7;
const size_t CRC_SIZE = 2;
const size_t MAX_RAW_FRAME = 512;
const size_t MAX_PAYLOAD = MAX_RAW_FRAME - HEADER_SIZE - CRC_SIZE;  // 503
const size_t MAX_ENCODED_FRAME = MAX_RAW_FRAME + MAX_RAW_FRAME / 254 + 1;  // 515, delimiter not counted

enum FrameType : uint8_t { HELLO = 1, SAMPLE = 2, COMMAND = 3, HEARTBEAT = 4, ARM = 5, DISARM = 6, FAULT = 7, LOG = 8 };
enum ChannelType : uint8_t { CH_I16 = 0, CH_U16 = 1, CH_I32 = 2, CH_F32 = 3 };
enum StatusBits : uint8_t { STATUS_ARMED = 1, STATUS_WATCHDOG_TRIPPED = 2, STATUS_FAULTED = 4 };
enum FaultCode : uint16_t { FAULT_WATCHDOG = 1, FAULT_BAD_COMMAND = 2, FAULT_SENSOR = 3, FAULT_HOST_PROTOCOL = 4 };
enum LogLevel : uint8_t { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

struct ChannelInfo {
  uint8_t id;  // must equal its index in the table
  const char* name;
  ChannelType type;
  uint8_t count;
  float scale;
  const char* unit;
};

inline size_t channel_type_size(ChannelType t) { return t == CH_I16 || t == CH_U16 ? 2 : 4; }

// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF); bitwise so an AVR needs no 512-byte table.
uint16_t crc16(const uint8_t* p, size_t n, uint16_t crc = 0xFFFF);

// COBS: encode n bytes into out (room for n + n/254 + 1), no delimiter. Returns the length.
size_t cobs_encode(const uint8_t* src, size_t n, uint8_t* out);
// Decode one frame (no delimiter) into out; -1 when invalid or over cap.
long cobs_decode(const uint8_t* src, size_t n, uint8_t* out, size_t cap);

// Little-endian helpers (independent of the CPU's byte order).
inline uint16_t get_u16(const uint8_t* p) { return (uint16_t)(p[0] | (p[1] << 8)); }
inline uint32_t get_u32(const uint8_t* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
float get_f32(const uint8_t* p);

// Builds one raw frame in `raw`, then COBS-encodes it with its delimiter.
// Any put past the capacity (or past MAX_PAYLOAD) marks the frame bad; finish() then returns 0.
class FrameBuilder {
 public:
  FrameBuilder(uint8_t* raw, size_t cap) : raw_(raw), cap_(cap < MAX_RAW_FRAME ? cap : MAX_RAW_FRAME), len_(0), ok_(true) {}
  void begin(uint8_t type, uint16_t seq, uint32_t time_us);
  void u8(uint8_t v);
  void u16(uint16_t v);
  void i16(int16_t v) { u16((uint16_t)v); }
  void u32(uint32_t v);
  void i32(int32_t v) { u32((uint32_t)v); }
  void f32(float v);
  void bytes(const uint8_t* p, size_t n);
  // u8 length + bytes; refuses (marks bad) strings over max.
  void str8(const char* s, size_t max);
  // Bytes to the end of the payload, truncated to fit (messages must always get out).
  void tail(const char* s);
  bool ok() const { return ok_; }
  size_t payload_len() const { return len_ - HEADER_SIZE; }
  // Appends the CRC and writes COBS + 0x00 into out. Returns the wire length, 0 on overflow.
  size_t finish(uint8_t* out, size_t out_cap);

 private:
  uint8_t* raw_;
  size_t cap_;
  size_t len_;
  bool ok_;
};

// Whole-frame helpers shared by the firmware, the host build and the vector generator.
void build_hello(FrameBuilder& b, uint16_t seq, uint32_t time_us, uint32_t boot_id, uint16_t watchdog_ms,
                 const char* firmware_id, const ChannelInfo* channels, uint8_t n_channels);
void build_heartbeat(FrameBuilder& b, uint16_t seq, uint32_t time_us, uint8_t status);
void build_fault(FrameBuilder& b, uint16_t seq, uint32_t time_us, uint16_t code, const char* message);
void build_log(FrameBuilder& b, uint16_t seq, uint32_t time_us, uint8_t level, const char* message);
void build_command(FrameBuilder& b, uint16_t seq, uint32_t time_us, const int16_t* raw, uint8_t n);

}  // namespace rewardd
