// Buffer sizes of the Bridge, in one header that every file including
// bridge.h sees (a -D in the sketch alone would give two class layouts).
#pragma once

#ifndef REWARDD_TX_RAW_MAX
#if defined(__AVR__)
#define REWARDD_TX_RAW_MAX 256  // Uno/Nano: 2 KiB RAM; the rover HELLO is ~232 bytes raw
#else
#define REWARDD_TX_RAW_MAX 512  // the protocol maximum
#endif
#endif

#ifndef REWARDD_RX_ENC_MAX
#define REWARDD_RX_ENC_MAX 64  // host -> MCU frames are small (PROTOCOL.md section 1)
#endif

#ifndef REWARDD_MAX_MOTORS
#define REWARDD_MAX_MOTORS 4
#endif
