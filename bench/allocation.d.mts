/** Bytes allocated while `run` runs (sampled every `samplingInterval` bytes on average; 256 by default). */
export function allocatedBy(run: () => void, samplingInterval?: number): Promise<number>;
