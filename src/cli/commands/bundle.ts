import type { Command } from 'commander';

export function registerBundle(program: Command): void {
  program
    .command('bundle')
    .description(
      'build the workflow bundle ahead (the image build does): workers load it with KS_ONBOARD_WORKFLOW_BUNDLE',
    )
    .requiredOption('--out <file>', 'where to write it, e.g. dist/workflow-bundle.js')
    .action(async (flags: { out: string }) => {
      const { writeWorkflowBundle } = await import('../../temporal/bundle.js');
      const bytes = await writeWorkflowBundle(flags.out);
      process.stdout.write(
        `workflow bundle written to ${flags.out} (${Math.round(bytes / 1024)} KiB); run workers with KS_ONBOARD_WORKFLOW_BUNDLE=${flags.out}\n`,
      );
    });
}
