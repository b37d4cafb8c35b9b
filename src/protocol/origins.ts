import type { Application } from '../storage/types.js';

/** The origin of an http(s) URL, or null for any other scheme (a native app's). */
export function httpOrigin(uri: string): string | null {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * The browser origins an application runs in: its web origins and the origins of its callbacks
 * (a page that may receive a code may also call the token endpoint). They may call Sesame
 * cross-origin (CORS) and frame its web_message answers.
 */
export function registeredOrigins(app: Pick<Application, 'callbacks' | 'settings'>): string[] {
  const origins = new Set(app.settings.webOrigins ?? []);
  for (const uri of app.callbacks) {
    const origin = httpOrigin(uri);
    if (origin) origins.add(origin);
  }
  return [...origins];
}
