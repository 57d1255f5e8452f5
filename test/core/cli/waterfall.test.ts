/**
 * `wirefall waterfall` as users run it (the built CLI, core/bin/wirefall.js, and the drawing the app
 * build puts in app/dist/svg): options, output file handling, exit codes.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../../core/src/cli/main.js';
import { findAll, parseXml } from '../../helpers/xml.js';
import { ROOT, sample } from '../../helpers/env.js';

const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tmp = mkdtempSync(join(tmpdir(), 'wirefall-waterfall-'));

describe('wirefall waterfall', () => {
  it('is built (npm run build builds the CLI and app/dist/svg)', () => {
    expect(existsSync(join(ROOT, 'app', 'dist', 'svg', 'waterfall-svg.js'))).toBe(true);
  });

  it('-o FILE: a well-formed SVG with one lane per connection, written atomically', () => {
    const out = join(tmp, 'no-pool.svg');
    const r = run(['waterfall', sample('no-pool.pcap'), '-o', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.OK);
    const svg = parseXml(readFileSync(out, 'utf8'));
    expect(svg.name).toBe('svg');
    expect(svg.attrs['data-theme']).toBe('light');
    expect(findAll(svg, (e) => 'data-lane-id' in e.attrs)).toHaveLength(10);
    expect(findAll(svg, (e) => 'data-request-id' in e.attrs)).toHaveLength(10);
    // Findings marked (no-pool.pcap has the client-no-pool finding).
    expect(findAll(svg, (e) => 'data-finding-group' in e.attrs).length).toBeGreaterThan(0);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('-o - writes to standard output; --width and --theme dark apply', () => {
    const r = run(['waterfall', sample('h2-loss-hol.pcap'), '-o', '-', '--width', '800', '--theme', 'dark']);
    expect(r.code).toBe(EXIT.OK);
    const svg = parseXml(r.out);
    expect(svg.attrs.width).toBe('800');
    expect(svg.attrs['data-theme']).toBe('dark');
    expect(findAll(svg, (e) => e.attrs['data-testid'] === 'stall').length).toBeGreaterThan(0);
    expect(findAll(svg, (e) => e.attrs['data-testid'] === 'arrival').length).toBeGreaterThan(0);
  });

  it('--keylog decrypts as analyze does', () => {
    const r = run(['waterfall', sample('tls/chromium-h2.pcap'), '--keylog', sample('tls/chromium-h2.keys'), '-o', '-']);
    expect(r.code).toBe(EXIT.OK);
    expect(findAll(parseXml(r.out), (e) => 'data-request-id' in e.attrs).length).toBeGreaterThan(10);
  });

  it('usage errors exit 64; a missing capture 66; a missing drawing names the build command', () => {
    expect(run(['waterfall', sample('no-pool.pcap'), '-o', '-', '--theme', 'blue']).code).toBe(EXIT.USAGE);
    expect(run(['waterfall', sample('no-pool.pcap'), '-o', '-', '--width', '10']).code).toBe(EXIT.USAGE);
    expect(run(['waterfall', '-o', '-']).code).toBe(EXIT.USAGE);
    expect(run(['waterfall', join(tmp, 'nope.pcap'), '-o', '-']).code).toBe(EXIT.UNREADABLE);
    const r = run(['waterfall', sample('no-pool.pcap'), '-o', '-'], { WIREFALL_SVG_MODULE: join(tmp, 'missing.js') });
    expect(r.code).toBe(EXIT.UNREADABLE);
    expect(r.err).toMatch(/npm run build/);
  });

  it('a capture that is not one: exit 65, -o FILE left as it was', () => {
    const bad = join(tmp, 'bad.pcap');
    writeFileSync(bad, 'not a capture');
    const out = join(tmp, 'keep.svg');
    writeFileSync(out, 'old');
    expect(run(['waterfall', bad, '-o', out]).code).toBe(EXIT.NOT_CAPTURE);
    expect(readFileSync(out, 'utf8')).toBe('old');
  });
});
