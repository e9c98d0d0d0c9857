/** The `Application` group's options (which input streams, and how long a removed one's state is kept), part of the option table in `options.ts`. */
import { APPLICATION, durationOption, INPUT, stringOption } from './option-kinds';

// ---- Application (the input streams as a whole) -----------------------------------------------------

export const STREAMS_FILE = stringOption(
  {
    groups: [APPLICATION],
    key: 'streams-file',
    description:
      'A JSON file of more input streams, for fleets with many (one per tenant, one per service): `{"defaults": {input keys}, "streams": ["<stream ARN>", {"stream.arn": …, other input keys}, …]}`; each entry is an input group of its own, its keys over the defaults (docs/configuration.md, "Several input streams"). A path absolute or relative to the properties file. Read again, with the `InputStream<n>` groups, every discovery interval: streams added or removed there take effect without a restart.',
    defaultText: 'none: only the `InputStream<n>` groups',
  },
  'a file path',
);
export const REMOVED_STREAM_RETENTION = durationOption(
  {
    groups: [APPLICATION],
    key: 'removed-stream.retention',
    description:
      'How long the checkpoints of an input stream taken out of the configuration (or deleted in Kinesis) are kept: added back within it, the stream resumes where it stopped; after it, it starts again at its `source.init.position`.',
    defaultValue: 7 * 24 * 3_600_000,
  },
  60_000,
  365 * 24 * 3_600_000,
);
export const INPUT_OUTPUT = stringOption(
  {
    groups: [INPUT],
    key: 'output',
    description: 'The output group this input\'s records go to (`OutputStream1`, …); a transform module\'s `output` field overrides it per record.',
    defaultValue: 'OutputStream0',
  },
  'the name of an `OutputStream<n>` group of the configuration',
);
