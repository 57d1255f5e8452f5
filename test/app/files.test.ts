import { describe, expect, it } from 'vitest';
import { addRecent, capturePathsFromArgv, isCaptureFile, parseRecent, RECENT_MAX } from '../../app/main/files.js';

describe('opening captures', () => {
  it('recognises capture files by extension', () => {
    for (const p of ['a.pcap', 'B.PCAPNG', 'c.cap', 'd.pcap.gz', '/x/y/e.pcapng.gz']) expect(isCaptureFile(p), p).toBe(true);
    for (const p of ['a.txt', 'pcap', 'b.gz', 'c.pcap.bak']) expect(isCaptureFile(p), p).toBe(false);
  });

  it('takes capture paths from a development command line, resolved against cwd', () => {
    expect(capturePathsFromArgv(['/usr/bin/electron', 'dist/main/main.js', 'capture.pcap', '--inspect', '/abs/b.pcapng', 'notes.txt'], '/home/u', false)).toEqual([
      '/home/u/capture.pcap',
      '/abs/b.pcapng',
    ]);
  });

  it('takes capture paths from a packaged command line (wirefall-app capture.pcap)', () => {
    expect(capturePathsFromArgv(['/opt/wirefall/wirefall-app', 'capture.pcap'], '/tmp', true)).toEqual(['/tmp/capture.pcap']);
    expect(capturePathsFromArgv(['/opt/wirefall/wirefall-app', '--no-sandbox'], '/tmp', true)).toEqual([]);
  });

  it('keeps Open Recent most-recent-first, without duplicates, bounded', () => {
    let l: string[] = [];
    for (let i = 0; i < 15; i++) l = addRecent(l, `/c/${i}.pcap`);
    l = addRecent(l, '/c/12.pcap');
    expect(l[0]).toBe('/c/12.pcap');
    expect(l.length).toBe(RECENT_MAX);
    expect(new Set(l).size).toBe(l.length);
  });

  it('treats a corrupt recent list as empty', () => {
    expect(parseRecent('{oops')).toEqual([]);
    expect(parseRecent('[1, "a.pcap", null]')).toEqual(['a.pcap']);
  });
});
