export * from './calibration.js';
export * from './apply.js';
