/*
 * rewardd-avr-sim: the real AVR build of the rover firmware (rewardd_bridge.ino
 * with the Arduino core) running in simavr, its UART0 bridged to a pseudo-terminal
 * by simavr's own uart_pty part. Prints "pty <path>" first, then one line per
 * thing a test or a person checks:
 *   mcu <name> <hz>                      what is emulated
 *   event boot t_us <n> adc2_mv <n>      every boot (start, reset); adc2 is the floating pin the firmware seeds its boot id from
 *   motors <l> <r> t_us <n> host_silent_us <n>   the motor outputs changed (signed PWM duty -255..255,
 *                                        read from the timer and port registers: the real actuator path)
 *   event noise_done flipped <n> t_us <n>
 *   stats t_us=... ...                   on "stats", SIGUSR1 and at exit
 * Every time is emulated time: the AVR's cycle count / its clock frequency.
 *
 * Commands on stdin, one per line: reset (an MCU reset: the firmware boots again),
 * noise <every> <count> (flip one random bit in every <every>th byte the MCU sends,
 * <count> times), stats, quit. SIGUSR2 is a reset too.
 *
 * Pacing: simavr runs as fast as the host CPU allows; this program keeps emulated
 * time from running ahead of wall-clock time (sleeps when ahead), so the host's
 * 50 ms heartbeats are 50 ms on the MCU's clock too. When the machine is too slow
 * it cannot catch up (a burst would look like host silence to the firmware): the
 * deficit is counted in lag_ms and emulated time simply runs slower.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <simavr/avr_adc.h>
#include <simavr/avr_uart.h>
#include <simavr/parts/uart_pty.h>
#include <simavr/sim_avr.h>
#include <simavr/sim_elf.h>
#include <simavr/sim_time.h>

/* Exported by libsimavrparts 1.6 but not declared in its header: the cycle timer that feeds host bytes into the UART. */
avr_cycle_count_t uart_pty_flush_timer(struct avr_t* avr, avr_cycle_count_t when, void* param);

/* Where the sketch's motor outputs live (pins 5/4 and 6/7, rewardd_bridge.ino CONFIGURATION), as data-space
 * addresses: analogWrite(pin, v) is "COM bit set, OCR = v" for 0 < v < 255 and a plain port write otherwise. */
typedef struct {
  uint16_t tccr, ocr, pwm_port, dir_port;
  uint8_t com_bit, pwm_bit, dir_bit;
} motor_regs_t;
typedef struct {
  const char* mcu;
  motor_regs_t left, right;
} board_t;
static const board_t BOARDS[] = {
    /* Mega: pin 5 = PE3/OC3A, pin 4 = PG5, pin 6 = PH3/OC4A, pin 7 = PH4 */
    {"atmega2560", {0x90, 0x98, 0x2E, 0x34, 7, 3, 5}, {0xA0, 0xA8, 0x102, 0x102, 7, 3, 4}},
    /* Uno: pin 5 = PD5/OC0B, pin 4 = PD4, pin 6 = PD6/OC0A, pin 7 = PD7 */
    {"atmega328p", {0x44, 0x48, 0x2B, 0x2B, 5, 5, 4}, {0x44, 0x47, 0x2B, 0x2B, 7, 6, 7}},
};

static volatile sig_atomic_t g_stop = 0, g_stats = 0, g_reset = 0;
static avr_t* avr;
static uart_pty_t pty;
static const board_t* board;
static uint32_t freq = 16000000;
static uint64_t cycles_base = 0;     /* cycles before the last reset (simavr may restart avr->cycle at 0) */
static uint64_t last_host_byte = 0;  /* emulated cycle of the last byte from the host into the UART */
static uint64_t tx_bytes = 0, rx_bytes = 0, flipped = 0, resets = 0, lag_us = 0;
static long flip_every = 0, flip_left = 0, flip_n = 0;
static uint32_t rng = 0x2545F491u;
static int motors_l = 0, motors_r = 0;
/* MCU -> pty bytes. Not through uart_pty's own 512-byte fifo: that one overwrites itself when its
 * thread is starved for a few tens of ms on a busy machine (garbage the daemon would count as line
 * noise). This ring is bounded (64 KiB, ~5 s at 115200 baud); when it is full, bytes are dropped
 * and counted, as a UART with nobody listening loses them. */
#define OUT_RING 65536
static uint8_t out_ring[OUT_RING];
static size_t out_head = 0, out_len = 0;
static uint64_t out_oldest = 0, tx_dropped = 0;

