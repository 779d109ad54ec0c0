import { describe, expect, it } from 'vitest';
import { closeForExitCode, exitCodeForClose, FATAL_CLOSE_CODES, needsReshard } from './closeCodes.js';

describe("Discord's fatal close codes as exit codes", () => {
  it('maps each fatal close code to 100 + (code − 4000) and back', () => {
    for (const close of Object.keys(FATAL_CLOSE_CODES).map(Number)) {
      const exit = exitCodeForClose(close)!;
      expect(exit).toBe(100 + close - 4000);
      expect(closeForExitCode(exit)).toBe(close);
    }
    expect(exitCodeForClose(4004)).toBe(104);
  });

  it('has no exit code for the close codes a reconnect or a restart can help (4000-4009, 1000, 4200)', () => {
    for (const close of [1000, 1006, 4000, 4001, 4007, 4008, 4009, 4015, 4200]) expect(exitCodeForClose(close)).toBeNull();
    for (const code of [null, undefined, 0, 1, 2, 99, 100, 101, 109, 115, 137, 143]) expect(closeForExitCode(code)).toBeNull();
  });

  it('says which ones a reshard answers', () => {
    expect([4004, 4010, 4011, 4012, 4013, 4014].filter((c) => needsReshard(c as 4004))).toEqual([4010, 4011]);
  });
});
