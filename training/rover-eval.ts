/** The reach-beacon task lives in src/ (the CLI's `reward refine --sim` evaluates with it too). */
export * from '../src/authoring/sim/reach-task.js';
