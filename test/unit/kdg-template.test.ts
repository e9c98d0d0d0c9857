/**
 * Reading a Kinesis Data Generator record template (generator/template/kdg-template.ts): KDG's own
 * clean-up (trim, line breaks removed, `{{current.timestamp}}`), calls and their JSON or plain-string
 * arguments, and the line of a call that cannot be read.
 */
import { parseArguments, parseKdgTemplate, TemplateError, type TemplateCall, type TemplatePart } from '../../generator/template/kdg-template';

const calls = (parts: TemplatePart[]) => parts.filter((p): p is TemplateCall => p.kind === 'call');
/** The template with every call shown as ‹helper›, to see the text around them. */
const shape = (parts: TemplatePart[]) => parts.map((p) => (p.kind === 'text' ? p.text : `‹${p.helper}›`)).join('');

function templateError(text: string): string {
  try {
    parseKdgTemplate(text);
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError);
    return (err as Error).message;
  }
  throw new Error(`no TemplateError for ${JSON.stringify(text)}`);
}

describe('parseKdgTemplate', () => {
  test('KDG\'s help example: text and calls in order, with their arguments', () => {
    const parts = parseKdgTemplate('{{name.firstName}},{{name.lastName}},{{random.number(70)}},{{internet.ip}}');
    expect(shape(parts)).toBe('‹name.firstName›,‹name.lastName›,‹random.number›,‹internet.ip›');
    expect(calls(parts).map((c) => c.args)).toEqual([[], [], [70], []]);
  });

  test('a multi-line template becomes one line: the template trimmed, every line break removed, indentation kept (as KDG does)', () => {
    const template = '\n  {\n    "sensorId": {{random.number(50)}},\r\n    "status": "{{random.arrayElement(\n        ["OK","FAIL","WARN"]\n    )}}"\n}\n\n';
    const parts = parseKdgTemplate(template);
    expect(shape(parts)).toBe('{    "sensorId": ‹random.number›,    "status": "‹random.arrayElement›"}');
    expect(calls(parts)[1].args).toEqual([['OK', 'FAIL', 'WARN']]);
  });

  test('an argument object spread over lines, as in KDG\'s help page', () => {
    const [call] = calls(parseKdgTemplate('{{random.number(\n        {\n            "min":10,\n            "max":150\n        }\n    )}}'));
    expect(call).toMatchObject({ helper: 'random.number', args: [{ min: 10, max: 150 }], line: 1 });
  });

  test('each call knows the line it starts on and how it was written', () => {
    const parts = calls(parseKdgTemplate('{\n  "a": {{random.uuid}},\n\n  "b": {{date.now(\n"YYYY")}}\n}'));
    expect(parts.map((c) => [c.helper, c.line, c.source])).toEqual([
      ['random.uuid', 2, '{{random.uuid}}'],
      ['date.now', 4, '{{date.now("YYYY")}}'],
    ]);
  });

  test('{{current.timestamp}} is KDG\'s old name for {{date.now}}', () => {
    expect(calls(parseKdgTemplate('{{current.timestamp}} {{current.timestamp}}')).map((c) => c.helper)).toEqual(['date.now', 'date.now']);
  });

  test('beyond KDG: spaces inside the braces and a faker. prefix', () => {
    expect(calls(parseKdgTemplate('{{ name.firstName }} {{faker.random.number( 7 )}} {{ faker.person.middleName }}')).map((c) => [c.helper, c.args])).toEqual([
      ['name.firstName', []],
      ['random.number', [7]],
      ['person.middleName', []],
    ]);
  });

  test('a ")" or "}}" inside a JSON string argument does not end the call', () => {
    const [call] = calls(parseKdgTemplate('x{{random.arrayElement(["a)b", "}}", "(c"])}}y'));
    expect(call.args).toEqual([['a)b', '}}', '(c']]);
    expect(shape(parseKdgTemplate('x{{random.arrayElement(["a)b", "}}", "(c"])}}y'))).toBe('x‹random.arrayElement›y');
  });

  test('three-part names stay as written (the helper table decides what they mean)', () => {
    expect(calls(parseKdgTemplate('{{random.number.float({"min":1,"max":99,"precision":0.01})}}'))[0]).toMatchObject({ helper: 'random.number.float', args: [{ min: 1, max: 99, precision: 0.01 }] });
  });

  test('a "{{" with no "}}" after it is text, as in KDG; text without calls is one literal', () => {
    expect(parseKdgTemplate('abc {{ no close')).toEqual([{ kind: 'text', text: 'abc {{ no close' }]);
    expect(parseKdgTemplate('{"plain": {"json": 1}}')).toEqual([{ kind: 'text', text: '{"plain": {"json": 1}}' }]);
    expect(parseKdgTemplate('  \n ')).toEqual([]);
  });

  test('what cannot be a call names its line and shows what a call looks like', () => {
    expect(templateError('{\n  "a": {{ }}\n}')).toBe('line 2: {{ }} is not a helper call; allowed: {{namespace.helper}} or {{namespace.helper(arguments)}}, such as {{name.firstName}} or {{random.number(100)}}');
    expect(templateError('{{1abc}}')).toMatch(/^line 1: \{\{1abc\}\} is not a helper call/);
    expect(templateError('\n\n{{random.number(5}}')).toBe('line 3: {{random.number(5}}: the "(" after random.number is never closed');
    expect(templateError('{{random.number(5) x}}')).toBe('line 1: {{random.number(5) x: expected "}}" after random.number(…)');
    expect(templateError('{{name.firstName name.lastName}}')).toBe('line 1: {{name.firstName n: expected "}}" after name.firstName');
  });
});

describe('parseArguments', () => {
  test('JSON values, one or several', () => {
    expect(parseArguments('')).toEqual([]);
    expect(parseArguments('  ')).toEqual([]);
    expect(parseArguments('70')).toEqual([70]);
    expect(parseArguments('"YYYY-MM-DD"')).toEqual(['YYYY-MM-DD']);
    expect(parseArguments('{"min":1,"max":5}')).toEqual([{ min: 1, max: 5 }]);
    expect(parseArguments('5, 500')).toEqual([5, 500]);
    expect(parseArguments('null, 10')).toEqual([null, 10]);
  });

  test('what is not JSON is one plain string, trimmed, as KDG passes it ({{date.now(YYYY-MM-DD HH:mm)}} works there)', () => {
    expect(parseArguments('YYYY-MM-DD HH:mm')).toEqual(['YYYY-MM-DD HH:mm']);
    expect(parseArguments(' h:mm a (Z) ')).toEqual(['h:mm a (Z)']);
  });

  test('line breaks inside the arguments go, as KDG removes them before parsing', () => {
    expect(parseArguments('["a",\n"b"]')).toEqual([['a', 'b']]);
    expect(parseArguments('"YYYY\nMM"')).toEqual(['YYYYMM']);
  });
});
