import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_PAGE, renderConfigTable, replaceConfigTable } from '../../shared/config/config-docs';
import { ALL_OPTIONS } from '../../shared/config/options';

const page = readFileSync(join(__dirname, '..', '..', CONFIG_PAGE), 'utf8');

test(`the configuration table in ${CONFIG_PAGE} is the one generated from the option schema (run \`npm run docs:config\`)`, () => {
  expect(replaceConfigTable(page)).toBe(page);
});

test('every option appears in the table with its default', () => {
  const table = renderConfigTable();
  for (const option of ALL_OPTIONS) {
    expect(table).toContain(`\`${option.key}\``);
    if (option.defaultText) expect(table).toContain(option.defaultText);
  }
});
