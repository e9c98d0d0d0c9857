#!/usr/bin/env node
'use strict';
// On Node 20 the AWS SDK warns, as several lines of plain text on stderr, that its releases after the
// first week of January 2027 need Node 22. The notice is legitimate, so shardflow's logger says it once
// per process as one log line (shared/logging.ts, nodeEndOfLifeNotice); the SDK's own text is filtered
// here so it does not break the JSON logs. Every other warning is still printed.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  const text = `${warning.name}: ${warning.message}`;
  if (!text.includes('NodeVersionSupportWarning')) process.stderr.write(`${text}\n`);
});
require('../dist/cli/main.js').main(process.argv);
