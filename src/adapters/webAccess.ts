import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runDirectory } from './runFiles.js';

/**
 * Where a running supervisor's web API is, and its token, in a file only its
 * user can read (as Jupyter keeps its servers' tokens): so that `mewld status`
 * finds the supervisor of a config even with a random token or `port: 0`.
 * In the config's run directory (adapters/runFiles.ts), beside the run's claim.
 */

export interface WebAccess {
  url: string;
  token: string;
  pid: number;
  config: string;
}

const accessFile = (configFile: string, env: NodeJS.ProcessEnv = process.env) => join(runDirectory(configFile, env), 'web.json');

/** Written once the web server listens; returns a function that removes it. */
export function writeWebAccess(access: Omit<WebAccess, 'pid'>): () => void {
  const file = accessFile(access.config);
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify({ ...access, pid: process.pid }), { mode: 0o600 });
  chmodSync(file, 0o600); // a file left by an earlier run keeps its mode otherwise
  return () => rmSync(file, { force: true });
}

/** The web API of the supervisor running on this config, if one is (its process is alive). */
export function readWebAccess(configFile: string): WebAccess | undefined {
  let access: WebAccess;
  try {
    access = JSON.parse(readFileSync(accessFile(configFile), 'utf8')) as WebAccess;
  } catch {
    return undefined;
  }
  try {
    process.kill(access.pid, 0);
    return access;
  } catch {
    return undefined; // left by a supervisor that was killed
  }
}
