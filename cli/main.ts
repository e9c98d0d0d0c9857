/** The `shardflow` command line. */
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_APP, DEFAULT_METRICS_PORT, DEFAULT_PROPERTIES, DEFAULT_REDIS } from './defaults';
import { boundHeapGrowth, keepYoungGenerationSmall, letYoungGenerationGrow } from './heap-growth';

function withCommon(command: Command): Command {
  return command
    .addOption(new Option('--properties <file>', `runtime properties file (env APPLICATION_PROPERTIES_FILE, default ${DEFAULT_PROPERTIES})`))
    .addOption(new Option('--redis <url>', `Redis URL: redis://, rediss://, redis+sentinel://host:26379,host2:26379/<primary>, redis+cluster://host:6379,host2:6379 (rediss+... for TLS; env REDIS_URL, default ${DEFAULT_REDIS})`))
    .addOption(new Option('--app <name>', `application name; every Redis key and queue lives under it (env SHARDFLOW_APP, default ${DEFAULT_APP})`));
}

function withOps(command: Command): Command {
  return command
    .addOption(new Option('--metrics-port <port>', `port of /metrics, /healthz and /readyz; 0 picks a free one (env METRICS_PORT, default ${DEFAULT_METRICS_PORT})`))
    .addOption(new Option('--metrics-host <host>', 'address they listen on (env METRICS_HOST, default 127.0.0.1; 0.0.0.0 in containers)'));
}

