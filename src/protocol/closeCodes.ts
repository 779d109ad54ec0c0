/**
 * Discord's gateway close codes that restarting a cluster cannot help, and
 * the exit codes a cluster uses to say it stopped on one (docs/protocol.md,
 * "Why a cluster stops"). The contract between a cluster, in any language,
 * and the supervisor: exit code 100 + (close code − 4000). The supervisor
 * does not restart such a cluster: it goes to `failed`, with the reason in
 * words, and an alert goes out.
 */

/** What each fatal close code means, and what the operator can do about it. */
export const FATAL_CLOSE_CODES = {
  4004: { name: 'authentication failed', advice: 'the token is wrong or was reset: set the right one (token, or MTOKEN)' },
  4010: { name: 'invalid shard', advice: 'the shard ids or count the bot identified with are wrong: the bot needs a reshard' },
  4011: { name: 'sharding required', advice: 'the bot has too many guilds for its shard count: it needs more shards (a reshard)' },
  4012: { name: 'invalid API version', advice: "the cluster's Discord library is too old for the gateway: update it" },
  4013: { name: 'invalid intents', advice: 'the intents the bot identifies with are not valid: fix them in its code' },
  4014: {
    name: 'disallowed intents',
    advice: 'the bot asks for a privileged intent it is not approved or enabled for: enable it in the Developer Portal, or stop asking',
  },
} as const;

export type FatalCloseCode = keyof typeof FATAL_CLOSE_CODES;

/** What a fatal close code asks of the operator: the token, the code, or a reshard. */
export const needsReshard = (close: FatalCloseCode) => close === 4010 || close === 4011;

const EXIT_BASE = 100;

const isFatal = (close: number): close is FatalCloseCode => close in FATAL_CLOSE_CODES;

/** The exit code that says "Discord closed my gateway with `close`", or null when restarting may help (any other code). */
export function exitCodeForClose(close: number): number | null {
  return isFatal(close) ? EXIT_BASE + (close - 4000) : null;
}

/** The fatal close code an exit code stands for, or null when it stands for none. */
export function closeForExitCode(code: number | null | undefined): FatalCloseCode | null {
  if (code === null || code === undefined) return null;
  const close = 4000 + (code - EXIT_BASE);
  return code >= EXIT_BASE && isFatal(close) ? close : null;
}

/** Why a cluster that exited with a fatal close code's exit code is not restarted, in words. */
export function describeFatalClose(close: FatalCloseCode): string {
  const { name, advice } = FATAL_CLOSE_CODES[close];
  return `Discord closed its gateway with ${close} (${name}): ${advice}; restarting cannot help`;
}
