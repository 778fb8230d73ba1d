// Integrity simulation (`orchard integrity simulate`): a deterministic world of organic reviewers and attack
// campaigns (world.ts), sent through a running Orchard's API and integrity pipeline (simulate.ts), on a
// throwaway embedded Orchard (run.ts). A lab: it uses the product, the product never imports it.
export { DEFAULT_OPTIONS, SMALL_OPTIONS, generateWorld, type SimulationOptions, type World } from './world.ts';
export { simulate, formatReport, type SimulationReport, type SimulationTarget } from './simulate.ts';
export { runIntegritySimulation } from './run.ts';
