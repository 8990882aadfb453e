// Canonical one-line description of a decoded frame, identical to
// test/protocol/vectors-format.ts's describeFrame, so C++ and TypeScript can
// compare what they decoded as plain strings. Test-only code (std::string).
#pragma once
#include <string>
#include <vector>

#include "../rewardd_bridge/src/frame_reader.h"

namespace rewardd {

struct TableState {
  bool known = false;
  std::vector<uint8_t> kinds;  // ChannelType per scalar value
  size_t bytes = 0;
};

// Returns false (payload malformed) or true with `out` set; a HELLO updates `table`.
bool describe_frame(const RawFrame& f, TableState& table, std::string& out);

std::string to_hex(const uint8_t* p, size_t n);
bool from_hex(const std::string& s, std::vector<uint8_t>& out);

}  // namespace rewardd