static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static uint64_t now_cycles(void) { return cycles_base + avr->cycle; }
static void flush_out(int force);
static uint64_t cycles_to_us(uint64_t c) { return c * 1000000ull / freq; }
static uint64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A byte from the MCU's UART on its way to the pty: the place line noise is injected. */
static void mcu_tx_hook(struct avr_irq_t* irq, uint32_t value, void* param) {
  (void)irq;
  (void)param;
  tx_bytes++;
  if (flip_left > 0 && ++flip_n % flip_every == 0) {
    value ^= 1u << (next_rand() % 8);
    flipped++;
    if (--flip_left == 0) {
      printf("event noise_done flipped %llu t_us %llu\n", (unsigned long long)flipped, (unsigned long long)cycles_to_us(now_cycles()));
      fflush(stdout);
    }
  }
  if (out_len == OUT_RING) {
    tx_dropped++; /* nobody is reading the pty and the kernel's buffer is full: the line drops it */
    return;
  }
  out_ring[(out_head + out_len) % OUT_RING] = (uint8_t)value;
  if (out_len++ == 0) out_oldest = now_cycles();
}

/* Writes what the MCU sent to the pty: in batches (64 bytes, or 1 ms of emulated time, like a
 * USB-serial chip's latency timer), never blocking the emulation. */
static void flush_out(int force) {
  if (out_len == 0) return;
  if (!force && out_len < 64 && now_cycles() - out_oldest < freq / 1000) return;
  while (out_len > 0) {
    size_t chunk = out_head + out_len <= OUT_RING ? out_len : OUT_RING - out_head;
    ssize_t w = write(pty.pty.s, out_ring + out_head, chunk);
    if (w <= 0) return; /* EAGAIN: try again at the next service */
    out_head = (out_head + (size_t)w) % OUT_RING;
    out_len -= (size_t)w;
  }
}

/* A byte from the host entering the MCU's UART (called on the AVR's thread, when the UART takes it). */
static void host_rx_hook(struct avr_irq_t* irq, uint32_t value, void* param) {
  (void)irq;
  (void)value;
  (void)param;
  rx_bytes++;
  last_host_byte = now_cycles();
}

static int duty(const motor_regs_t* m) {
  const uint8_t* d = avr->data;
  int level = (d[m->tccr] >> m->com_bit) & 1 ? d[m->ocr] : ((d[m->pwm_port] >> m->pwm_bit) & 1) * 255;
  return (d[m->dir_port] >> m->dir_bit) & 1 ? level : -level;
}

static void check_motors(void) {
  int l = duty(&board->left), r = duty(&board->right);
  if (l == motors_l && r == motors_r) return;
  motors_l = l;
  motors_r = r;
  uint64_t now = now_cycles();
  printf("motors %d %d t_us %llu host_silent_us %llu\n", l, r, (unsigned long long)cycles_to_us(now),
         (unsigned long long)cycles_to_us(rx_bytes ? now - last_host_byte : now));
  fflush(stdout);
}

/* The floating analog pin the firmware mixes into its boot id: a new level each boot, as on a board. */
static void boot_noise(void) {
  uint32_t mv = next_rand() % 5000;
  avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC2), mv);
  printf("event boot t_us %llu adc2_mv %u\n", (unsigned long long)cycles_to_us(now_cycles()), mv);
  fflush(stdout);
}

static void print_stats(void) {
  printf("stats t_us=%llu tx_bytes=%llu tx_dropped=%llu rx_bytes=%llu flipped=%llu resets=%llu lag_ms=%llu motors=%d,%d\n",
         (unsigned long long)cycles_to_us(now_cycles()), (unsigned long long)tx_bytes, (unsigned long long)tx_dropped, (unsigned long long)rx_bytes,
         (unsigned long long)flipped, (unsigned long long)resets, (unsigned long long)(lag_us / 1000), motors_l, motors_r);
  fflush(stdout);
}

static void do_reset(void) {
  uint64_t before = avr->cycle;
  avr_reset(avr);
  if (avr->cycle < before) cycles_base += before - avr->cycle;
  resets++;
  /* avr_reset cancels every cycle timer, uart_pty's feeder among them: start it again. */
  pty.xon = 1;
  avr_cycle_timer_register(avr, avr_hz_to_cycles(avr, 1000), uart_pty_flush_timer, &pty);
  printf("event reset t_us %llu\n", (unsigned long long)cycles_to_us(now_cycles()));
  boot_noise();
}

