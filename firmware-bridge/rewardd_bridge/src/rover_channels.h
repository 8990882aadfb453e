// The rover's channel table (src/protocol/rover-channels.ts holds the first
// eight entries too): names expand to robots/rover.json's observations.
// motor_applied (extra, allowed by the host's check) echoes the motor values
// the firmware is applying, so tests and logs see what the wheels were told.
#pragma once
#include "rewardd_protocol.h"

namespace rewardd {

static const ChannelInfo ROVER_CHANNELS[] = {
    {0, "accel", CH_F32, 3, 1.0f, "m/s^2"},
    {1, "gyro", CH_F32, 3, 1.0f, "rad/s"},
    {2, "wheel_speed_left", CH_F32, 1, 1.0f, "rad/s"},
    {3, "wheel_speed_right", CH_F32, 1, 1.0f, "rad/s"},
    {4, "range_front", CH_F32, 1, 1.0f, "m"},
    {5, "battery_voltage", CH_F32, 1, 1.0f, "V"},
    {6, "beacon_x", CH_F32, 1, 1.0f, "m"},
    {7, "beacon_y", CH_F32, 1, 1.0f, "m"},
    {8, "motor_applied", CH_I16, 2, 1.0f / 32767.0f, "1"},
};
static const uint8_t ROVER_N_CHANNELS = sizeof ROVER_CHANNELS / sizeof ROVER_CHANNELS[0];
static const uint8_t ROVER_N_MOTORS = 2;

}  // namespace rewardd
