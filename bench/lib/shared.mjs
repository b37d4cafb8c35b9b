// Names both servers share in the benchmark: API identifiers (resource indicators), the API's
// scope, the peer's client ids, the redirect URI and the one account.

/** API identifiers: the token audience at both servers. */
export const API = {
  es256: 'https://api.bench.test/es256',
  rs256: 'https://api.bench.test/rs256',
  opaque: 'https://api.bench.test/opaque',
};

export const SCOPE = { api: 'read' };

/** The peer's client ids (Sesame generates its own). */
export const CLIENT = { m2m: 'bench-m2m', web: 'bench-web' };

/** Never followed: the benchmark reads the code from the Location header. */
export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export const ACCOUNT = {
  id: 'bench-user',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  password: 'correct horse battery staple',
};
