// rewardd rover firmware for Arduino-compatible boards (Uno, Nano, Teensy,
// ESP32) over USB serial. Protocol: ../PROTOCOL.md. The protocol and the
// main logic (src/) are plain C++ shared with the host build; this file is
// only the hardware layer. Edit the CONFIGURATION block for your wiring.
//
// Honest status: this sketch is compiled on the host against a stub
// Arduino.h (make -C firmware-bridge sketch-check) but has NOT been built with
// a board toolchain or run on hardware by the rewardd authors.
#include <Arduino.h>
#include <Wire.h>

#include "src/bridge.h"
#include "src/rover_channels.h"

// ---------------- CONFIGURATION ----------------
#define REWARDD_BAUD 115200        // USB CDC boards ignore it; UART bridges (Uno's 16U2 is fine) need it
#define SAMPLE_HZ 100              // Uno at 115200 baud carries ~170 rover samples/s
#define WATCHDOG_MS 150            // motors stop when the host is silent this long
#define PIN_ML_PWM 5               // left motor: PWM + direction (e.g. L298N / TB6612 with one dir pin)
#define PIN_ML_DIR 4
#define PIN_MR_PWM 6
#define PIN_MR_DIR 7
#define PIN_ENC_L 2                // wheel encoders on interrupt pins (count rising edges)
#define PIN_ENC_R 3
#define ENC_TICKS_PER_REV 360.0f
#define PIN_RANGE A0               // Sharp GP2Y0A21YK analog distance sensor
#define PIN_BATTERY A1             // battery through a divider
#define BATTERY_DIVIDER 3.0f       // Vbat = Vpin * divider
#define ADC_VREF 5.0f
#define USE_MPU6050 1              // 0: accel/gyro report 0
#define MPU_ADDR 0x68
// The beacon locator (UWB) is not wired in this reference sketch: beacon_x/y report 0.
// -----------------------------------------------

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
    for (int i = 0; i < 7; i++) v[i] = (int16_t)((Wire.read() << 8) | Wire.read());
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
  // Boot id: floating-pin noise mixed with the boot time; never 0 (Bridge maps 0 to 1).
  uint32_t seed = ::micros();
  for (int i = 0; i < 32; i++) seed = (seed << 1) ^ (seed >> 31) ^ (uint32_t)analogRead(A2) ^ ::micros();
  static const BridgeConfig cfg = {ROVER_CHANNELS, ROVER_N_CHANNELS, ROVER_N_MOTORS, WATCHDOG_MS,
                                   1000000UL / SAMPLE_HZ, 100, 500, "rewardd-rover/1.0.0 arduino"};
  static Bridge b(cfg, hal, seed);
  bridge = &b;
  bridge->begin();
}

void loop() {
  while (Serial.available() > 0) bridge->on_byte((uint8_t)Serial.read());
  bridge->poll();
}
