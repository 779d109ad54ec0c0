/**
 * Leases (docs/scale-out.md): who runs what when several nodes run one bot.
 * A lease on a name (a cluster id, a node's name) is held by one holder at a
 * time, for a time to live that the holder renews; each new holder gets a
 * fencing number one above the last, so that what an old holder started can
 * tell it has been replaced. Every operation is atomic in the store.
 */

export interface Lease {
  holder: string;
  fence: number;
}

export interface LeaseStore {
  /** Takes the lease on `name` for `holder` if nobody holds it: its fence (one above the last); null when it is held. */
  acquire(name: string, holder: string, ttlMs: number): Promise<number | null>;
  /** Extends the lease if it is still `holder`'s with `fence`; false when it is not (expired, or another's). */
  renew(name: string, holder: string, fence: number, ttlMs: number): Promise<boolean>;
  /**
   * After the store lost writes (a Redis failover): sets the lease back if it
   * is gone and no later fence was given, or renews it if it is still ours;
   * false when another holder has it or has had it since.
   */
  reassert(name: string, holder: string, fence: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if it is still `holder`'s with `fence`; false when it was not. */
  release(name: string, holder: string, fence: number): Promise<boolean>;
  /** Who holds it now, null when nobody does. */
  read(name: string): Promise<Lease | null>;
}
