/** RFC 8628 §3.4: the device authorization grant type. */
export const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
