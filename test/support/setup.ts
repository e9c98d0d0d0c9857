// The AWS SDK warns in every process that its 2027 releases need Node 22 (see bin/shardflow.js).
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  const text = `${warning.name}: ${warning.message}`;
  if (!text.includes('NodeVersionSupportWarning')) process.stderr.write(`${text}\n`);
});
