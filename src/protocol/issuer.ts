/**
 * The issuer is used byte for byte as configured (`iss`, discovery's `issuer`, RFC 9207's `iss`):
 * Auth0's form ends in a slash, and SDKs compare strings. Endpoint URLs are built from it
 * without its trailing slashes, so that neither form gives a double slash.
 */
export const issuerBase = (issuer: string): string => issuer.replace(/\/+$/, '');

/** The URL of one of Sesame's endpoints, `path` starting with a slash. */
export const endpointUrl = (issuer: string, path: string): string => `${issuerBase(issuer)}${path}`;
