// Chart red-team simulation (`orchard integrity simulate-charts`): a deterministic world of incumbents, campaigns
// and a genuine rise (world.ts), sent through a running Orchard's API, statistics consumer and chart run
// (simulate.ts), on a throwaway embedded Orchard (run.ts). A lab: it uses the product, the product never imports it.
export { FAMILIES, ATTACK_FAMILIES, TUNING_SEEDS, REPORTING_SEEDS, generateWorld, parseSeeds, type ChartWorld, type Family } from './world.ts';
export { simulateCharts, formatReports, doneWhen, type ChartSimulationReport, type ChartSimulationTarget, type FamilyOutcome } from './simulate.ts';
export { runChartSimulation } from './run.ts';
export { registerChartSimulation } from './cli.ts';
