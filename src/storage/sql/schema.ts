import type { Generated } from 'kysely';

/** Kysely table types; times are whole seconds since the epoch, JSON lives in text columns. */
export interface Database {
  applications: {
    client_id: string;
    name: string;
    type: string;
    secret_hash: string | null;
    callbacks: string;
    logout_callbacks: string;
    grant_types: string;
    settings: string;
    is_system: number;
    created_at: number;
    updated_at: number;
  };
  apis: {
    id: string;
    identifier: string;
    name: string;
    scopes: string;
    token_lifetime: number;
    signing_alg: string;
    allow_offline_access: number;
    options: string;
    is_system: number;
    created_at: number;
    updated_at: number;
  };
  client_grants: {
    id: string;
    client_id: string;
    api_id: string;
    /** 'client' (client credentials) or 'user'. */
    subject_type: string;
    scopes: string;
    created_at: number;
  };
  signing_keys: {
    kid: string;
    alg: string;
    public_jwk: string;
    private_key: string;
    created_at: number;
    activates_at: number;
    retires_at: number | null;
    published_until: number | null;
    revoked_at: number | null;
  };
  revoked_tokens: {
    jti: string;
    expires_at: number;
  };
  authorization_codes: {
    hash: string;
    client_id: string;
    grant_id: string;
    expires_at: number;
    payload: string;
    consumed_at: number | null;
    replayed_at: number | null;
  };
  users: {
    id: string;
    email: string;
    password_hash: string;
    blocked: number;
    claims: string;
    /** The name in lower case, '' for none: what lists search and sort. */
    name: string;
    app_metadata: string;
    user_metadata: string;
    created_at: number;
    updated_at: number;
    /** Password sign-ins so far. */
    logins_count: Generated<number>;
    /** The last one (seconds since the epoch), 0 for never. */
    last_login: Generated<number>;
    /** Its client address. */
    last_ip: string | null;
  };
  sessions: {
    id_hash: string;
    sid: string;
    user_id: string;
    auth_time: number;
    created_at: number;
    expires_at: number;
    last_seen_at: number | null;
    initial_ip: string | null;
    initial_user_agent: string | null;
  };
  interactions: {
    id_hash: string;
    csrf: string;
    payload: string;
    expires_at: number;
  };
  consents: {
    id: string;
    user_id: string;
    client_id: string;
    audience: string;
    scopes: string;
    updated_at: number;
  };
  refresh_tokens: {
    hash: string;
    family_id: string;
    grant_id: string;
    client_id: string;
    user_id: string;
    payload: string;
    created_at: number;
    expires_at: number;
    family_expires_at: number;
    rotated_at: number | null;
    revoked_at: number | null;
    /** The successor's value, sealed: handed out again to a reuse within the grace period. */
    successor: string | null;
    /** The access token issued with this refresh token (#16; before, a row of grant_tokens). */
    access_jti: string | null;
    access_expires_at: number | null;
  };
  known_sign_ins: {
    user_id: string;
    /** 'address' (a client address, IPv6 per /64) or 'device' (the hash of a device cookie). */
    kind: string;
    value: string;
    last_at: number;
  };
  grant_tokens: {
    grant_id: string;
    jti: string;
    expires_at: number;
    user_id: string | null;
    client_id: string | null;
    audience: string | null;
  };
  login_attempts: {
    key: string;
    failures: number;
    window_start: number;
    locked_until: number;
  };
  device_codes: {
    hash: string;
    user_code: string;
    client_id: string;
    payload: string;
    status: string;
    user_id: string | null;
    auth_time: number | null;
    poll_interval: number;
    last_polled_at: number | null;
    created_at: number;
    expires_at: number;
  };
  settings: {
    key: string;
    value: string;
    updated_at: number;
  };
  roles: {
    id: string;
    name: string;
    /** The name in lower case: what name filters search. */
    name_key: string;
    description: string;
    is_system: number;
    created_at: number;
    updated_at: number;
  };
  role_permissions: {
    role_id: string;
    api_id: string;
    permission: string;
    created_at: number;
  };
  user_roles: {
    user_id: string;
    role_id: string;
    created_at: number;
  };
  user_permissions: {
    user_id: string;
    api_id: string;
    permission: string;
    created_at: number;
  };
  logs: {
    /** Generated: the order events were written in. */
    seq: Generated<number>;
    /** PostgreSQL only, generated: the writing transaction (`txid_current()`), for export order. */
    xid?: Generated<string>;
    log_id: string;
    /** Milliseconds since the epoch. */
    date: number;
    type: string;
    description: string;
    client_id: string | null;
    client_name: string | null;
    ip: string | null;
    user_agent: string | null;
    user_id: string | null;
    user_name: string | null;
    audience: string | null;
    scope: string | null;
    details: string;
  };
  console_sessions: {
    id_hash: string;
    user_id: string;
    token: string;
    csrf: string;
    created_at: number;
    expires_at: number;
  };
  outbox: {
    id: string;
    kind: string;
    to_address: string;
    subject: string;
    text_body: string;
    html_body: string;
    status: string;
    attempts: number;
    next_attempt_at: number;
    last_error: string | null;
    created_at: number;
    sent_at: number | null;
    purge_after: number | null;
  };
  account_tickets: {
    hash: string;
    kind: string;
    user_id: string;
    email: string;
    result_url: string | null;
    verify_email: number;
    requested: number;
    created_at: number;
    expires_at: number;
    used_at: number | null;
  };
  jobs: {
    id: string;
    type: string;
    status: string;
    connection_id: string;
    external_id: string | null;
    summary: string;
    errors: string;
    created_at: number;
    expires_at: number;
  };
  sesame_migrations: {
    name: string;
    applied_at: number;
  };
}
