import { describe, expect, it } from 'vitest';
import {
  allowPermission,
  appUrlToRelativePath,
  APP_URL,
  browserWindowOptions,
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isTrustedSender,
  securityHeaders,
  WEB_PREFERENCES,
} from '../../app/main/security.js';
import { readFileSync } from 'node:fs';

describe('Electron security settings (Electron security checklist)', () => {
  it('isolate and sandbox the renderer, without Node', () => {
    const wp = browserWindowOptions('/x/preload.cjs').webPreferences;
    expect(wp).toMatchObject({
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
      preload: '/x/preload.cjs',
    });
    expect(Object.isFrozen(WEB_PREFERENCES)).toBe(true);
  });

  it('have a strict Content-Security-Policy: only self scripts, no eval, no inline script, no remote', () => {
    const csp = Object.fromEntries(CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(csp['default-src']).toEqual(["'none'"]);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['connect-src']).toEqual(["'self'"]);
    expect(csp['object-src']).toEqual(["'none'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(eval|inline)|https?:|\*/);
    expect(securityHeaders()['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    // The page carries the same policy in a meta tag (frame-ancestors only works as a header).
    const html = readFileSync(new URL('../../app/renderer/index.html', import.meta.url), 'utf8');
    const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!;
    expect(meta).toBe(CONTENT_SECURITY_POLICY.replace(/; frame-ancestors 'none'/, ''));
  });

  it('allow navigation only to the app itself', () => {
    expect(isAllowedNavigation(APP_URL)).toBe(true);
    expect(isAllowedNavigation('wirefall://app/assets/index.js')).toBe(true);
    for (const u of ['https://example.com/', 'file:///etc/passwd', 'wirefall://evil/index.html', 'javascript:alert(1)', 'not a url', 'http://127.0.0.1:8080/'])
      expect(isAllowedNavigation(u), u).toBe(false);
  });

  it('accept IPC only from the main frame of the app page', () => {
    expect(isTrustedSender(APP_URL, true)).toBe(true);
    expect(isTrustedSender(APP_URL, false)).toBe(false);
    expect(isTrustedSender('https://example.com/', true)).toBe(false);
    expect(isTrustedSender(undefined, true)).toBe(false);
    expect(isTrustedSender(null, true)).toBe(false);
  });

  it('refuse every permission request', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'fullscreen', 'clipboard-read']) expect(allowPermission(p), p).toBe(false);
  });

  it('never serve files outside the renderer directory', () => {
    expect(appUrlToRelativePath('wirefall://app/')).toBe('index.html');
    expect(appUrlToRelativePath('wirefall://app/assets/index-1.js')).toBe('assets/index-1.js');
    // URL parsing already resolves dot segments, so this stays inside the renderer directory.
    expect(appUrlToRelativePath('wirefall://app/%2e%2e/%2e%2e/etc/passwd')).toBe('etc/passwd');
    expect(appUrlToRelativePath('wirefall://app/a/..%2f..%2fsecret')).toBeNull();
    expect(appUrlToRelativePath('wirefall://app/a%5c..%5csecret')).toBeNull();
    expect(appUrlToRelativePath('wirefall://other/index.html')).toBeNull();
    expect(appUrlToRelativePath('file:///etc/passwd')).toBeNull();
  });
});
