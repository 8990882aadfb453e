// Just enough of the Arduino API to compile rewardd_bridge.ino on the host
// (make sketch-check): a type and syntax check, NOT a board build.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define A0 14
#define A1 15
#define A2 16
#define HIGH 1
#define LOW 0
#define INPUT 0
#define OUTPUT 1
#define INPUT_PULLUP 2
#define RISING 3
#define CHANGE 1

unsigned long micros();
unsigned long millis();
int analogRead(uint8_t pin);
void analogWrite(uint8_t pin, int value);
void digitalWrite(uint8_t pin, uint8_t value);
int digitalRead(uint8_t pin);
void pinMode(uint8_t pin, uint8_t mode);
void attachInterrupt(uint8_t irq, void (*fn)(), int mode);
uint8_t digitalPinToInterrupt(uint8_t pin);
void noInterrupts();
void interrupts();
void randomSeed(unsigned long seed);
long random(long max);
void delay(unsigned long ms);

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  int available();
  int read();
  int availableForWrite();
  size_t write(const uint8_t* p, size_t n);
  operator bool() { return true; }
};
extern HardwareSerial Serial;
