/** The rover-reach policy contract lives in src/ (the CLI's `reward refine --sim` trains it too). */
export * from '../src/authoring/sim/rover-policy.js';
