/** The page after "Create application" or "Rotate secret": the new secret once, the issuer, a first snippet. */
import { CopyButton, mayWrite } from '../layout.js';
import type { Admin } from '../session.js';
import {
  type AppData,
  type AppType,
  appPath,
  CLIENTS_UPDATE,
  type ClientView,
  isPublic,
} from './application.js';

/** A secret shown once: a read-only field to select and copy (no script needed). */
export const Secret = (props: { secret: string; label: string }) => (
  <label>
    {`${props.label} `}
    <input id="client-secret" value={props.secret} readonly class="secret" aria-describedby="secret-note" />
    <CopyButton id="client-secret" label="Copy secret" />
    <small id="secret-note">Copy it now: Sesame keeps only a hash of it and cannot show it again.</small>
  </label>
);

/** The first lines a developer needs for an application of this type, with its real values. */
function snippet(type: AppType, id: string, issuer: string): string {
  if (type === 'non_interactive')
    return `# Allow this application an API below, then (CLIENT_SECRET: the application's secret):
curl -s -u "${id}:$CLIENT_SECRET" -d grant_type=client_credentials \\
  -d audience=YOUR_API_IDENTIFIER ${issuer}/oauth/token`;
  if (type === 'spa')
    return `// npm install oidc-client-ts; add your origin to Allowed web origins below,
// and <origin>/callback to Allowed callback URLs.
import { UserManager } from 'oidc-client-ts';

const userManager = new UserManager({
  authority: '${issuer}',
  client_id: '${id}',
  redirect_uri: window.location.origin + '/callback',
  scope: 'openid profile email',
});
await userManager.signinRedirect(); // sign in (code flow with PKCE)
// on /callback:
const user = await userManager.signinRedirectCallback();`;
  if (type === 'native')
    return `#!/bin/sh
# A device signs in (RFC 8628): the person approves at ${issuer}/activate.
CLIENT_ID=${id}
ISSUER=${issuer}
resp=$(curl -s -d client_id=$CLIENT_ID -d 'scope=openid profile offline_access' $ISSUER/oauth/device/code)
device_code=$(echo "$resp" | node -pe 'JSON.parse(require("fs").readFileSync(0)).device_code')
interval=$(echo "$resp" | node -pe 'JSON.parse(require("fs").readFileSync(0)).interval')
echo "$resp" | node -pe 'const r = JSON.parse(require("fs").readFileSync(0)); \`Open \${r.verification_uri} and enter \${r.user_code}\`'
while :; do
  sleep "$interval"
  tokens=$(curl -s -d client_id=$CLIENT_ID -d device_code=$device_code \\
    -d grant_type=urn:ietf:params:oauth:grant-type:device_code $ISSUER/oauth/token)
  case "$tokens" in
    *authorization_pending*) ;;
    *slow_down*) interval=$((interval + 5)) ;;
    *) echo "$tokens"; break ;;
  esac
done`;
  const insecure = issuer.startsWith('http:')
    ? ', undefined, { execute: [client.allowInsecureRequests] }'
    : '';
  return `// npm install openid-client; add http://localhost:4000/callback to Allowed callback URLs below.
import * as client from 'openid-client';

const config = await client.discovery(new URL('${issuer}'), '${id}', process.env.CLIENT_SECRET${insecure});
// Sign in: keep code_verifier and state in the person's session, and redirect them to url.
const code_verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: 'http://localhost:4000/callback',
  scope: 'openid profile email',
  state,
  code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
  code_challenge_method: 'S256',
});
// On /callback (currentUrl: the URL the browser came back to):
const tokens = await client.authorizationCodeGrant(config, currentUrl, {
  pkceCodeVerifier: code_verifier,
  expectedState: state,
});
console.log(tokens.claims());`;
}

/** Shown after "Create": the issuer, the secret (once), a first snippet with the client id. */
export function QuickStart(props: { admin: Admin; data: AppData; secret: string | undefined }) {
  const { client_id: id, app_type: type } = props.data.client;
  const issuer = props.data.issuer;
  return (
    <article id="quick-start" aria-labelledby="quick-start-title">
      <h2 id="quick-start-title">Quick start</h2>
      <p>
        Issuer <code>{issuer}</code> · discovery <code>{`${issuer}/.well-known/openid-configuration`}</code>
      </p>
      {props.secret ? (
        <Secret secret={props.secret} label="Client secret" />
      ) : (
        <ShownOnce admin={props.admin} client={props.data.client} />
      )}
      <pre>
        <code>{snippet(type, id, issuer)}</code>
      </pre>
    </article>
  );
}

/** The one-time key of an application's new secret (the page after the redirect takes it). */
export const secretKey = (id: string) => `client-secret:${id}`;

/**
 * Where a secret goes once it has been shown (a reload of that page, or a second tab); nothing for
 * an application without one (public) or whose secret cannot be rotated (Sesame's own). The way
 * to a new one only for an admin who may rotate it.
 */
export const ShownOnce = (props: { admin: Admin; client: ClientView }) =>
  isPublic(props.client) || props.client.is_system ? null : (
    <p class="muted" id="secret-shown">
      The secret was shown once, when it was made.
      {mayWrite(props.admin, CLIENTS_UPDATE) ? (
        <>
          {' '}
          Lost it? <a href={`${appPath(props.client.client_id)}/rotate-secret`}>Rotate it</a>.
        </>
      ) : null}
    </p>
  );
