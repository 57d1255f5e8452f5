/**
 * Electron security settings, per Electron's security checklist, as plain data and pure predicates
 * so unit tests can assert them without Electron. main.ts applies them.
 */
import { CONTENT_SECURITY_POLICY } from '../../core/src/view/csp.js';

export { CONTENT_SECURITY_POLICY };

/** The renderer is served from this privileged custom scheme, never file:// (checklist #18). */
export const APP_SCHEME = 'wirefall';
export const APP_ORIGIN = `${APP_SCHEME}://app`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

export const WEB_PREFERENCES = Object.freeze({
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  safeDialogs: true,
  spellcheck: false,
  enableWebSQL: false,
  v8CacheOptions: 'code',
});

export function browserWindowOptions(preloadPath: string) {
  return {
    width: 1400,
    height: 900,
    minWidth: 800,
    minHeight: 500,
    show: false,
    title: 'wirefall',
    backgroundColor: '#00000000',
    webPreferences: { ...WEB_PREFERENCES, preload: preloadPath },
  };
}

/** Only the app's own pages may be loaded in a window; everything else is blocked. */
export function isAllowedNavigation(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === 'app';
  } catch {
    return false;
  }
}

/** IPC is accepted only from the main frame of our own app page (checklist #17). */
export function isTrustedSender(frameUrl: string | undefined | null, isMainFrame: boolean): boolean {
  return isMainFrame && typeof frameUrl === 'string' && isAllowedNavigation(frameUrl);
}

/** Permission requests (camera, notifications, …) are all refused; the app needs none. */
export function allowPermission(_permission: string): boolean {
  return _permission === 'clipboard-sanitized-write';
}

/** Response headers added to everything the app scheme serves. */
export function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
  };
}

/** Resolve an app-scheme URL to a file under the renderer directory, or null (path traversal). */
export function appUrlToRelativePath(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== 'app') return null;
  let p: string;
  try {
    p = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (p === '/' || p === '') p = '/index.html';
  const parts = p.split('/').filter((s) => s.length > 0);
  if (parts.some((s) => s === '..' || s === '.' || s.includes('\\') || s.includes('\0'))) return null;
  return parts.join('/');
}