// Each command's module is loaded only when that command runs: a worker does not carry the dashboard's
// or the local stack's modules (about 20 MiB of RSS per process).
export function buildProgram(): Command {
  const program = new Command('shardflow')
    .description('Reads a Kinesis data stream with a fleet of leased workers, transforms the records and writes them to another stream.')
    .exitOverride()
    .showHelpAfterError();

  withOps(withCommon(program.command('coordinator').description('list shards and keep one lease per shard in the lease queue'))).action(async (opts) => (await import('./run-coordinator')).runCoordinator(opts));
  withOps(withCommon(program.command('worker').description('take shard leases, read, transform and write records')))
    .option('--coordinate', 'also run a coordinator in this process (one leads, the others stand by), so a fleet needs one kind of process')
    .action(async (opts) => {
      letYoungGenerationGrow();
      return (await import('./run-worker')).runWorker(opts);
    });
  withCommon(program.command('generate').description('write records to the input stream: stock records like the reference stock.py, a Kinesis Data Generator template\'s, or a captured file\'s'))
    .option('--count <n>', 'records to write (default: until stopped; with --from, until the end of the file)')
    .option('--rate <r>', 'records per second', '100')
    .option('--stream <arn>', 'stream to write to (default: InputStream0 stream.arn)')
    .option('--partition-key <mode>', 'random (spread over all shards), ticker (the record\'s "ticker"), or constant (stock.py\'s one key "partitionkey"); --from lines with a PartitionKey keep theirs', 'random')
    .option('--aggregate', 'pack the records into KPL aggregated records (up to 50 KiB each, keyed by their first record)')
    .option('--template <file>', 'records from a Kinesis Data Generator record template ({{random.number(100)}}, {{name.firstName}}, {{date.now("YYYY-MM-DD")}}…; docs/generator.md lists the helpers)')
    .option('--from <file>', 'replay a JSON Lines file in order, one record a line as `shardflow transform --input` reads them (the data as JSON, or {"Data": "<base64>", "PartitionKey": "..."}); stops at its end')
    .option('--loop', 'with --from: start the file over at its end, until stopped or --count')
    .action(async (opts) => {
      letYoungGenerationGrow();
      return (await import('./run-generate')).runGenerate(opts);
    });
  program
    .command('transform')
    .description('run a transform over sample records and print what becomes of each: outputs with their groups and keys, filtered out, or the dead-letter reason (no Redis, no Kinesis)')
    .option('--module <file>', 'the transform module (default: Transform.module of --properties, else the built-in stock mapping); builtin:stock or builtin:pass-through name the built-ins')
    .option('--input <file>', 'JSON Lines: each line a record\'s data as JSON, or {"Data": "<base64>", "PartitionKey": "..."} as the AWS CLI prints records; - reads standard input (default: stock records like stock.py\'s)')
    .option('--count <n>', 'without --input: how many stock records', '10')
    .option('--json', 'one JSON object per input record (docs/transforms.md gives the shape)')
    .addOption(new Option('--properties <file>', 'runtime properties, for their output groups, keys and Transform settings (env APPLICATION_PROPERTIES_FILE; default: none)'))
    .action(async (opts) => (await import('./run-transform')).runTransform(opts));
  withCommon(program.command('shutdown').description('stop the whole application on purpose (and deregister a JOB_MANAGED EFO consumer)'))
    .option('--timeout <seconds>', 'how long to wait for every process to stop', '120')
    .action(async (opts) => (await import('./run-shutdown')).runShutdown(opts));
  withCommon(program.command('dashboard').description('serve the Bull Board dashboard (leases and dead letters) on its own')).action(async (opts) => (await import('./run-dashboard')).runDashboard(opts));
  withCommon(program.command('dlq <action>').description('dead letters: list, replay (through the current transform and sink) or purge'))
    .option('--reason <text>', 'only dead letters whose reason contains this text')
    .option('--stream <name-or-arn>', 'only dead letters of this input stream (its name or ARN)')
    .option('--json', 'list as JSON')
    .option('--timeout <seconds>', 'replay: how long to wait for every letter to be processed', '120')
    .action(async (action, opts) => (await import('./run-dlq')).runDlq(action, opts));
  withCommon(program.command('start-over').description("after Redis lost the application's state (exit code 3): delete every key of the app, so the next start reads from source.init.position"))
    .option('--yes', 'really delete them (refused while any worker or coordinator of the app is alive)')
    .action(async (opts) => (await import('./run-start-over')).runStartOver(opts));
  withCommon(program.command('local').description('run the whole pipeline locally: local Kinesis, Redis, coordinator, workers and generator'))
    .option('--workers <n>', 'worker processes', '2')
    .option('--shards <n>', 'input stream shards, when the stack creates it', '4')
    .option('--rate <r>', 'generator records per second', '50')
    .option('--partition-key <mode>', 'generator partition keys: random, ticker or constant', 'random')
    .option('--aggregate', 'the generator writes KPL aggregated records')
    .option('--template <file>', 'the generator writes records of this Kinesis Data Generator record template (as generate --template)')
    .option('--from <file>', 'the generator replays this JSON Lines file (as generate --from); it stops at the end of the file unless --loop')
    .option('--loop', 'with --from: the generator replays the file over and over')
    .option('--logs <dir>', 'where the processes\' logs go (default .local/logs/<app>)')
    .option('--module <file>', 'the workers\' transform module (Transform.module), relative to where the command runs; the processes then run with properties the stack writes into the logs folder')
    .option('--outputs <n>', 'output streams: the stack creates OutputStream0..OutputStream<n-1>, each group the properties lack made like OutputStream0 on a stream named after its own, and the status line shows each output\'s rate (default: 2 with --module, else 1)')
    .action(async (opts) => (await import('./local/stack')).runLocal(opts));
  return program;
}

export function main(argv: string[]): void {
  boundHeapGrowth();
  keepYoungGenerationSmall();
  const program = buildProgram();
  program.parseAsync(argv).catch((err: unknown) => {
    if (err instanceof CommanderError) {
      // --help and --version end with code 0; every other parse error is a bad argument.
      process.exit(err.exitCode === 0 ? 0 : 2);
      return;
    }
    // Loaded here, not at the top: main() sizes the heap before any heavy module loads.
    void import('./lifecycle').then(({ exitWithError }) => exitWithError(err));
  });
}
