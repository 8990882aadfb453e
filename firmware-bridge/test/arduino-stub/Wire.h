#pragma once
#include <stdint.h>
class TwoWire {
 public:
  void begin();
  void setClock(unsigned long hz);
  void beginTransmission(uint8_t addr);
  uint8_t endTransmission(bool stop = true);
  size_t write(uint8_t b);
  uint8_t requestFrom(uint8_t addr, uint8_t n);
  int read();
};
extern TwoWire Wire;
