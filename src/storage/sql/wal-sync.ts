import { closeSync, fdatasync, fstatSync, fsyncSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

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
  /** A failed sync: the disk may have dropped what it was given, so no later sync is trusted. */
  private failed: Error | null = null;
  private next: Promise<void> | null = null;
  /** Syncs completed so far (for tests and the bench). */
  completed = 0;

  constructor(private readonly path: string) {}

  /** Resolves once everything committed before this call is on disk. */
  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.inFlight === null) return this.start();
    // The sync in flight may have begun before the caller's commit: the caller needs the next one.
    const start = () => {
      this.next = null;
      return this.start();
    };
    this.next ??= this.inFlight.then(start, start);
    return this.next;
  }

  /** Closes the log's descriptor once no sync uses it. */
  close(): void {
    const fd = this.fd;
    this.fd = null;
    if (fd === null) return;
    const closeIt = () => {
      try {
        closeSync(fd);
      } catch {}
    };
    if (this.inFlight) void this.inFlight.then(closeIt, closeIt);
    else closeIt();
  }

  private start(): Promise<void> {
    const done: Promise<void> = new Promise<void>((resolve, reject) => {
      fdatasync(this.file(), (err) => {
        if (err) {
          // Linux may drop the pages of a failed write-back and let a later sync succeed: refuse
          // every later write instead of answering as if it were on disk (PostgreSQL's rule too).
          this.failed = err;
          return reject(err);
        }
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
    // A new log file (SQLite makes it again after the last close) is durable only once its
    // directory entry is: sync the directory whenever the file is opened.
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return this.fd;
  }
}
