/**
 * A Kinesis Data Generator template file, read and made ready to render: parsed, faker loaded only when
 * a helper needs it, every call checked and run once. Throws TemplateError naming the line and the call.
 */
import { readFileSync } from 'node:fs';
import type { HelperContext } from './helper-spec';
import { parseKdgTemplate, TemplateError } from './kdg-template';
import { loadFaker } from './faker-loader';
import { compileTemplate, templateUsesFaker } from './record-template';

export interface LoadedTemplate {
  /** One record's text, as KDG would make it (before KDG's trailing line break). */
  render(): string;
  usesFaker: boolean;
}

export async function loadTemplateFile(file: string, clock: { now(): Date; random(): number } = { now: () => new Date(), random: Math.random }): Promise<LoadedTemplate> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TemplateError(`cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const parts = parseKdgTemplate(text);
  if (parts.length === 0) throw new TemplateError('is empty; allowed: a record template, such as {"name": "{{name.firstName}}", "age": {{random.number(90)}}}');
  const usesFaker = templateUsesFaker(parts);
  const ctx: Omit<HelperContext, 'faker'> | HelperContext = usesFaker ? { ...clock, faker: await loadFaker() } : clock;
  const template = compileTemplate(parts, ctx);
  return { render: () => template.render(ctx as HelperContext), usesFaker };
}
