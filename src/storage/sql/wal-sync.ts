import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';

/**
 * Group commit for SQLite (#16). Commits run with `synchronous = NORMAL`, which writes them to
 * the write-ahead log without waiting for the disk; a caller then waits here, off the event
 * loop, for an `fdatasync` of the log that began after its commit. One sync covers every commit
 * made before it began, so under load many token responses share one, and none is answered
 * before its writes are on disk: the durability of `synchronous = FULL` at a fraction of the
 * syncs, with the event loop free while the disk works.
 */
export class WalSync {
  private fd: number | null = null;
  private inFlight: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  /** Syncs completed so far (for tests and the bench). */
  completed = 0;

  constructor(private readonly path: string) {}

  /** Resolves once everything committed before this call is on disk. */
  sync(): Promise<void> {
    if (this.inFlight === null) return this.start();
    // The sync in flight may have begun before the caller's commit: the caller needs the next one.
    const start = () => {
      this.next = null;
      return this.start();
    };
    this.next ??= this.inFlight.then(start, start);
    return this.next;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private start(): Promise<void> {
    const done: Promise<void> = new Promise<void>((resolve, reject) => {
      fdatasync(this.file(), (err) => {
        if (err) return reject(err);
        this.completed++;
        resolve();
      });
    }).finally(() => {
      if (this.inFlight === done) this.inFlight = null;
    });
    this.inFlight = done;
    return done;
  }

  /** The log's descriptor, opened again if the file was replaced (SQLite removes it on last close). */
  private file(): number {
    if (this.fd !== null) {
      try {
        if (fstatSync(this.fd).ino === statSync(this.path).ino) return this.fd;
      } catch {}
      this.close();
    }
    this.fd = openSync(this.path, 'r');
    return this.fd;
  }
}
