// The `simulate-charts` subcommand of `orchard integrity` (main.ts registers it on its integrity command).
import type { Command } from 'commander';
import { runChartSimulation } from './run.ts';
import { formatReports, type ChartSimulationReport } from './simulate.ts';
import { parseSeeds, REPORTING_SEEDS, TUNING_SEEDS } from './world.ts';

const span = (seeds: number[]) => `${seeds[0]}-${seeds[seeds.length - 1]}`;

export function registerChartSimulation(integrityCommand: Command): void {
  integrityCommand
    .command('simulate-charts')
    .description(
      'chart red team: fresh, aged-thin, aged-lockstep and aged-varied campaigns (with fabricated SDK engagement) and a genuine rise, ' +
        'through a throwaway store (in memory); ranks in top free and trending, sessions refused, PASS/FAIL',
    )
    .option('--seed <n>', 'one world seed (default 1)')
    .option(
      '--seeds <list>',
      `several seeds, e.g. 1-3 or 101,104: tuning seeds are ${span(TUNING_SEEDS)}, reporting seeds ${span(REPORTING_SEEDS)} (never tune on them)`,
    )
    .option('--json', 'print the reports as JSON')
    .action(async (opts: { seed?: string; seeds?: string; json?: boolean }) => {
      const seeds = opts.seeds ? parseSeeds(opts.seeds) : parseSeeds(opts.seed ?? '1');
      const reports: ChartSimulationReport[] = [];
      for (const s of seeds) reports.push(await runChartSimulation(s, opts.json ? () => {} : (line) => console.error(line)));
      console.log(opts.json ? JSON.stringify(reports, null, 2) : formatReports(reports));
      if (reports.some((r) => r.doneWhen.some((d) => !d.pass))) process.exitCode = 1;
    });
}
