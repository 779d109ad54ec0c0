// Bytes allocated while a function runs, from a V8 sampling heap profile that keeps what was
// collected: what the actor-scale bench and the shutdown's scale test count (no timing).
import { Session } from 'node:inspector/promises';

/** Bytes allocated while `run` runs (sampled every `samplingInterval` bytes on average). */
export async function allocatedBy(run, samplingInterval = 256) {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    run();
    const { profile } = await session.post('HeapProfiler.stopSampling');
    const total = (node) => node.children.reduce((sum, child) => sum + total(child), node.selfSize);
    return total(profile.head);
  } finally {
    session.disconnect();
  }
}