/* stdin commands; a line longer than the buffer is dropped whole. */
static char cmd_buf[256];
static size_t cmd_len = 0;
static int stdin_open = 1;
static void run_command(char* line) {
  long a = 0, b = 0;
  if (!strcmp(line, "reset")) do_reset();
  else if (!strcmp(line, "stats")) print_stats();
  else if (!strcmp(line, "quit")) g_stop = 1;
  else if (sscanf(line, "noise %ld %ld", &a, &b) == 2 && a >= 1 && b >= 0) {
    flip_every = a;
    flip_left = b;
    flip_n = 0;
    printf("noise every %ld count %ld\n", a, b);
    fflush(stdout);
  } else if (line[0] != 0) {
    fprintf(stderr, "rewardd-avr-sim: unknown command \"%s\" (expected reset, noise <every> <count>, stats, quit)\n", line);
  }
}
static void read_stdin(void) {
  struct pollfd p = {0, POLLIN, 0};
  while (stdin_open && poll(&p, 1, 0) > 0) {
    char c;
    ssize_t n = read(0, &c, 1);
    if (n <= 0) {
      stdin_open = 0; /* /dev/null or a closed pipe: no more commands, keep running */
      return;
    }
    if (c == '\n') {
      cmd_buf[cmd_len < sizeof cmd_buf ? cmd_len : sizeof cmd_buf - 1] = 0;
      if (cmd_len < sizeof cmd_buf) run_command(cmd_buf);
      cmd_len = 0;
    } else if (cmd_len < sizeof cmd_buf) {
      cmd_buf[cmd_len++] = c;
    } else {
      cmd_len = sizeof cmd_buf; /* overlong: swallow to the newline */
    }
  }
}

static void on_signal(int sig) {
  if (sig == SIGUSR1) g_stats = 1;
  else if (sig == SIGUSR2) g_reset = 1;
  else g_stop = 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: rewardd-avr-sim [options] FIRMWARE.elf\n"
          "  --mcu NAME        atmega2560 (Arduino Mega, default) or atmega328p (Uno)\n"
          "  --freq HZ         MCU clock (default 16000000)\n"
          "  --link PATH       also make PATH a symlink to the pty (a stable name across restarts)\n"
          "  --noise-every N --noise-count K   flip one bit in every Nth byte the MCU sends, K times (default off)\n"
          "  --seed N          seed of the noise and of the floating-pin levels (default: from the clock)\n"
          "  --no-pace         let emulated time run faster than real time (the firmware watchdog will trip)\n"
          "stdin: reset | noise <every> <count> | stats | quit\n");
}

