/**
 * The log event types Sesame records: Auth0's codes and their meaning, and a few of Sesame's
 * own (snake_case, like Auth0's `mgmt_api_read`) where Auth0 has no code.
 */
export const EVENT_TYPES = {
  s: 'Success Login',
  f: 'Failed Login',
  fp: 'Failed Login (Incorrect Password)',
  fu: 'Failed Login (Invalid Email/Username)',
  limit_wc: 'Blocked Account (too many failed logins)',
  limit_mu: 'Blocked IP Address (too many failed logins)',
  ssa: 'Success Silent Auth',
  fsa: 'Failed Silent Auth',
  seacft: 'Success Exchange (Authorization Code for Access Token)',
  feacft: 'Failed Exchange (Authorization Code for Access Token)',
  seccft: 'Success Exchange (Client Credentials for Access Token)',
  feccft: 'Failed Exchange (Client Credentials for Access Token)',
  sertft: 'Success Exchange (Refresh Token for Access Token)',
  fertft: 'Failed Exchange (Refresh Token for Access Token)',
  ferrt: 'Failed Exchange (Rotating Refresh Token reuse detected)',
  sepft: 'Success Exchange (Password for Access Token)',
  fepft: 'Failed Exchange (Password for Access Token)',
  sede: 'Success Exchange (Device Code for Access Token)',
  fede: 'Failed Exchange (Device Code for Access Token)',
  fdeaz: 'Failed Device Authorization Request',
  fdeac: 'Failed Device Activation',
  fdecc: 'User Canceled Device Confirmation',
  slo: 'Success Logout',
  flo: 'Failed Logout',
  sapi: 'Success API Operation',
  fapi: 'Failed API Operation',
  ss: 'Success Signup',
  fs: 'Failed Signup',
  scpr: 'Success Change Password Request',
  fcpr: 'Failed Change Password Request',
  fcp: 'Failed Change Password',
  sv: 'Success Verification Email',
  fv: 'Failed Verification Email',
  svr: 'Success Verification Email Request',
  sdu: 'Successful User Deletion',
  scp: 'Success Change Password',
  sce: 'Success Change Email',
  consent_given: 'Consent given',
  consent_revoked: 'Consent revoked',
  signing_key_rotated: 'Signing key rotated',
  signing_key_revoked: 'Signing key revoked',
} as const;

export type EventType = keyof typeof EVENT_TYPES;

/** The description of a type. */
export const describe = (type: EventType): string => EVENT_TYPES[type];

/** Whether `value` is a type Sesame records. */
export const isEventType = (value: string): value is EventType => Object.hasOwn(EVENT_TYPES, value);
