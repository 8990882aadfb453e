#include "rewardd_protocol.h"

#include <string.h>

namespace rewardd {

uint16_t crc16(const uint8_t* p, size_t n, uint16_t crc) {
  for (size_t i = 0; i < n; i++) {
    crc ^= (uint16_t)p[i] << 8;
    for (uint8_t b = 0; b < 8; b++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  }
  return crc;
}

// Same algorithm as src/protocol/cobs.ts, including the trailing 0x01 after a
// full 254-byte block, so both sides produce identical bytes.
size_t cobs_encode(const uint8_t* src, size_t n, uint8_t* out) {
  size_t code_pos = 0, w = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < n; i++) {
    if (src[i] == 0) {
      out[code_pos] = code;
      code_pos = w++;
      code = 1;
    } else {
      out[w++] = src[i];
      if (++code == 0xFF) {
        out[code_pos] = code;
        code_pos = w++;
        code = 1;
      }
    }
  }
  out[code_pos] = code;
  return w;
}

long cobs_decode(const uint8_t* src, size_t n, uint8_t* out, size_t cap) {
  size_t r = 0, w = 0;
  while (r < n) {
    uint8_t code = src[r];
    if (code == 0) return -1;
    size_t block_end = r + code;
    if (block_end > n || w + code - 1 > cap) return -1;
    r++;
    while (r < block_end) {
      if (src[r] == 0) return -1;
      out[w++] = src[r++];
    }
    if (code != 0xFF && r < n) {
      if (w >= cap) return -1;
      out[w++] = 0;
    }
  }
  return (long)w;
}

float get_f32(const uint8_t* p) {
  uint32_t u = get_u32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

void FrameBuilder::begin(uint8_t type, uint16_t seq, uint32_t time_us) {
  len_ = 0;
  ok_ = true;
  u8(type);
  u16(seq);
  u32(time_us);
}

void FrameBuilder::u8(uint8_t v) {
  if (len_ + 1 > cap_ - CRC_SIZE) {
    ok_ = false;
    return;
  }
  raw_[len_++] = v;
}
void FrameBuilder::u16(uint16_t v) {
  u8((uint8_t)v);
  u8((uint8_t)(v >> 8));
}
void FrameBuilder::u32(uint32_t v) {
  u16((uint16_t)v);
  u16((uint16_t)(v >> 16));
}
void FrameBuilder::f32(float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  u32(u);
}
void FrameBuilder::bytes(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) u8(p[i]);
}
void FrameBuilder::str8(const char* s, size_t max) {
  size_t n = strlen(s);
  if (n > max) {
    ok_ = false;
    return;
  }
  u8((uint8_t)n);
  bytes((const uint8_t*)s, n);
}
void FrameBuilder::tail(const char* s) {
  size_t room = cap_ - CRC_SIZE - len_;
  size_t n = strlen(s);
  bytes((const uint8_t*)s, n < room ? n : room);
}

size_t FrameBuilder::finish(uint8_t* out, size_t out_cap) {
  if (!ok_ || len_ < HEADER_SIZE || out_cap < len_ + CRC_SIZE + (len_ + CRC_SIZE) / 254 + 2) return 0;
  uint16_t crc = crc16(raw_, len_);
  raw_[len_++] = (uint8_t)crc;
  raw_[len_++] = (uint8_t)(crc >> 8);
  size_t n = cobs_encode(raw_, len_, out);
  out[n++] = 0;
  return n;
}

void build_hello(FrameBuilder& b, uint16_t seq, uint32_t time_us, uint32_t boot_id, uint16_t watchdog_ms,
                 const char* firmware_id, const ChannelInfo* channels, uint8_t n_channels) {
  b.begin(HELLO, seq, time_us);
  b.u8(PROTOCOL_VERSION);
  b.u32(boot_id);
  b.u16(watchdog_ms);
  b.str8(firmware_id, 64);
  b.u8(n_channels);
  for (uint8_t i = 0; i < n_channels; i++) {
    const ChannelInfo& c = channels[i];
    b.u8(c.id);
    b.u8(c.type);
    b.u8(c.count);
    b.f32(c.scale);
    b.str8(c.name, 32);
    b.str8(c.unit, 16);
  }
}

void build_heartbeat(FrameBuilder& b, uint16_t seq, uint32_t time_us, uint8_t status) {
  b.begin(HEARTBEAT, seq, time_us);
  b.u8(status);
}

void build_fault(FrameBuilder& b, uint16_t seq, uint32_t time_us, uint16_t code, const char* message) {
  b.begin(FAULT, seq, time_us);
  b.u16(code);
  b.tail(message);
}

void build_log(FrameBuilder& b, uint16_t seq, uint32_t time_us, uint8_t level, const char* message) {
  b.begin(LOG, seq, time_us);
  b.u8(level);
  b.tail(message);
}

void build_command(FrameBuilder& b, uint16_t seq, uint32_t time_us, const int16_t* raw, uint8_t n) {
  b.begin(COMMAND, seq, time_us);
  for (uint8_t i = 0; i < n; i++) b.i16(raw[i]);
}

}  // namespace rewardd
