// Byte-at-a-time frame receiver for the MCU (and the C++ tests): bounded
// buffers supplied by the caller, resync at the next 0x00 after any bad span.
#pragma once
#include "rewardd_protocol.h"

namespace rewardd {

struct RawFrame {
  uint8_t type;
  uint16_t seq;
  uint32_t time_us;
  const uint8_t* payload;  // points into the reader's raw buffer; valid until the next push
  size_t len;
};

struct ReaderCounters {
  uint32_t frames, bytes, crc_errors, malformed, oversize, resyncs;
};

class FrameReader {
 public:
  // enc: holds one encoded frame (its size bounds the frame); raw: the decoded frame.
  FrameReader(uint8_t* enc, size_t enc_cap, uint8_t* raw, size_t raw_cap)
      : enc_(enc), enc_cap_(enc_cap), raw_(raw), raw_cap_(raw_cap), len_(0), skipping_(false), bad_since_good_(false), counters_() {}
  // Returns true when `b` completed a frame that passed COBS and CRC; `out` then describes it.
  // The caller then checks the payload and calls accept() or reject(), so the
  // counters agree with the TypeScript decoder's.
  bool push(uint8_t b, RawFrame& out);
  void accept() {
    counters_.frames++;
    if (bad_since_good_) counters_.resyncs++;
    bad_since_good_ = false;
  }
  // A payload problem (unknown type, wrong length): counted as malformed.
  void reject() {
    counters_.malformed++;
    bad_since_good_ = true;
  }
  const ReaderCounters& counters() const { return counters_; }

 private:
  bool finish_span(RawFrame& out);
  uint8_t* enc_;
  size_t enc_cap_;
  uint8_t* raw_;
  size_t raw_cap_;
  size_t len_;
  bool skipping_;
  bool bad_since_good_;
  ReaderCounters counters_;
};

}  // namespace rewardd
