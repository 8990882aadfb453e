// rewardd rover firmware for Arduino-compatible boards (Uno, Mega, Nano, Teensy,
// ESP32) over USB serial. Protocol: ../PROTOCOL.md. The protocol and the
// main logic (src/) are plain C++ shared with the host build; this file is
// only the hardware layer. Edit the CONFIGURATION block for your wiring.
//
// Status: built with the real Arduino AVR core for the ATmega2560 (Mega) and
// ATmega328P (Uno) by `make -C firmware-bridge avr`, and run in the loop on an
// emulated ATmega2560 (simavr, `rewardd firmware sim --mcu avr`) with
// REWARDD_SIM_ROVER=1, where a rover simulated on the MCU stands in for the
// sensors while the motor pins are driven for real. Not yet run on a physical
// board by the rewardd authors.
#include <Arduino.h>

// ---------------- CONFIGURATION ----------------
// Each value can also be given on the compiler command line (-DSAMPLE_HZ=50 ...).
#ifndef REWARDD_BAUD
#define REWARDD_BAUD 115200       // USB CDC boards ignore it; UART bridges (Uno's 16U2 is fine) need it
#endif
#ifndef SAMPLE_HZ
#define SAMPLE_HZ 100             // 0 = as fast as possible; 115200 baud carries ~180 rover samples/s, this loop ~115 (docs/firmware.md)
#endif
#ifndef WATCHDOG_MS
#define WATCHDOG_MS 150            // motors stop when the host is silent this long
#endif
#define PIN_ML_PWM 5               // left motor: PWM + direction (e.g. L298N / TB6612 with one dir pin)
#define PIN_ML_DIR 4
#define PIN_MR_PWM 6
#define PIN_MR_DIR 7
#define PIN_ENC_L 2                // wheel encoders on interrupt pins (count rising edges)
#define PIN_ENC_R 3
#define ENC_TICKS_PER_REV 360.0f
#define PIN_RANGE A0               // Sharp GP2Y0A21YK analog distance sensor
#define PIN_BATTERY A1             // battery through a divider
#define PIN_BOOT_NOISE A2          // an unconnected analog pin: its noise seeds the boot id
#define BATTERY_DIVIDER 3.0f       // Vbat = Vpin * divider
#define ADC_VREF 5.0f
#ifndef REWARDD_SIM_ROVER
#define REWARDD_SIM_ROVER 0        // 1: sensors come from a rover simulated on the MCU (emulator builds)
#endif
#ifndef USE_MPU6050
#define USE_MPU6050 (!REWARDD_SIM_ROVER)  // 0: accel/gyro report 0
#endif
#define MPU_ADDR 0x68
#define BOOT_COUNTER_EEPROM_ADDR 0  // 4 bytes of EEPROM count boots (mixed into the boot id); -1: none
// The beacon locator (UWB) is not wired in this reference sketch: beacon_x/y report 0.
// -----------------------------------------------

#if USE_MPU6050
#include <Wire.h>
#endif
#if defined(__AVR__) && BOOT_COUNTER_EEPROM_ADDR >= 0
#include <avr/eeprom.h>
#endif

#include "src/bridge.h"
#include "src/rover_channels.h"
#if REWARDD_SIM_ROVER
#include "src/rover_sim.h"
#define FIRMWARE_ID "rewardd-rover/1.0.0 avr-sim"
#else
#define FIRMWARE_ID "rewardd-rover/1.0.0 arduino"
#endif

using namespace rewardd;

static volatile long enc_l = 0, enc_r = 0;
static void on_enc_l() { enc_l++; }
static void on_enc_r() { enc_r++; }

class ArduinoHal : public BridgeHal {
 public:
  int8_t dir_l = 1, dir_r = 1;  // encoder counts carry no direction: take it from the command
  long last_l = 0, last_r = 0;
  uint32_t last_us = 0;

