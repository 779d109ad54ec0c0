import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HistoryStore } from '../../interfaces/history.js';
import { writeFileAtomic } from '../runFiles.js';
import { decodeHistory, encodeHistory } from './codec.js';

/**
 * The history in the config's run directory (`history.json`, beside the
 * sessions), for a config without Redis: it outlives a restart of the
 * supervisor on this machine; the run directory under $XDG_RUNTIME_DIR does
 * not outlive a reboot (~/.mewld does).
 */
export function fileHistoryStore(dir: string): HistoryStore {
  const file = join(dir, 'history.json');
  return {
    async load() {
      try {
        return decodeHistory(await readFile(file, 'utf8'));
      } catch {
        return null; // none yet
      }
    },
    async save(history) {
      writeFileAtomic(file, encodeHistory(history));
    },
  };
}
