#include "describe.h"

#include <math.h>
#include <stdio.h>

namespace rewardd {

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

bool from_hex(const std::string& s, std::vector<uint8_t>& out) {
  if (s.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned v;
    if (sscanf(s.c_str() + i, "%2x", &v) != 1) return false;
    out.push_back((uint8_t)v);
  }
  return true;
}

static std::string f32hex(const uint8_t* p) {
  char b[16];
  snprintf(b, sizeof b, "0x%08x", (unsigned)get_u32(p));
  return b;
}

static std::string head(const char* type, const RawFrame& f) {
  return std::string(type) + " seq=" + std::to_string(f.seq) + " time_us=" + std::to_string(f.time_us);
}

static bool snake(const uint8_t* p, size_t n) {
  if (n == 0 || !(p[0] >= 'a' && p[0] <= 'z')) return false;
  for (size_t i = 1; i < n; i++) {
    uint8_t c = p[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

static bool hello(const RawFrame& f, TableState& t, std::string& out) {
  const uint8_t* p = f.payload;
  size_t end = f.len, o = 0;
  if (end < 9) return false;
  uint8_t version = p[0];
  uint32_t boot = get_u32(p + 1);
  uint16_t wd = get_u16(p + 5);
  size_t idlen = p[7];
  o = 8;
  if (idlen > 64 || o + idlen + 1 > end) return false;
  std::string fw = to_hex(p + o, idlen);
  o += idlen;
  size_t n = p[o++];
  if (n == 0) return false;
  std::string chans;
  std::vector<uint8_t> kinds;
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) {
    if (o + 8 > end) return false;
    uint8_t id = p[o], type = p[o + 1], count = p[o + 2];
    float scale = get_f32(p + o + 3);
    std::string scale_hex = f32hex(p + o + 3);
    size_t nl = p[o + 7];
    o += 8;
    if (type > 3 || nl > 32 || o + nl + 1 > end) return false;
    if (id != i || count == 0 || !isfinite(scale) || scale == 0 || !snake(p + o, nl)) return false;
    std::string name((const char*)p + o, nl);
    o += nl;
    size_t ul = p[o++];
    if (ul > 16 || o + ul > end) return false;
    std::string unit = to_hex(p + o, ul);
    o += ul;
    static const char* names[] = {"i16", "u16", "i32", "f32"};
    if (!chans.empty()) chans += ",";
    chans += std::to_string(id) + ":" + name + ":" + names[type] + ":" + std::to_string(count) + ":" + scale_hex + ":" + unit;
    for (uint8_t k = 0; k < count; k++) kinds.push_back(type);
    bytes += channel_type_size((ChannelType)type) * count;
  }
  if (o != end || bytes > MAX_PAYLOAD) return false;
  t.known = true;
  t.kinds = kinds;
  t.bytes = bytes;
  out = head("HELLO", f) + " version=" + std::to_string(version) + " boot_id=" + std::to_string(boot) +
        " watchdog_ms=" + std::to_string(wd) + " firmware_id=" + fw + " channels=" + chans;
  return true;
}

bool describe_frame(const RawFrame& f, TableState& t, std::string& out) {
  const uint8_t* p = f.payload;
  switch (f.type) {
    case HELLO:
      return hello(f, t, out);
    case SAMPLE: {
      if (!t.known || f.len != t.bytes) return false;
      out = head("SAMPLE", f) + " values=";
      size_t o = 0;
      for (size_t i = 0; i < t.kinds.size(); i++) {
        if (i) out += ",";
        switch (t.kinds[i]) {
          case CH_I16: out += std::to_string((int16_t)get_u16(p + o)); o += 2; break;
          case CH_U16: out += std::to_string(get_u16(p + o)); o += 2; break;
          case CH_I32: out += std::to_string((int32_t)get_u32(p + o)); o += 4; break;
          default: out += f32hex(p + o); o += 4; break;
        }
      }
      return true;
    }
    case COMMAND: {
      if (f.len % 2) return false;
      out = head("COMMAND", f) + " raw=";
      for (size_t o = 0; o < f.len; o += 2) {
        if (o) out += ",";
        int v = (int16_t)get_u16(p + o);
        out += std::to_string(v < -32767 ? -32767 : v);
      }
      return true;
    }
    case HEARTBEAT:
      if (f.len != 1) return false;
      out = head("HEARTBEAT", f) + " status=" + std::to_string(p[0]);
      return true;
    case ARM:
    case DISARM:
      if (f.len != 0) return false;
      out = head(f.type == ARM ? "ARM" : "DISARM", f);
      return true;
    case FAULT:
      if (f.len < 2) return false;
      out = head("FAULT", f) + " code=" + std::to_string(get_u16(p)) + " message=" + to_hex(p + 2, f.len - 2);
      return true;
    case LOG:
      if (f.len < 1) return false;
      out = head("LOG", f) + " level=" + std::to_string(p[0]) + " message=" + to_hex(p + 1, f.len - 1);
      return true;
    default:
      return false;
  }
}

}  // namespace rewardd
