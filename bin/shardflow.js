#!/usr/bin/env node
'use strict';
// The AWS SDK warns in every process that its 2027 releases will need Node 22. shardflow pins its SDK
// versions in package-lock.json, so on Node 20 that line is noise in each worker's log; every other
// warning is still printed.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  const text = `${warning.name}: ${warning.message}`;
  if (!text.includes('NodeVersionSupportWarning')) process.stderr.write(`${text}\n`);
});
require('../dist/cli/main.js').main(process.argv);
