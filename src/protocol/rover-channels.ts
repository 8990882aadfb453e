import type { ChannelInfo } from './frames.js';

/**
 * The rover's channel table as its firmware announces it in HELLO
 * (firmware-bridge/src/rover_channels.h holds the same table). Field names
 * expand to robots/rover.json's observation names, in the same order.
 * f32 with scale 1: the values are already in SI units.
 */
export const ROVER_CHANNELS: readonly ChannelInfo[] = [
  { id: 0, name: 'accel', type: 'f32', count: 3, scale: 1, unit: 'm/s^2' },
  { id: 1, name: 'gyro', type: 'f32', count: 3, scale: 1, unit: 'rad/s' },
  { id: 2, name: 'wheel_speed_left', type: 'f32', count: 1, scale: 1, unit: 'rad/s' },
  { id: 3, name: 'wheel_speed_right', type: 'f32', count: 1, scale: 1, unit: 'rad/s' },
  { id: 4, name: 'range_front', type: 'f32', count: 1, scale: 1, unit: 'm' },
  { id: 5, name: 'battery_voltage', type: 'f32', count: 1, scale: 1, unit: 'V' },
  { id: 6, name: 'beacon_x', type: 'f32', count: 1, scale: 1, unit: 'm' },
  { id: 7, name: 'beacon_y', type: 'f32', count: 1, scale: 1, unit: 'm' },
];
