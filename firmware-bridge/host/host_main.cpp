// Host build of the rover firmware: the same Bridge logic as the sketch, on a
// pseudo-terminal instead of a UART. Prints "pty <path>" first, then one
// "event ..." line per state change, and "stats ..." on SIGUSR1 and at exit.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../rewardd_bridge/src/bridge.h"
#include "../rewardd_bridge/src/rover_channels.h"
#include "rover_model.h"

using namespace rewardd;

static volatile sig_atomic_t g_stop = 0, g_stats = 0;

static uint64_t mono_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

class PtyHal : public BridgeHal {
 public:
  int master = -1;
  RoverModel rover;
  uint64_t last_step_us = 0;
  // Bound on bytes queued for the pty beyond the kernel's own buffer: big enough
  // to batch unpaced writes, small enough that a late host reads < 1 s of backlog.
  static const size_t RING = 1 << 14;
  uint8_t ring[RING];
  size_t head = 0, len = 0;

  uint32_t micros() override { return (uint32_t)mono_us(); }  // same clock as Node's hrtime, truncated
  uint32_t millis() override { return (uint32_t)(mono_us() / 1000u); }
  bool tx_room(size_t n) override { return RING - len >= n; }
  // Fault injection (--corrupt-every N --corrupt-count K): once the host has spoken, every Nth
  // SAMPLE is damaged on the wire, cycling through a flipped payload bit (one CRC error, one frame
  // missing), a truncation (the cut frame swallows the next: one bad span, two frames missing) and
  // garbage before the frame (one bad span, nothing missing).
  long corrupt_every = 0, corrupt_left = 0, corrupt_n = 0;
  long corrupted[3] = {0, 0, 0};
  bool host_spoke = false;

  void put(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++) ring[(head + len + i) % RING] = p[i];
    len += n;
  }
  // Queued only: the main loop flushes once per pass, so an unpaced burst is a few big writes, not one syscall per frame.
  void tx(const uint8_t* p, size_t n) override {
    bool sample = n > 2 && p[1] == SAMPLE;
    if (corrupt_left > 0 && host_spoke && sample && ++corrupt_n % corrupt_every == 0 && tx_room(n + 8)) {
      int kind = (int)((corrupt_n / corrupt_every) % 3);
      corrupted[kind]++;
      if (--corrupt_left == 0) event("corrupt_done", corrupted[0] + corrupted[1] + corrupted[2], 0);
      uint8_t copy[MAX_ENCODED_FRAME + 1];
      memcpy(copy, p, n);
      if (kind == 0) {
        uint8_t& b = copy[n / 2];
        b = (b ^ 0x40) != 0 ? (uint8_t)(b ^ 0x40) : (uint8_t)(b ^ 0x20);  // never a new 0x00
        put(copy, n);
      } else if (kind == 1) {
        put(copy, n / 2);  // no delimiter: merges with the next frame
      } else {
        const uint8_t junk[8] = {0x13, 0x37, 0xC0, 0xDE, 0x55, 0xAA, 0x01, 0x00};
        put(junk, sizeof junk);
        put(copy, n);
      }
      return;
    }
    put(p, n);
  }
  void flush() {
    while (len > 0) {
      size_t chunk = head + len <= RING ? len : RING - head;
      ssize_t w = write(master, ring + head, chunk);
      if (w <= 0) return;  // EAGAIN: the host is not reading; keep what fits in the ring
      head = (head + (size_t)w) % RING;
      len -= (size_t)w;
    }
  }
  void set_motors(const int16_t* raw, uint8_t n) override { (void)raw; (void)n; }
  void read_sensors(FrameBuilder& b, const int16_t* motors) override {
    uint64_t now = mono_us();
    double dt = last_step_us == 0 ? 0 : (now - last_step_us) / 1e6;
    if (dt > 0.1) dt = 0.1;
    last_step_us = now;
    rover.step(dt, motors);
    b.f32((float)(rover.ax + rover.noise(0.05)));
    b.f32((float)((rover.wl + rover.wr) * 0.035 / 2 * rover.yaw_rate() + rover.noise(0.05)));  // centripetal
    b.f32((float)(9.81 + rover.noise(0.05)));
    b.f32((float)rover.noise(0.01));
    b.f32((float)rover.noise(0.01));
    b.f32((float)(rover.yaw_rate() + rover.noise(0.01)));
    b.f32((float)(rover.wl + rover.noise(0.02)));
    b.f32((float)(rover.wr + rover.noise(0.02)));
    b.f32((float)(rover.range_front() + rover.noise(0.005)));
    b.f32((float)(rover.battery + rover.noise(0.01)));
    double bx, by;
    rover.beacon_rel(&bx, &by);
    b.f32((float)bx);
    b.f32((float)by);
    b.i16(motors[0]);
    b.i16(motors[1]);
  }
  void event(const char* what, long a, long b) override {
    printf("event %s %ld %ld\n", what, a, b);
    fflush(stdout);
  }
};

static PtyHal hal;

static void usage() {
  fprintf(stderr,
          "usage: rewardd-fw-host [--rate HZ] [--watchdog-ms MS] [--boot-id N] [--link PATH]\n"
          "  --rate HZ         samples per second, 0 = as fast as the pty takes them (default 100)\n"
          "  --watchdog-ms MS  stop the motors after MS without COMMAND/HEARTBEAT (default 150)\n"
          "  --boot-id N       boot id announced in HELLO (default: random, never 0)\n"
          "  --link PATH       also make PATH a symlink to the pty (a stable name across restarts)\n"
          "  --corrupt-every N --corrupt-count K   damage every Nth SAMPLE, K times, once the host has spoken\n"
          "                    (cycling: flipped bit, truncated frame, garbage before the frame; default off)\n");
}

