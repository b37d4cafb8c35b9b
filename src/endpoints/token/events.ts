import type { EventType } from '../../events/types.js';

/** The log event types of each grant: success, failure (Auth0's codes). */
export const TOKEN_EVENTS: Record<string, [EventType, EventType]> = {
  authorization_code: ['seacft', 'feacft'],
  client_credentials: ['seccft', 'feccft'],
  refresh_token: ['sertft', 'fertft'],
  password: ['sepft', 'fepft'],
  'urn:ietf:params:oauth:grant-type:device_code': ['sede', 'fede'],
};
