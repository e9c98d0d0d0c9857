/** The command-line contract: exit codes and the one-line configuration messages. */
import { runCli } from '../support/cli';
import { writeProperties, localProperties, type Groups } from '../support/properties';
import { uniqueName } from '../support/wait';

const IN = 'arn:aws:kinesis:us-east-1:000000000000:stream/in';
const OUT = 'arn:aws:kinesis:us-east-1:000000000000:stream/out';
const UNREACHABLE_REDIS = 'redis://127.0.0.1:1';

function props(overrides: Groups = {}): string {
  return writeProperties(localProperties('http://127.0.0.1:1', IN, OUT, overrides));
}

async function expectConfigError(args: string[], ...parts: string[]) {
  const { code, output } = await runCli(args);
  expect(code).toBe(2);
  for (const part of parts) expect(output).toContain(part);
  // One message, not a stack trace.
  expect(output).not.toMatch(/\n\s+at /);
}

describe.each(['coordinator', 'worker'])('shardflow %s exits 2 on bad configuration', (command) => {
  test('a value that is not allowed names the group, key, value and what is allowed', async () => {
    await expectConfigError(
      [command, '--properties', props({ InputStream0: { 'source.init.position': 'SIDEWAYS' } })],
      'InputStream0',
      'source.init.position',
      '"SIDEWAYS"',
      'LATEST | TRIM_HORIZON | AT_TIMESTAMP',
    );
  });

  test('a missing required key', async () => {
    const groups = localProperties('http://127.0.0.1:1', IN, OUT);
    delete groups.OutputStream0['stream.arn'];
    await expectConfigError([command, '--properties', writeProperties(groups)], 'OutputStream0', 'stream.arn', 'missing', 'Kinesis stream ARN');
  });
});

test('a sink setting out of range', async () => {
  await expectConfigError(['worker', '--properties', props({ OutputStream0: { 'sink.batch.max-size': '501' } })], 'OutputStream0', 'sink.batch.max-size', '"501"', 'from 1 to 500');
});

test('AT_TIMESTAMP without a timestamp', async () => {
  await expectConfigError(['coordinator', '--properties', props({ InputStream0: { 'source.init.position': 'AT_TIMESTAMP' } })], 'InputStream0', 'source.init.timestamp', 'ISO-8601');
});

test('a properties file that does not exist or is not JSON', async () => {
  await expectConfigError(['worker', '--properties', '/nonexistent/props.json'], 'cannot read the properties file', '/nonexistent/props.json');
});

test('a bad --redis URL and an unknown option', async () => {
  await expectConfigError(['worker', '--properties', props(), '--redis', 'http://localhost'], '--redis', 'redis:// or rediss://');
  const unknown = await runCli(['worker', '--frobnicate']);
  expect(unknown.code).toBe(2);
  expect(unknown.output).toContain("unknown option '--frobnicate'");
});

test('an app name with characters that do not belong in a Redis key', async () => {
  await expectConfigError(['worker', '--properties', props(), '--app', 'a b'], '--app');
});

test('the properties file comes from APPLICATION_PROPERTIES_FILE when --properties is absent', async () => {
  const file = props({ InputStream0: { 'source.reader.type': 'SOMETIMES' } });
  const { code, output } = await runCli(['worker'], { APPLICATION_PROPERTIES_FILE: file });
  expect(code).toBe(2);
  expect(output).toContain('source.reader.type');
});

test('unreachable Redis is exit 1 with what is missing and how to get it; unknown keys are warned about once', async () => {
  const file = props({ InputStream0: { 'source.frobnication': 'yes' }, Surprise: { a: 'b' } });
  const { code, output } = await runCli(['worker', '--properties', file, '--redis', UNREACHABLE_REDIS, '--app', uniqueName('it-cli')]);
  expect(code).toBe(1);
  expect(output).toContain('cannot reach Redis at redis://127.0.0.1:1');
  expect(output).toContain('redis-server');
  expect(output.match(/Unknown key \\"source.frobnication\\" in property group \\"InputStream0\\"/g)).toHaveLength(1);
  expect(output.match(/Unknown property group \\"Surprise\\"/g)).toHaveLength(1);
});

test('the Node end-of-life notice is one log line per process at most, and the SDK\'s own multi-line warning is not printed', async () => {
  const { output } = await runCli(['worker', '--properties', props(), '--redis', UNREACHABLE_REDIS, '--app', uniqueName('it-cli')]);
  expect(output).not.toContain('NodeVersionSupportWarning');
  const notices = output.split('\n').filter((line) => line.includes('past its end of life'));
  expect(notices).toHaveLength(Number(process.versions.node.split('.')[0]) < 22 ? 1 : 0);
});

test('--help exits 0', async () => {
  const { code, output } = await runCli(['--help']);
  expect(code).toBe(0);
  for (const command of ['coordinator', 'worker', 'generate', 'local']) expect(output).toContain(command);
});
