/**
 * rewardd as a library. Subscribers need only the record types and the step
 * batch decoder; the stages are exported so each can be used without the daemon.
 */
export * from './core/records.js';
export { RewarddError, ErrorCodes, type ErrorCode } from './core/errors.js';
export { loadRobot, parseRobot, type RobotDescription, type LoadedRobot, type FieldSpec } from './core/robot.js';
export { systemClock, ManualClock, type Clock } from './core/clock.js';
export { Mailbox } from './core/mailbox.js';
export { decodeStepBatch, encodeStepBatch, batchSteps } from './episode/batch-codec.js';
export { BATCH_SCHEMA, type StepBatch } from './episode/batch.js';
export { StepBatcher, type StepInput, type EncodedBatch } from './episode/step-batcher.js';
export * as protocol from './protocol/index.js';
export { SimLink, type SimLinkOptions } from './link/sim-link.js';
export { RoverModel, type RoverOptions, type SensorErrors } from './link/sim/rover-model.js';
export type { Link, LinkSink } from './link/link.js';
export * as calibration from './calibration/index.js';
export { ObservationAssembler, type Observation } from './observation/observation.js';
export * as reward from './reward/index.js';
export * as safety from './safety/index.js';
export { normaliseRunConfig, RUN_DEFAULTS, type RunConfig } from './daemon/config.js';
export { startDaemon, type RunningDaemon, type DaemonIo } from './daemon/daemon.js';
export { ControlLoop } from './daemon/control-loop.js';
export { EpisodeGate, parseResetMode, type ResetMode } from './daemon/episode-gate.js';
export { TickScheduler, type TickStats } from './daemon/tick-scheduler.js';
export { readEpisodeSteps, readEpisodeInfo } from './recorder/episode-reader.js';
export { Recorder } from './recorder/recorder.js';
export { EpisodePublisher } from './transport/publisher.js';
export { episodeTopics } from './transport/topics.js';
export { startEmbeddedBroker } from './transport/embedded-broker.js';
export * as vision from './vision/index.js';
