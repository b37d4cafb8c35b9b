/** One part of a response_type (OAuth 2.0 Multiple Response Types §3). */
export type ResponseTypePart = 'code' | 'id_token' | 'token';

/** The response types Sesame implements (OAuth 2.0 Multiple Response Types §3, OIDC Core §3). */
export const RESPONSE_TYPES = [
  'code',
  'id_token',
  'id_token token',
  'code id_token',
  'code token',
  'code id_token token',
  'token',
];

const ORDER: ResponseTypePart[] = ['code', 'id_token', 'token'];

/** The response_type as a canonical set, or null when it is not one Sesame implements. */
export function responseTypeOf(value: string | undefined): ResponseTypePart[] | null {
  if (value === undefined) return null;
  const parts = value.split(' ');
  const set = ORDER.filter((p) => parts.includes(p));
  if (set.length !== parts.length || !RESPONSE_TYPES.includes(set.join(' '))) return null;
  return set;
}
