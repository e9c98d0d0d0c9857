/** The once-per-process notice about running on a Node past its end of life. */
import { nodeEndOfLifeNotice } from '../../shared/logging';

test('Node 20 gets the notice, naming the SDK deadline and the versions to move to', () => {
  const notice = nodeEndOfLifeNotice('20.20.2');
  expect(notice).toContain('Node 20.20.2 is past its end of life');
  expect(notice).toContain('January 2027');
  expect(notice).toContain('move to 22 or 24');
});

test('current LTS lines get none', () => {
  for (const version of ['22.12.0', '24.9.0', '26.1.0']) expect(nodeEndOfLifeNotice(version)).toBeUndefined();
});
