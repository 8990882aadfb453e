export * from './calibration.js';
export * from './apply.js';
export * from './procedures/index.js';
