import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { Ajv } from 'ajv';
import { CAPTURE_EXTENSIONS } from '../../app/main/files.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const config = load(readFileSync(`${root}/electron-builder.yml`, 'utf8')) as Record<string, any>;
const require = createRequire(`${root}/app/package.json`);

describe('electron-builder.yml', () => {
  it("validates against electron-builder's own JSON schema (app-builder-lib/scheme.json)", () => {
    const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'));
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    const ok = validate(config);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('builds AppImage and deb for Linux, dmg for macOS, nsis for Windows', () => {
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.mac.target).toContain('dmg');
    expect(config.win.target).toContain('nsis');
  });

  it('associates every capture extension the app opens', () => {
    const exts = (config.fileAssociations as { ext: string | string[] }[]).flatMap((a) => (Array.isArray(a.ext) ? a.ext : [a.ext]));
    for (const e of ['pcap', 'pcapng', 'cap', 'pcap.gz']) expect(exts).toContain(e);
    for (const e of exts) expect(CAPTURE_EXTENSIONS as readonly string[]).toContain(e);
  });

  it('packages the bundled app from app/ with its main entry', () => {
    expect(config.directories.app).toBe('app');
    const pkg = JSON.parse(readFileSync(`${root}/app/package.json`, 'utf8'));
    expect(config.extraMetadata.main).toBe(pkg.main);
    expect(pkg.dependencies ?? {}).toEqual({}); // everything is bundled: nothing to ship from node_modules
  });
});