  uint32_t micros() override { return ::micros(); }
  uint32_t millis() override { return ::millis(); }
  // AVR's TX buffer is 64 bytes, smaller than a SAMPLE: a bigger frame is sent
  // (blocking ~6 ms at 115200 baud) once the buffer has drained; otherwise it waits.
  bool tx_room(size_t n) override { return Serial.availableForWrite() >= (int)n || Serial.availableForWrite() >= 63; }
  void tx(const uint8_t* p, size_t n) override { Serial.write(p, n); }

  void set_motors(const int16_t* raw, uint8_t n) override {
    if (n < 2) return;
    drive(PIN_ML_PWM, PIN_ML_DIR, raw[0]);
    drive(PIN_MR_PWM, PIN_MR_DIR, raw[1]);
    dir_l = raw[0] < 0 ? -1 : 1;
    dir_r = raw[1] < 0 ? -1 : 1;
  }

#if REWARDD_SIM_ROVER
  RoverSim rover;
  // The simulated rover, stepped on the MCU's own clock with the motor values being applied
  // (the same ones the PWM pins carry): what host/host_main.cpp reports, on the MCU.
  void read_sensors(FrameBuilder& b, const int16_t* motors) override {
    uint32_t now = ::micros();
    float dt = last_us == 0 ? 0 : (now - last_us) / 1e6f;
    if (dt > 0.1f) dt = 0.1f;
    last_us = now;
    rover.step(dt, motors);
    b.f32(rover.ax + rover.noise(0.05f));
    b.f32((rover.wl + rover.wr) * 0.035f / 2 * rover.yaw_rate() + rover.noise(0.05f));  // centripetal
    b.f32(9.81f + rover.noise(0.05f));
    b.f32(rover.noise(0.01f));
    b.f32(rover.noise(0.01f));
    b.f32(rover.yaw_rate() + rover.noise(0.01f));
    b.f32(rover.wl + rover.noise(0.02f));
    b.f32(rover.wr + rover.noise(0.02f));
    b.f32(rover.range_front() + rover.noise(0.005f));
    b.f32(rover.battery + rover.noise(0.01f));
    float bx, by;
    rover.beacon_rel(&bx, &by);
    b.f32(bx);
    b.f32(by);
    b.i16(motors[0]);
    b.i16(motors[1]);
  }
#else
  void read_sensors(FrameBuilder& b, const int16_t* motors) override {
    float ax = 0, ay = 0, az = 0, gx = 0, gy = 0, gz = 0;
#if USE_MPU6050
    read_mpu(&ax, &ay, &az, &gx, &gy, &gz);
#endif
    b.f32(ax);
    b.f32(ay);
    b.f32(az);
    b.f32(gx);
    b.f32(gy);
    b.f32(gz);
    uint32_t now = ::micros();
    float dt = last_us == 0 ? 0 : (now - last_us) / 1e6f;
    last_us = now;
    noInterrupts();
    long l = enc_l, r = enc_r;
    interrupts();
    float k = dt > 0 ? 2.0f * 3.14159265f / ENC_TICKS_PER_REV / dt : 0;
    b.f32(dir_l * (l - last_l) * k);
    b.f32(dir_r * (r - last_r) * k);
    last_l = l;
    last_r = r;
    float v_range = analogRead(PIN_RANGE) * ADC_VREF / 1023.0f;
    float range_m = v_range > 0.3f ? 0.2786f / powf(v_range, 1.15f) : 4.0f;  // datasheet fit, cm/100
    b.f32(range_m > 4.0f ? 4.0f : range_m);
    b.f32(analogRead(PIN_BATTERY) * ADC_VREF / 1023.0f * BATTERY_DIVIDER);
    b.f32(0.0f);  // beacon_x: not wired
    b.f32(0.0f);  // beacon_y: not wired
    b.i16(motors[0]);
    b.i16(motors[1]);
  }
#endif

