// C++ side of the golden vectors: cpp-encoded.txt must equal what the C++
// encoder produces now; ts-encoded.txt and malformed.txt (written by the
// TypeScript code) must decode here to exactly the outcomes they state.
#include <stdio.h>
#include <string.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "describe.h"

namespace rewardd {
bool make_cpp_vectors(std::string& text, std::string& err);
}
using namespace rewardd;

static int failures = 0;
static void fail(const std::string& what) {
  fprintf(stderr, "FAIL %s\n", what.c_str());
  failures++;
}

static std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

static bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// Decodes a vector file as one stream; each line must produce exactly its stated outcome.
static int check_stream(const std::string& path) {
  std::string text;
  if (!read_file(path, text)) {
    fail(path + ": cannot read");
    return 0;
  }
  uint8_t enc[MAX_ENCODED_FRAME], dec[MAX_RAW_FRAME];
  FrameReader reader(enc, sizeof enc, dec, sizeof dec);
  TableState table;
  uint32_t payload_malformed = 0;
  std::istringstream lines(text);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t p1 = line.find(" | "), p2 = line.find(" | ", p1 + 3);
    if (p1 == std::string::npos || p2 == std::string::npos) {
      fail(path + ": bad line: " + line.substr(0, 60));
      continue;
    }
    std::string name = trim(line.substr(0, p1)), hex = trim(line.substr(p1 + 3, p2 - p1 - 3)), want = trim(line.substr(p2 + 3));
    std::vector<uint8_t> bytes;
    if (!from_hex(hex, bytes)) {
      fail(name + ": bad hex");
      continue;
    }
    ReaderCounters before = reader.counters();
    uint32_t pm_before = payload_malformed;
    std::vector<std::string> got;
    for (uint8_t b : bytes) {
      RawFrame f;
      if (!reader.push(b, f)) continue;
      std::string d;
      if (describe_frame(f, table, d)) {
        reader.accept();
        got.push_back(d);
      } else {
        reader.reject();
        payload_malformed++;
      }
    }
    const ReaderCounters& c = reader.counters();
    std::string outcome;
    int events = (int)got.size() + (c.crc_errors - before.crc_errors) + (c.malformed - before.malformed) + (c.oversize - before.oversize);
    if (events > 1) outcome = "(several outcomes)";
    else if (got.size() == 1) outcome = got[0];
    else if (c.crc_errors != before.crc_errors) outcome = "!crc";
    else if (c.malformed != before.malformed) outcome = "!malformed";
    else if (c.oversize != before.oversize) outcome = "!oversize";
    else outcome = "!none";
    (void)pm_before;
    if (outcome != want) fail(path + " " + name + ":\n  expected " + want + "\n  found    " + outcome);
    n++;
  }
  return n;
}

int main(int argc, char** argv) {
  bool write = argc > 2 && !strcmp(argv[1], "--write");
  std::string dir = argc > 1 ? argv[argc - 1] : "test-vectors";
  std::string text, err;
  if (!make_cpp_vectors(text, err)) {
    fail("make_cpp_vectors: " + err);
    return 1;
  }
  std::string cpp_path = dir + "/cpp-encoded.txt";
  if (write) {
    std::ofstream(cpp_path, std::ios::binary) << text;
    printf("wrote %s\n", cpp_path.c_str());
    return 0;
  }
  std::string committed;
  if (!read_file(cpp_path, committed)) fail(cpp_path + ": missing (run make vectors)");
  else if (committed != text) fail(cpp_path + ": differs from what the C++ encoder produces now (run make vectors and review)");
  int a = check_stream(cpp_path);
  int b = check_stream(dir + "/ts-encoded.txt");
  int c = check_stream(dir + "/malformed.txt");
  if (failures) {
    fprintf(stderr, "vectors-test: %d failure(s)\n", failures);
    return 1;
  }
  printf("vectors-test ok: cpp-encoded %d, ts-encoded %d, malformed %d vectors\n", a, b, c);
  return 0;
}
