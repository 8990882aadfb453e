/** The ES optimiser lives in src/ (the CLI's `reward refine --sim` trains with it too). */
export * from '../src/authoring/sim/es.js';
