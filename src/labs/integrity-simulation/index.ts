// Integrity simulation (`orchard integrity simulate`): a red team against the review integrity pipeline. A
// deterministic world of organic reviewers (with control groups) and attack families, drawn per seed (world.ts,
// texts.ts), sent through a running Orchard's API and integrity pipeline (simulate.ts), on a throwaway embedded
// Orchard (run.ts). TUNING seeds are 1–5, REPORTING seeds 101–110. A lab: it uses the product, the product never
// imports it.
export {
  ATTACK_KINDS,
  DEFAULT_OPTIONS,
  ORGANIC_CONTROLS,
  REPORTING_SEEDS,
  SMALL_OPTIONS,
  TUNING_SEEDS,
  generateWorld,
  randomOptions,
  type SimulationOptions,
  type World,
} from './world.ts';
export {
  simulate,
  aggregate,
  doneWhen,
  formatAggregate,
  formatMistake,
  formatReport,
  formatTable,
  parseSeeds,
  ROW_KINDS,
  type AggregateReport,
  type KindRow,
  type SimulationReport,
  type SimulationTarget,
} from './simulate.ts';
export { runIntegritySimulation } from './run.ts';
