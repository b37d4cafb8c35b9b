/** The repository of Auth0's jobs: users imports and what became of them. */

/** One user an import could not take, as the file gave it (password hashes left out). */
export interface JobUserError {
  user: Record<string, unknown>;
  errors: { code: string; message: string; path: string }[];
}

/** A finished users import (Sesame runs it before answering, so it is stored complete). */
export interface JobRecord {
  id: string;
  type: 'users_import';
  status: 'completed';
  connectionId: string;
  externalId?: string;
  summary: { total: number; inserted: number; updated: number; failed: number };
  errors: JobUserError[];
  createdAt: number;
  expiresAt: number;
}

export interface JobRepository {
  create(job: JobRecord): Promise<void>;
  get(id: string): Promise<JobRecord | null>;
}