int main(int argc, char** argv) {
  const char* mcu = "atmega2560";
  const char* link = NULL;
  const char* elf = NULL;
  int pace = 1;
  uint32_t seed = (uint32_t)mono_us() ^ (uint32_t)getpid();
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      return 0;
    }
    if (!strcmp(a, "--no-pace")) {
      pace = 0;
      continue;
    }
    if (a[0] != '-') {
      elf = a;
      continue;
    }
    if (!v) {
      fprintf(stderr, "rewardd-avr-sim: expected a value after %s\n", a);
      return 2;
    }
    char* end = NULL;
    if (!strcmp(a, "--mcu")) mcu = v, end = (char*)v + strlen(v);
    else if (!strcmp(a, "--link")) link = v, end = (char*)v + strlen(v);
    else if (!strcmp(a, "--freq")) freq = (uint32_t)strtoul(v, &end, 10);
    else if (!strcmp(a, "--noise-every")) flip_every = strtol(v, &end, 10);
    else if (!strcmp(a, "--noise-count")) flip_left = strtol(v, &end, 10);
    else if (!strcmp(a, "--seed")) seed = (uint32_t)strtoul(v, &end, 0);
    else {
      fprintf(stderr, "rewardd-avr-sim: unknown option %s (see --help)\n", a);
      return 2;
    }
    if (end == v || *end != 0) {
      fprintf(stderr, "rewardd-avr-sim: %s expects a number, found \"%s\"\n", a, v);
      return 2;
    }
    i++;
  }
  if (!elf) {
    fprintf(stderr, "rewardd-avr-sim: expected a firmware .elf, found none (see --help)\n");
    return 2;
  }
  if (flip_left > 0 && flip_every < 1) {
    fprintf(stderr, "rewardd-avr-sim: --noise-every expects 1 or more\n");
    return 2;
  }
  if (freq < 1000000 || freq > 32000000) {
    fprintf(stderr, "rewardd-avr-sim: --freq expects 1000000..32000000, found %u\n", freq);
    return 2;
  }
  for (size_t i = 0; i < sizeof BOARDS / sizeof BOARDS[0]; i++)
    if (!strcmp(BOARDS[i].mcu, mcu)) board = &BOARDS[i];
  if (!board) {
    fprintf(stderr, "rewardd-avr-sim: --mcu expects atmega2560 or atmega328p, found \"%s\"\n", mcu);
    return 2;
  }
  rng = seed ? seed : 1;

  /* simavr's loader and uart_pty print their own chatter on stdout, and uart_pty (re)points
   * /tmp/simavr-uart0 at the pty: send the chatter to stderr (stdout is this program's line protocol),
   * read the pty from the struct, and remove the fixed /tmp link again when it is ours, so parallel
   * runs neither collide on it nor leave it behind. Our signals are for the main thread: uart_pty's
   * thread inherits this mask (a signal landing there would end its select loop, and the bridge). */
  sigset_t ours, old;
  sigemptyset(&ours);
  sigaddset(&ours, SIGINT);
  sigaddset(&ours, SIGTERM);
  sigaddset(&ours, SIGUSR1);
  sigaddset(&ours, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &ours, &old);
  fflush(stdout);
  int saved_stdout = dup(1);
  dup2(2, 1);

  elf_firmware_t fw;
  memset(&fw, 0, sizeof fw);
  if (access(elf, R_OK) != 0 || elf_read_firmware(elf, &fw) != 0) {
    fprintf(stderr, "rewardd-avr-sim: expected a readable AVR ELF at %s, found %s\n", elf, access(elf, R_OK) ? strerror(errno) : "a file simavr cannot load");
    return 1;
  }
  snprintf(fw.mmcu, sizeof fw.mmcu, "%s", mcu);
  fw.frequency = freq;
  fw.vcc = fw.avcc = fw.aref = 5000; /* mV: a 5 V board; the ADC needs its reference */
  avr = avr_make_mcu_by_name(fw.mmcu);
  if (!avr) {
    fprintf(stderr, "rewardd-avr-sim: simavr does not know the MCU %s\n", mcu);
    return 1;
  }
  avr_init(avr);
  avr_load_firmware(avr, &fw);
  avr->frequency = freq;

  uart_pty_init(avr, &pty);
  uart_pty_connect(&pty, '0');
  fflush(stdout);
  dup2(saved_stdout, 1);
  close(saved_stdout);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pty.pty.s == 0 || pty.pty.slavename[0] == 0) {
    fprintf(stderr, "rewardd-avr-sim: simavr's uart_pty could not open a pty\n");
    return 1;
  }
  char target[sizeof pty.pty.slavename + 1];
  ssize_t tn = readlink("/tmp/simavr-uart0", target, sizeof target - 1);
  if (tn > 0) {
    target[tn] = 0;
    if (!strcmp(target, pty.pty.slavename)) unlink("/tmp/simavr-uart0");
  }
  if (link) {
    unlink(link);
    if (symlink(pty.pty.slavename, link) != 0) {
      fprintf(stderr, "rewardd-avr-sim: --link %s: %s\n", link, strerror(errno));
      return 1;
    }
  }

  /* Route the MCU's output through mcu_tx_hook (the noise point) and our own ring instead of uart_pty's
   * fifo; uart_pty's thread still carries the host's bytes to the UART (it reads the master only after
   * select() says readable, so a non-blocking master is safe for it). */
  fcntl(pty.pty.s, F_SETFL, fcntl(pty.pty.s, F_GETFL) | O_NONBLOCK);
  avr_irq_t* uart_out = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT);
  avr_unconnect_irq(uart_out, pty.irq + IRQ_UART_PTY_BYTE_IN);
  avr_irq_register_notify(uart_out, mcu_tx_hook, NULL);
  avr_irq_register_notify(pty.irq + IRQ_UART_PTY_BYTE_OUT, host_rx_hook, NULL);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  printf("pty %s\nmcu %s %u\n", pty.pty.slavename, mcu, freq);
  fflush(stdout);
  boot_noise();

  const uint64_t service_every = freq / 10000; /* every 100 us of emulated time */
  uint64_t next_service = now_cycles() + service_every;
  uint64_t t0 = mono_us();
  uint64_t next_stdin = 0;
  int rc = 0;
  while (!g_stop) {
    int state = avr_run(avr);
    if (state == cpu_Done || state == cpu_Crashed) {
      fprintf(stderr, "rewardd-avr-sim: the MCU %s at pc 0x%x\n", state == cpu_Done ? "stopped" : "crashed", avr->pc);
      rc = 1;
      break;
    }
    uint64_t now = now_cycles();
    if (now < next_service) continue;
    next_service = now + service_every;
    flush_out(0);
    check_motors();
    if (g_stats) {
      g_stats = 0;
      print_stats();
    }
    if (g_reset) {
      g_reset = 0;
      do_reset();
      next_service = now_cycles() + service_every;
    }
    uint64_t wall = mono_us() - t0, emu = cycles_to_us(now_cycles());
    if (wall >= next_stdin) {
      read_stdin();
      next_stdin = wall + 5000;
    }
    if (!pace) continue;
    if (emu > wall + 1000) {
      struct timespec ts = {0, (long)((emu - wall) * 1000)};
      nanosleep(&ts, NULL);
    } else if (wall > emu + 20000) {
      /* Too slow to keep up: never catch up in a burst; count the deficit. */
      lag_us += wall - emu;
      t0 += wall - emu;
    }
  }
  flush_out(1);
  print_stats();
  if (link) unlink(link);
  /* No uart_pty_stop(): its thread may sit in a blocking write() to a pty nobody reads, and would
   * never join; exiting ends it with the process. */
  return rc;
}
