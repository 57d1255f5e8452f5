/** The API the UI talks to: the Electron preload's `window.wirefall`, else HTTP (browser mode). */
import type { WirefallApi } from '../../../core/src/view/api.js';
import { createHttpApi } from './http.js';

declare global {
  interface Window {
    wirefall?: WirefallApi;
  }
}

export function getApi(): WirefallApi {
  if (window.wirefall) return window.wirefall;
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  return createHttpApi(token);
}
