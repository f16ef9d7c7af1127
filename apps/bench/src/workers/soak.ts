/**
 * The reliability soak (@kaltura-ks/testing/soak) in its own process, so the
 * heap it measures is the route's alone: `soak.ts <json: SoakOptions>`.
 * Prints the report as one JSON line. Run with --expose-gc.
 */
import { runSoak, type SoakOptions } from '@kaltura-ks/testing/soak';

const options = JSON.parse(process.argv[2] ?? '{}') as SoakOptions;
const report = await runSoak(options);
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
