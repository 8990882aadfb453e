#include "frame_reader.h"

namespace rewardd {

bool FrameReader::push(uint8_t b, RawFrame& out) {
  counters_.bytes++;
  if (b != 0) {
    if (skipping_) return false;
    if (len_ >= enc_cap_) {
      // Longer than any frame we accept: drop it all up to the next delimiter.
      counters_.oversize++;
      bad_since_good_ = true;
      skipping_ = true;
      len_ = 0;
      return false;
    }
    enc_[len_++] = b;
    return false;
  }
  if (skipping_) {
    skipping_ = false;
    return false;
  }
  if (len_ == 0) return false;  // empty frame: a flush byte
  return finish_span(out);
}

bool FrameReader::finish_span(RawFrame& out) {
  long n = cobs_decode(enc_, len_, raw_, raw_cap_);
  len_ = 0;
  if (n < 0 || n < (long)(HEADER_SIZE + CRC_SIZE)) {
    counters_.malformed++;
    bad_since_good_ = true;
    return false;
  }
  size_t end = (size_t)n - CRC_SIZE;
  if (crc16(raw_, end) != get_u16(raw_ + end)) {
    counters_.crc_errors++;
    bad_since_good_ = true;
    return false;
  }
  out.type = raw_[0];
  out.seq = get_u16(raw_ + 1);
  out.time_us = get_u32(raw_ + 3);
  out.payload = raw_ + HEADER_SIZE;
  out.len = end - HEADER_SIZE;
  return true;
}

}  // namespace rewardd
