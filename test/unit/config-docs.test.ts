import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigTable, replaceConfigTable } from '../../shared/config/config-docs';
import { ALL_OPTIONS } from '../../shared/config/options';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

test('the README configuration table is the one generated from the option schema (run `npm run docs:config`)', () => {
  expect(replaceConfigTable(readme)).toBe(readme);
});

test('every option appears in the table with its default', () => {
  const table = renderConfigTable();
  for (const option of ALL_OPTIONS) {
    expect(table).toContain(`\`${option.key}\``);
    if (option.defaultText) expect(table).toContain(option.defaultText);
  }
});