 private:
  static void drive(uint8_t pwm, uint8_t dir, int16_t raw) {
    long duty = (long)(raw < 0 ? -raw : raw) * 255 / 32767;
    digitalWrite(dir, raw < 0 ? LOW : HIGH);
    analogWrite(pwm, (int)duty);
  }
#if USE_MPU6050
  static void read_mpu(float* ax, float* ay, float* az, float* gx, float* gy, float* gz) {
    Wire.beginTransmission(MPU_ADDR);
    Wire.write(0x3B);  // ACCEL_XOUT_H: 14 bytes of accel, temperature, gyro
    if (Wire.endTransmission(false) != 0 || Wire.requestFrom((uint8_t)MPU_ADDR, (uint8_t)14) != 14) return;
    int16_t v[7];
    for (int i = 0; i < 7; i++) {
      uint8_t hi = (uint8_t)Wire.read();  // two statements: the order of two reads in one expression is unspecified
      uint8_t lo = (uint8_t)Wire.read();
      v[i] = (int16_t)(((uint16_t)hi << 8) | lo);
    }
    const float g = 9.80665f / 16384.0f, dps = 3.14159265f / 180.0f / 131.0f;  // +-2 g, +-250 deg/s
    *ax = v[0] * g;
    *ay = v[1] * g;
    *az = v[2] * g;
    *gx = v[4] * dps;
    *gy = v[5] * dps;
    *gz = v[6] * dps;
  }
#endif
};

static ArduinoHal hal;
static Bridge* bridge = nullptr;

void setup() {
  pinMode(PIN_ML_PWM, OUTPUT);
  pinMode(PIN_ML_DIR, OUTPUT);
  pinMode(PIN_MR_PWM, OUTPUT);
  pinMode(PIN_MR_DIR, OUTPUT);
  analogWrite(PIN_ML_PWM, 0);
  analogWrite(PIN_MR_PWM, 0);
  pinMode(PIN_ENC_L, INPUT_PULLUP);
  pinMode(PIN_ENC_R, INPUT_PULLUP);
  attachInterrupt(digitalPinToInterrupt(PIN_ENC_L), on_enc_l, RISING);
  attachInterrupt(digitalPinToInterrupt(PIN_ENC_R), on_enc_r, RISING);
#if USE_MPU6050
  Wire.begin();
  Wire.beginTransmission(MPU_ADDR);
  Wire.write(0x6B);  // PWR_MGMT_1: wake up
  Wire.write(0);
  Wire.endTransmission();
#endif
  Serial.begin(REWARDD_BAUD);
  // Boot id: floating-pin noise mixed with the boot time and a boot counter (the pin alone can read
  // the same on two boots); never 0 (Bridge maps 0 to 1). The host detects a reset by a changed id.
  uint32_t seed = ::micros();
  for (int i = 0; i < 32; i++) seed = (seed << 1) ^ (seed >> 31) ^ (uint32_t)analogRead(PIN_BOOT_NOISE) ^ ::micros();
#if defined(__AVR__) && BOOT_COUNTER_EEPROM_ADDR >= 0
  uint32_t* boots_at = (uint32_t*)BOOT_COUNTER_EEPROM_ADDR;
  uint32_t boots = eeprom_read_dword(boots_at) + 1;
  eeprom_update_dword(boots_at, boots);
  seed ^= boots * 2654435761UL;
#endif
  static const BridgeConfig cfg = {ROVER_CHANNELS, ROVER_N_CHANNELS, ROVER_N_MOTORS, WATCHDOG_MS,
                                   SAMPLE_HZ > 0 ? 1000000UL / (SAMPLE_HZ > 0 ? SAMPLE_HZ : 1) : 0, 100, 500,
                                   FIRMWARE_ID};
  static Bridge b(cfg, hal, seed);
  bridge = &b;
  bridge->begin();
}

void loop() {
  while (Serial.available() > 0) bridge->on_byte((uint8_t)Serial.read());
  bridge->poll();
}