static void print_stats(const Bridge& br) {
  const BridgeCounters& c = br.counters();
  const ReaderCounters& r = br.rx_counters();
  printf("stats samples=%u dropped=%u trips=%u applied=%u ignored=%u bad_commands=%u late=%u rx_frames=%u rx_crc=%u rx_malformed=%u rx_oversize=%u armed=%d motors=%d,%d corrupt_flip=%ld corrupt_cut=%ld corrupt_junk=%ld\n",
         c.samples_sent, c.tx_dropped, c.watchdog_trips, c.commands_applied, c.commands_ignored, c.bad_commands,
         c.late_samples, r.frames, r.crc_errors, r.malformed, r.oversize, br.armed() ? 1 : 0, br.motors()[0], br.motors()[1],
         hal.corrupted[0], hal.corrupted[1], hal.corrupted[2]);
  fflush(stdout);
}

int main(int argc, char** argv) {
  double rate = 100;
  long watchdog_ms = 150;
  uint32_t boot_id = 0;
  const char* link = nullptr;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      return 0;
    }
    if (!v) {
      fprintf(stderr, "rewardd-fw-host: expected a value after %s\n", a);
      return 2;
    }
    char* end = nullptr;
    if (!strcmp(a, "--rate")) rate = strtod(v, &end);
    else if (!strcmp(a, "--watchdog-ms")) watchdog_ms = strtol(v, &end, 10);
    else if (!strcmp(a, "--boot-id")) boot_id = (uint32_t)strtoul(v, &end, 0);
    else if (!strcmp(a, "--link")) link = v, end = (char*)v + strlen(v);
    else if (!strcmp(a, "--corrupt-every")) hal.corrupt_every = strtol(v, &end, 10);
    else if (!strcmp(a, "--corrupt-count")) hal.corrupt_left = strtol(v, &end, 10);
    else {
      fprintf(stderr, "rewardd-fw-host: unknown option %s (see --help)\n", a);
      return 2;
    }
    if (end == v || *end != 0) {
      fprintf(stderr, "rewardd-fw-host: %s expects a number, found \"%s\"\n", a, v);
      return 2;
    }
    i++;
  }
  if (hal.corrupt_left > 0 && hal.corrupt_every < 3) {
    fprintf(stderr, "rewardd-fw-host: --corrupt-every expects 3 or more (corruptions must not touch each other)\n");
    return 2;
  }
  if (rate < 0 || rate > 1e6 || watchdog_ms < 1 || watchdog_ms > 65535) {
    fprintf(stderr, "rewardd-fw-host: expected --rate 0..1000000 and --watchdog-ms 1..65535\n");
    return 2;
  }
  if (boot_id == 0) {
    FILE* f = fopen("/dev/urandom", "rb");
    if (!f || fread(&boot_id, 4, 1, f) != 1) boot_id = (uint32_t)mono_us() ^ (uint32_t)getpid();
    if (f) fclose(f);
    if (boot_id == 0) boot_id = 1;
  }

  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
    perror("rewardd-fw-host: posix_openpt");
    return 1;
  }
  const char* path = ptsname(m);
  // Hold the slave open in raw mode: its settings persist between host opens, and
  // the master never sees a hangup while the host is away (like a powered MCU).
  int s = open(path, O_RDWR | O_NOCTTY);
  termios t;
  if (s < 0 || tcgetattr(s, &t) != 0) {
    perror("rewardd-fw-host: slave");
    return 1;
  }
  cfmakeraw(&t);
  tcsetattr(s, TCSANOW, &t);
  fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
  if (link) {
    unlink(link);
    if (symlink(path, link) != 0) {
      perror("rewardd-fw-host: --link");
      return 1;
    }
  }
  hal.master = m;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = [](int sig) {
    if (sig == SIGUSR1) g_stats = 1;
    else g_stop = 1;
  };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  BridgeConfig cfg = {ROVER_CHANNELS, ROVER_N_CHANNELS, ROVER_N_MOTORS, (uint16_t)watchdog_ms,
                      rate == 0 ? 0u : (uint32_t)(1e6 / rate + 0.5), 100, 500, "rewardd-rover/1.0.0 host"};
  Bridge bridge(cfg, hal, boot_id);
  printf("pty %s\nboot_id %u\n", path, boot_id);
  fflush(stdout);
  bridge.begin();

  uint8_t buf[4096];
  while (!g_stop) {
    if (g_stats) {
      g_stats = 0;
      print_stats(bridge);
    }
    bridge.poll();
    // Unpaced: fill the ring with a burst of samples before writing (poll() only adds one when a whole frame fits).
    for (int burst = 0; rate == 0 && burst < 256 && hal.tx_room(MAX_ENCODED_FRAME + 1); burst++) bridge.poll();
    hal.flush();
    uint32_t wait_us = bridge.us_until_due();
    if (rate == 0 && hal.tx_room(MAX_ENCODED_FRAME + 1)) wait_us = 0;
    else if (rate == 0) wait_us = 1000;
    pollfd pfd = {m, (short)(POLLIN | (hal.len > 0 ? POLLOUT : 0)), 0};
    timespec ts = {0, (long)wait_us * 1000};
    int r = ppoll(&pfd, 1, &ts, nullptr);
    if (r > 0 && (pfd.revents & POLLIN)) {
      ssize_t n = read(m, buf, sizeof buf);
      if (n > 0) hal.host_spoke = true;
      for (ssize_t i = 0; i < n; i++) bridge.on_byte(buf[i]);
    }
  }
  print_stats(bridge);
  if (link) unlink(link);
  close(s);
  close(m);
  return 0;
}
