/**
 * Where the web server keeps its sessions (src/server/auth): in memory, in
 * the config's run directory, or in Redis when the bus is Redis (so that a
 * session outlives a restart of the supervisor, and is good on any of its
 * machines). Keys are hashes of the session ids, never the ids themselves.
 */
export interface Session {
  /** Unix ms. */
  expires: number;
  /** The Discord user it was opened for (Log in with Discord); none for a session opened with the token. */
  user?: string;
  /** For a session opened with the token: a hash of that token, so that a new token ends it. */
  token?: string;
}

export interface SessionStore {
  get(key: string): Promise<Session | undefined>;
  set(key: string, session: Session): Promise<void>;
  delete(key: string): Promise<void>;
}
